"""Finance: the rule, the routes, the setting, the fact and the CLI of the generated domain."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hub import domains
from hub.kernel import settings
from hub.kernel.errors import ValidationError
from hub.finance.rules import clean_title
from tests.support.common import ROOT


def test_title_rule():
    assert clean_title("  two   words ", max_length=20) == "two words"
    with pytest.raises(ValidationError) as e:
        clean_title("   ", max_length=20)
    assert e.value.code == "title_required"
    with pytest.raises(ValidationError) as e:
        clean_title("x" * 21, max_length=20)
    assert e.value.code == "title_too_long"


def test_create_and_list_over_http_records_a_fact(app, client, auth, hubctx):
    r = client.post("/api/v1/finance/records", json={"title": "first"}, headers=auth("associate"))
    assert r.status_code == 201, r.get_json()
    rec = r.get_json()
    page = client.get("/api/v1/finance/records", headers=auth("associate")).get_json()
    assert [x["id"] for x in page["items"]] == [rec["id"]] and page["total"] == 1
    kinds = [row[0] for row in hubctx.db.read().execute("SELECT kind FROM outbox ORDER BY seq")]
    assert "finance.recorded" in kinds and "finance.recorded" in domains.live_kinds()
    assert client.post("/api/v1/finance/records", json={"title": ""}, headers=auth("associate")).status_code == 400
    assert app.test_client().get("/api/v1/finance/records").status_code == 401     # no session cookie
    assert "finance" in client.get("/screens.json").get_json()["screens"]
    for path in ("/screens/finance.js", "/i18n/finance.en.json", "/i18n/finance.zh-CN.json"):
        assert client.get(path).status_code == 200, path


def test_settings_are_declared_validated_and_obeyed(client, auth, hubctx):
    with hubctx.db.write() as conn:
        with pytest.raises(ValidationError):
            settings.put(conn, "finance.enabled", "yes")
        settings.put(conn, "finance.enabled", False)
    r = client.post("/api/v1/finance/records", json={"title": "refused"}, headers=auth("associate"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "finance_disabled"
    doc = client.get("/api/v1/settings/schema", headers=auth("associate")).get_json()
    assert doc["finance.enabled"]["schema"] == {"type": "boolean"}


def test_cli(tmp_path):
    out = subprocess.run([sys.executable, "-m", "hub.cli", "finance", "list", "--data-dir", str(tmp_path / "h")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert json.loads(subprocess.run([sys.executable, "-m", "hub.cli", "domains", "--json"], capture_output=True,
                                     text=True, cwd=ROOT, timeout=60).stdout)[-1]["name"] == "finance"

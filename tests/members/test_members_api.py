"""Members over HTTP: enrol (201, then 200 for the same phone), identify, codes, burn and adjust, the errors a till
shows, roles, the screen and its strings; the CLI's till view."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from hub.members import workflow
from tests.support.common import ROOT

CONSENT = {"purpose": "loyalty", "granted": True}


def test_enrol_identify_burn_adjust_over_http(app, client, auth, hubctx):
    h = auth("associate")
    r = client.post("/api/v1/members", json={"phone": "13812345678", "name": "Li", "consent": CONSENT}, headers=h)
    assert r.status_code == 201 and r.get_json()["created"] is True
    m = r.get_json()
    again = client.post("/api/v1/members", json={"phone": "+8613812345678", "consent": CONSENT}, headers=h)
    assert again.status_code == 200 and again.get_json()["id"] == m["id"] and again.get_json()["created"] is False
    bad = client.post("/api/v1/members", json={"phone": "12345", "consent": CONSENT}, headers=h)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_phone"
    assert client.post("/api/v1/members", json={"phone": "13812345678"}, headers=h).status_code == 400  # no consent
    assert app.test_client().post("/api/v1/members", json={"phone": "1", "consent": CONSENT}).status_code == 401

    code = client.post(f"/api/v1/members/{m['id']}/code", headers=h).get_json()["code"]
    assert client.post("/api/v1/members/identify", json={"code": code}, headers=h).get_json()["id"] == m["id"]
    used = client.post("/api/v1/members/identify", json={"code": code}, headers=h)
    assert used.status_code == 409 and used.get_json()["error"]["code"] == "member_code_used"
    assert client.post("/api/v1/members/identify", json={"phone": "13900001111"}, headers=h).status_code == 404
    assert client.post("/api/v1/members/identify", json={"phone": "1", "code": "SHM-1"}, headers=h).status_code == 400
    resolved = client.get("/api/v1/scan/resolve", query_string={"code": "SHM-" + m["card_no"]}, headers=h).get_json()
    assert resolved["kind"] == "member" and resolved["member"]["id"] == m["id"]

    with hubctx.db.write() as conn:
        workflow.earn_for_sale(conn, m["id"], {"id": "s1", "lines": [{"sku": "X", "net_minor": 50_000}]})
    short = client.post(f"/api/v1/members/{m['id']}/points/burn", json={"points": 600, "ref": "c1"}, headers=h)
    assert short.status_code == 409 and short.get_json()["error"]["code"] == "insufficient_points"
    assert (
        client.post(
            f"/api/v1/members/{m['id']}/points/adjust", json={"points": 100, "reason": "goodwill"}, headers=h
        ).status_code
        == 403
    )  # no supervisor's badge
    adj = client.post(
        f"/api/v1/members/{m['id']}/points/adjust",
        json={"points": 100, "reason": "goodwill", "approval_badge": "BADGE-supervisor"},
        headers=h,
    )
    assert adj.status_code == 200 and adj.get_json()["balance"] == 600
    page = client.get(f"/api/v1/members/{m['id']}/points", headers=h).get_json()
    assert page["total"] == 2 and {e["kind"] for e in page["items"]} == {"earn", "adjust"}
    view = client.get(f"/api/v1/members/{m['id']}", headers=h).get_json()
    assert view["phone_masked"] == "138****5678" and "phone" not in view and "name" not in view
    assert client.get(f"/api/v1/members/{m['id']}/personal", headers=h).status_code == 403
    full = client.get(f"/api/v1/members/{m['id']}/personal", headers=auth("manager")).get_json()
    assert full["phone"] == "+8613812345678" and full["name"] == "Li"
    assert client.get(f"/api/v1/members/{m['id']}/tiers", headers=h).get_json()["items"][0]["reason"] == "enrol"
    assert "members" in client.get("/screens.json").get_json()["screens"]
    for path in ("/screens/members.js", "/i18n/members.en.json", "/i18n/members.zh-CN.json"):
        assert client.get(path).status_code == 200, path


def test_the_strings_exist_in_both_languages():
    en = json.loads((ROOT / "handheld_ui/i18n/members.en.json").read_text())
    zh = json.loads((ROOT / "handheld_ui/i18n/members.zh-CN.json").read_text())
    assert set(en) == set(zh)
    screen = (ROOT / "handheld_ui/screens/members.js").read_text()

    for key in set(re.findall(r"t\('(members\.[a-z_]+)'", screen)):
        assert key in en, key


def test_cli_show_by_phone(tmp_path, data_dir, enrol):
    enrol("13812345678")
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "members", "show", "138 1234 5678", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["phone_masked"] == "138****5678"
    bad = subprocess.run(
        [sys.executable, "-m", "hub.cli", "members", "show", "12", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert bad.returncode == 2 and "phone" in bad.stderr

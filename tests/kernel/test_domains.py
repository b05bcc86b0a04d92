"""The domain declarations: one list, no duplicates, every consumer reads it; typed settings; generated docs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hub import domains
from hub.domain import Domain, Fact, Setting
from hub.factsdoc import markdown
from hub.kernel import settings
from hub.kernel.errors import ValidationError
from tests.support.common import ROOT


def test_docs_facts_md_is_generated_from_the_declarations():
    assert (ROOT / "docs" / "facts.md").read_text(encoding="utf-8") == markdown(), (
        "run: python -m hub.factsdoc docs/facts.md"
    )


def test_every_domain_declares_into_one_list_and_names_are_unique():
    names = [d.name for d in domains.DOMAINS]
    assert names[0] == "kernel" and len(names) == len(set(names))
    for d in domains.DOMAINS:
        assert d.package.startswith("hub.") and d.summary
        if d.migrations:
            assert d.migrations_dir.is_dir(), d.name


def test_the_list_refuses_a_fact_or_setting_claimed_twice():
    a = Domain("kernel", "a", "hub.kernel", facts=(Fact("x.y", {"type": "object"}, "x"),))
    b = Domain("auth", "b", "hub.auth", facts=(Fact("x.y", {"type": "object"}, "x"),))
    with pytest.raises(RuntimeError, match="fact .x.y. is declared by both kernel and auth"):
        domains._check((a, b))
    c = Domain("kernel", "c", "hub.kernel", settings=(Setting("k", 1, {"type": "integer"}, "k"),))
    d = Domain("auth", "d", "hub.auth", settings=(Setting("k", 2, {"type": "integer"}, "k"),))
    with pytest.raises(RuntimeError, match="setting 'k'"):
        domains._check((c, d))


def test_live_kinds_are_declared_facts_and_private_kinds_stay_off_the_floor():
    live = domains.live_kinds()
    assert live <= set(domains.facts())
    assert {"movement", "order.status", "count.scan", "alert.raised"} <= live
    assert not live & {"audit", "user.upsert", "unknown_code.report", "override.set", "sync.downlink_applied"}


def test_declared_handlers_and_hooks_resolve_to_functions():
    table = domains.handlers()
    assert {"scan", "weight", "shelf", "state", "tags"} <= set(table)
    assert all(callable(h) for hs in table.values() for h in hs)
    stock_in = [h.__module__ for h in domains.stock_in_hooks()]
    # the store alerts look at stock before back-orders reserve it (domain order); others may follow
    assert stock_in.index("hub.bus.stockalerts") < stock_in.index("hub.orders.backorders")
    assert "hub.bus.stockalerts" in [h.__module__ for h in domains.stock_out_hooks()]
    assert all(callable(h) for h in (*domains.stock_in_hooks(), *domains.stock_out_hooks()))


def test_every_setting_is_declared_with_a_valid_schema_and_a_default_it_accepts():
    declared = settings.declared()
    assert set(domains.settings()) <= set(declared)
    for key, s in declared.items():
        settings.validate(key, s.default)  # the default itself passes its schema
        assert s.title, key


def test_a_write_of_an_undeclared_setting_or_a_bad_value_is_refused(hubctx):
    with hubctx.db.write() as conn:
        with pytest.raises(ValidationError) as e:
            settings.put(conn, "promotions", {})
        assert e.value.code == "unknown_setting"
        with pytest.raises(ValidationError) as e:
            settings.put(conn, "orders.partial_policy", "sometimes")
        assert e.value.code == "invalid_setting" and "orders.partial_policy" in e.value.message
        with pytest.raises(ValidationError) as e:
            settings.put(conn, "device_event_retention_days", 3)
        assert e.value.code == "invalid_setting"
        with pytest.raises(ValidationError):
            settings.put(conn, "timezone", "Mars/Olympus_Mons")
        settings.put(conn, "orders.partial_policy", "backorder")
    assert settings.get(hubctx.db.read(), "orders.partial_policy") == "backorder"


def test_settings_schema_route(app, client, auth):
    r = client.get("/api/v1/settings/schema", headers=auth("associate"))
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["timezone"]["default"] == "Asia/Shanghai" and doc["timezone"]["schema"]["type"] == "string"
    assert doc["orders.partial_policy"]["schema"]["enum"] == ["split", "backorder"]
    assert set(doc) == set(settings.declared())
    assert app.test_client().get("/api/v1/settings/schema").status_code == 401  # no session cookie


def test_screens_json_lists_the_declared_screens_in_domain_order(client):
    r = client.get("/screens.json")
    assert r.status_code == 200 and r.get_json() == {"screens": domains.screens()}
    assert "lookup" in r.get_json()["screens"] and "devices" in r.get_json()["screens"]


def test_the_cli_lists_every_domain_command_without_importing_flask():
    code = (
        "import sys; from hub.cli import main; "
        "names = main.list_commands(None); "
        "assert 'flask' not in sys.modules, 'the CLI imported Flask'; print(' '.join(names))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    names = set(out.stdout.split())
    assert set(domains.commands()) <= names and {"agent", "sim", "central", "sync", "init", "serve"} <= names


def test_storehub_domains_json():
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "domains", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    described = json.loads(out.stdout)
    assert [d["name"] for d in described] == [d.name for d in domains.DOMAINS]
    orders = next(d for d in described if d["name"] == "orders")
    assert "order.created" in orders["facts"] and orders["stock_in"] == ["hub.orders.backorders:on_stock_in"]

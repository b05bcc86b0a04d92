"""Central -> hub: authored catalog, prices, promotions, users and settings reach the
hub atomically with version cursors; the override policy; crashes mid-apply."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from hub.inventory import catalog
from hub.kernel import pii, settings
from hub.kernel.errors import Forbidden
from hub.synclink import downlink as hub_downlink
from hub.synclink import state
from sync.central import downlink, stores
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from sync.worker import SyncWorker, WorkerConfig
from tests.support.common import free_port
from tests.support.sync import CentralProcess, ThreadedCentral, central_db_url, make_hub, storehub, wait_until

STORE = "store-dl"


@pytest.fixture(params=["postgres", "sqlite"])
def env(request, tmp_path):
    with central_db_url(request.param, tmp_path, "syncd") as url:
        engine = make_engine(url)
        app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
        server = ThreadedCentral(app)
        secret = stores.add_store(engine, STORE)
        stores.add_store(engine, "other-store")
        cfg, db, ctx = make_hub(tmp_path / "hub", STORE)
        worker = SyncWorker(db, WorkerConfig(central_url=server.url, store_id=STORE, secret=secret))
        yield {
            "engine": engine,
            "db": db,
            "ctx": ctx,
            "worker": worker,
            "url": url,
            "hub_dir": tmp_path / "hub",
            "secret": secret,
        }
        server.close()
        db.close()
        engine.dispose()


def pull_all(worker):
    n = 0
    while worker.pull_once():
        n += 1
    return n


ITEM = {
    "sku": "TEA-100",
    "name_en": "Green tea",
    "name_zh": "绿茶",
    "unit": "each",
    "price_minor": 1500,
    "cost_minor": 900,
    "gtins": ["4006381333931"],
    "reorder_point": 12,
}


def test_changes_flow_down_and_version_is_reported(env):
    e, db = env["engine"], env["db"]
    it = downlink.author(e, "item", ITEM)
    downlink.author(e, "setting", {"value": "Shanghai Road 1"}, key="store_name")
    downlink.author(e, "user", {"username": "zhou", "role": "associate", "pin": "4321", "display_name": "周"})
    downlink.author(
        e,
        "promotion",
        {
            "name": {"en": "Tea week", "zh-CN": "茶叶周"},
            "type": "percent_off",
            "scope": {"skus": ["TEA-100"]},
            "params": {"percent": 10},
            "valid": {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
        },
        key="tea-week",
    )
    downlink.author(e, "setting", {"value": "Elsewhere"}, key="store_name", scope="other-store")
    head = downlink.head(e)
    assert pull_all(env["worker"]) >= 1
    conn = db.read()
    tea = catalog.get_item(conn, it["payload"]["id"])  # same id in every store
    assert (tea["sku"], tea["price_minor"], tea["gtins"]) == ("TEA-100", 1500, ["04006381333931"])
    assert settings.get(conn, "store_name") == "Shanghai Road 1"  # the other store's value did not arrive
    assert hub_downlink.promotions(conn)["tea-week"]["params"] == {"percent": 10}
    assert "promotions" not in settings.get_all(conn)  # no longer a blob in the settings table
    from hub.auth import users

    row = conn.execute("SELECT * FROM users WHERE username = 'zhou'").fetchone()
    assert row["role"] == "associate" and users.verify_secret("4321", row["pin_hash"])
    assert hub_downlink.version(conn) == head
    assert stores.get_store(e, STORE)["downlink_version"] == head
    assert stores.get_store(e, "other-store")["downlink_version"] == 0
    # the whole page is one fact in the outbox and one audit entry
    facts = [json.loads(r[0]) for r in conn.execute("SELECT payload FROM outbox WHERE kind = 'sync.downlink_applied'")]
    assert facts == [{"from": 0, "version": head, "applied": 4, "rejected": 0}]
    # nothing new: nothing applied again
    assert env["worker"].pull_once() == 0
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'item.create' AND target = ?", (tea["id"],)
        ).fetchone()[0]
        == 1
    )
    # a price change for the same sku keeps the id
    downlink.author(e, "item", {**ITEM, "price_minor": 1400})
    pull_all(env["worker"])
    assert catalog.get_item(db.read(), tea["id"])["price_minor"] == 1400


def test_override_policy(env):
    e, db, w = env["engine"], env["db"], env["worker"]
    it = downlink.author(e, "item", ITEM)
    pull_all(w)
    iid = it["payload"]["id"]
    with db.write() as conn:  # the store manager marks the tea down locally (allowed by the default policy)
        hub_downlink.set_override(conn, "item", iid, "price_minor", 1200, actor="manager")
        hub_downlink.set_override(conn, "setting", "store_name", "value", "Our shop", actor="manager")
        with pytest.raises(Forbidden):
            hub_downlink.set_override(conn, "item", iid, "cost_minor", 1, actor="manager")
        with pytest.raises(Forbidden):
            hub_downlink.set_override(conn, "setting", "currency", "value", "USD", actor="manager")
    downlink.author(e, "item", {**ITEM, "price_minor": 1600, "name_en": "Green tea 100g"})
    downlink.author(e, "setting", {"value": "HQ name"}, key="store_name")
    pull_all(w)
    conn = db.read()
    tea = catalog.get_item(conn, iid)
    assert (tea["price_minor"], tea["name_en"]) == (1200, "Green tea 100g")  # local price kept, central name taken
    assert settings.get(conn, "store_name") == "Our shop"
    ov = {(o["entity"], o["field"]): o for o in hub_downlink.list_overrides(conn)}
    assert ov[("item", "price_minor")]["central_value"] == 1600
    # head office withdraws the permission for prices: the central value returns
    downlink.author(e, "policy", {"item_fields": ["reorder_point"], "settings": ["store_name"]})
    pull_all(w)
    conn = db.read()
    assert catalog.get_item(conn, iid)["price_minor"] == 1600
    assert settings.get(conn, "store_name") == "Our shop"
    assert [o["field"] for o in hub_downlink.list_overrides(conn)] == ["value"]
    kinds = [r[0] for r in conn.execute("SELECT kind FROM outbox WHERE kind LIKE 'override.%' ORDER BY seq")]
    assert kinds == ["override.set", "override.set", "override.removed"]
    # removing the remaining override restores the central value
    with db.write() as c:
        hub_downlink.remove_override(c, "setting", "store_name", "value", actor="manager")
    assert settings.get(db.read(), "store_name") == "HQ name"


def test_a_change_the_hub_cannot_take_is_rejected_not_blocking(env):
    e, db, w = env["engine"], env["db"], env["worker"]
    # the central reuses the GTIN of the hub's local MILK for another sku
    downlink.author(e, "item", {**ITEM, "sku": "FAKE", "gtins": ["5901234123457"]})
    downlink.author(e, "item", ITEM)
    pull_all(w)
    conn = db.read()
    assert catalog.get_item_by_sku(conn, "FAKE") is None and catalog.get_item_by_sku(conn, "TEA-100")
    rej = [json.loads(r[0]) for r in conn.execute("SELECT payload FROM outbox WHERE kind = 'sync.downlink_rejected'")]
    assert len(rej) == 1 and rej[0]["key"] == "FAKE" and "GTIN" in rej[0]["error"]
    assert hub_downlink.version(conn) == downlink.head(e)


def test_central_validates_what_it_publishes(env):
    from hub.kernel.errors import ValidationError

    e = env["engine"]
    for kind, payload, key in (
        ("item", {**ITEM, "price_minor": -1}, ""),
        ("setting", {"value": "x"}, "store_id"),
        ("user", {"username": "boss", "role": "manager", "pin": "1234"}, ""),
        (
            "promotion",
            {
                "name": {"en": "A", "zh-CN": "A"},
                "type": "percent_off",
                "params": {"percent": 120},
                "valid": {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
            },
            "p1",
        ),
        ("policy", {"item_fields": ["sku"]}, ""),
    ):
        with pytest.raises(ValidationError):
            downlink.author(e, kind, payload, key=key)
    assert downlink.head(e) == 0


def test_hub_api_overrides_and_status(client, auth, sample):
    r = client.get("/api/v1/sync/status", headers=auth("supervisor"))
    assert r.status_code == 200 and r.get_json()["pending"] > 0 and r.get_json()["uplink_cursor"] == 0
    url = f"/api/v1/sync/overrides/item/{sample['milk']['id']}/price_minor"
    assert client.put(url, json={"value": 999}, headers=auth("supervisor")).status_code == 403
    r = client.put(url, json={"value": 999}, headers=auth("manager"))
    assert r.status_code == 200, r.get_json()
    assert client.get(f"/api/v1/items/{sample['milk']['id']}", headers=auth()).get_json()["price_minor"] == 999
    r = client.put(
        f"/api/v1/sync/overrides/item/{sample['milk']['id']}/sku", json={"value": "X"}, headers=auth("manager")
    )
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "override_not_allowed"
    assert client.delete(url, headers=auth("manager")).status_code == 200
    assert client.get(f"/api/v1/items/{sample['milk']['id']}", headers=auth()).get_json()["price_minor"] == 1250
    assert client.delete(url, headers=auth("manager")).status_code == 404


@pytest.mark.postgres
@pytest.mark.parametrize("env", ["postgres"], indirect=True)
def test_worker_killed_mid_downlink_and_link_cut(env, tmp_path):
    e = env["engine"]
    for i in range(1500):
        downlink.author(
            e, "item", {"sku": f"DL-{i:04d}", "name_en": f"Item {i}", "unit": "each", "price_minor": 100 + i}
        )
    head = downlink.head(e)
    central = CentralProcess(env["url"], tmp_path / "c2", free_port()).start()
    state.write_credentials(env["hub_dir"], central_url=central.url, store_id=STORE, secret=env["secret"])
    db = env["db"]
    argv = storehub("sync", "run", "--data-dir", str(env["hub_dir"]), "--idle-poll", "0.2", "--max-backoff", "0.5")
    try:
        w = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: hub_downlink.version(db.read()) > 0, 60, 0.01, "first page")
        w.kill()  # SIGKILL between or during pages
        w.wait(10)
        v = hub_downlink.version(db.read())
        assert 0 < v < head
        n = db.read().execute("SELECT COUNT(*) FROM items WHERE sku LIKE 'DL-%'").fetchone()[0]
        assert n == len([1 for i in range(1500) if i + 1 <= v])  # pages are all-or-nothing
        central.kill()  # the link is cut...
        for i in range(1500, 1600):  # ...while head office keeps publishing
            downlink.author(e, "item", {"sku": f"DL-{i:04d}", "name_en": f"Item {i}", "unit": "each", "price_minor": 5})
        w = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        assert hub_downlink.version(db.read()) == v
        central.start()
        head = downlink.head(e)
        wait_until(lambda: hub_downlink.version(db.read()) == head, 60, 0.1, "downlink catch-up")
        wait_until(lambda: stores.get_store(e, STORE)["downlink_version"] == head, 30, 0.1, "version reported")
        conn = db.read()
        assert conn.execute("SELECT COUNT(*) FROM items WHERE sku LIKE 'DL-%'").fetchone()[0] == 1600
        created = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT target) FROM audit_log WHERE action = 'item.create' "
            "AND actor = 'system:sync'"
        ).fetchone()
        assert tuple(created) == (1600, 1600)  # each exactly once
        w.kill()
        w.wait(10)
    finally:
        central.kill()


def test_a_staff_name_authored_at_head_office_is_encrypted_at_rest_at_the_central(env):
    """Issue 20: the central's user changes keep the name only encrypted (its key ring, keys outside the database);
    the store reading the page gets the name and keeps it encrypted under its own key; rotation re-encrypts."""
    from sqlalchemy import select

    from hub.auth import users
    from sync.central import personal
    from sync.central import schema as t

    e, db = env["engine"], env["db"]
    name = "Bartholomew Okonkwo-Lindqvist"
    downlink.author(e, "user", {"username": "bart", "role": "associate", "pin": "4321", "display_name": name})

    def stored() -> dict:
        with e.connect() as c:
            return dict(
                c.execute(select(t.downlink_changes.c.payload).where(t.downlink_changes.c.kind == "user")).scalar_one()
            )

    raw = stored()
    assert "display_name" not in raw and name not in json.dumps(raw, ensure_ascii=False)
    assert raw["display_name_ct"].startswith("pii1:")
    page = downlink.changes_for(e, STORE, 0)
    assert [c["payload"]["display_name"] for c in page["changes"] if c["kind"] == "user"] == [name]

    pull_all(env["worker"])
    conn = db.read()
    uid = conn.execute("SELECT id FROM users WHERE username = 'bart'").fetchone()[0]
    assert users.get(conn, uid)["display_name"] == name
    assert conn.execute("SELECT display_name FROM users WHERE id = ?", (uid,)).fetchone()[0] != name

    old = pii.key_id(raw["display_name_ct"])
    out = personal.rotate(e, actor="test")
    assert old in out["retired"]
    assert pii.key_id(stored()["display_name_ct"]) == out["new_key"]
    assert [
        c["payload"]["display_name"] for c in downlink.changes_for(e, STORE, 0)["changes"] if c["kind"] == "user"
    ] == [name]

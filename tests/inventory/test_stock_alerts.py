"""Safety stock: a movement that takes an item to its reorder point or below its safety stock raises a hub alert
(alert list, live fact, synced); stock coming back clears it. Items without thresholds are not watched."""

from __future__ import annotations

import json

from hub.bus import alerts
from hub.inventory import catalog, ledger
from hub.inventory.ledger import MovementRequest
from tests.support.common import key


def _post(db, kind, item, loc, qty):
    with db.write() as conn:
        return ledger.post(conn, MovementRequest(kind, item, loc, qty, "test", "test", key()))


def _open(conn, item_id):
    return {a["kind"]: a for a in alerts.open_for(conn, f"item:{item_id}")}


def test_falling_below_the_thresholds_raises_and_recovery_clears(hubctx, sample):
    db, bin1 = hubctx.db, sample["bin1"]["id"]
    with db.write() as conn:
        tea = catalog.create_item(
            conn,
            {
                "sku": "TEA-1",
                "name_en": "Tea",
                "name_zh": "茶",
                "unit": "each",
                "price_minor": 1500,
                "safety_stock": 5,
                "reorder_point": 10,
                "gtins": ["4006381333931"],
            },
            actor="test",
        )
    _post(db, "receive", tea["id"], bin1, 20)
    assert _open(db.read(), tea["id"]) == {}
    _post(db, "sale", tea["id"], bin1, 10)  # 10 left: at the reorder point
    got = _open(db.read(), tea["id"])
    assert set(got) == {"below_reorder_point"} and got["below_reorder_point"]["severity"] == "warning"
    assert got["below_reorder_point"]["details"]["on_hand"] == 10
    _post(db, "writeoff", tea["id"], bin1, 6)  # 4 left: below safety stock too
    got = _open(db.read(), tea["id"])
    assert set(got) == {"below_reorder_point", "below_safety_stock"}
    assert got["below_safety_stock"]["severity"] == "critical"
    _post(db, "sale", tea["id"], bin1, 1)  # still below: no second alert of a kind
    assert len(alerts.open_for(db.read(), f"item:{tea['id']}")) == 2
    _post(db, "receive", tea["id"], bin1, 30)  # 33: both clear
    assert _open(db.read(), tea["id"]) == {}
    facts = [
        (r[0], json.loads(r[1]))
        for r in db.read().execute("SELECT kind, payload FROM outbox WHERE kind LIKE 'alert.%' ORDER BY seq")
    ]
    assert [(k, p["kind"]) for k, p in facts] == [
        ("alert.raised", "below_reorder_point"),
        ("alert.raised", "below_safety_stock"),
        ("alert.cleared", "below_safety_stock"),
        ("alert.cleared", "below_reorder_point"),
    ]


def test_items_without_thresholds_raise_nothing(hubctx, sample):
    db, bin1, milk = hubctx.db, sample["bin1"]["id"], sample["milk"]["id"]
    _post(db, "receive", milk, bin1, 3)
    _post(db, "sale", milk, bin1, 3)
    assert alerts.open_for(db.read(), f"item:{milk}") == []


def test_the_alert_is_listed_for_the_floor(client, auth, hubctx, sample):
    db, bin1 = hubctx.db, sample["bin2"]["id"]
    with db.write() as conn:
        catalog.update_item(conn, sample["rice"]["id"], {"safety_stock": 2}, actor="test")
    _post(db, "receive", sample["rice"]["id"], bin1, 2)
    _post(db, "sale", sample["rice"]["id"], bin1, 1)
    r = client.get("/api/v1/alerts", headers=auth("associate"))
    assert r.status_code == 200, r.get_json()
    kinds = {(a["kind"], a["subject"]) for a in r.get_json()["items"]}
    assert ("below_safety_stock", f"item:{sample['rice']['id']}") in kinds

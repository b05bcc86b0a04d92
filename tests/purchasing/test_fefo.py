"""FEFO (issue 16): an order's line of a lot-controlled item is served from the location holding the lot that
expires first (still good), the pick walk keeps the store's walk order and shows the lot and its expiry, the
pick through the real route takes that lot in the lot book, and a sale takes a location's good lots
first-expiring first (an expired lot there is left for the write-off, not sold)."""

from __future__ import annotations

from datetime import date, timedelta

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.inventory.ledger import new_key as key
from hub.purchasing import days, lots
from tests.support.orders import order_body


def _receive(conn, item_id, location_id, qty, lot, expiry_day, k):
    lots.intend(conn, k, lot, expiry_day)
    ledger.post(conn, MovementRequest("receive", item_id, location_id, qty, "test", "t", k))


def _lots_at(conn, item_id, location_id):
    return {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT lot, qty FROM stock_lots WHERE item_id = ? AND location_id = ? AND qty != 0",
            (item_id, location_id),
        )
    }


def test_order_picks_go_to_the_first_expiring_lot_and_take_it(client, auth, hubctx, sample):
    milk, bin1, bin2 = sample["milk"], sample["bin1"], sample["bin2"]
    with hubctx.db.write() as conn:
        conn.execute("DELETE FROM stock WHERE item_id = ?", (milk["id"],))  # start from nothing of the sample's
        lots.set_lot_controlled(conn, milk["id"], True, actor="test")
        today = days.today(conn)
        late, early = (today + timedelta(days=30)).isoformat(), (today + timedelta(days=5)).isoformat()
        _receive(conn, milk["id"], bin1["id"], 10, "LATE", late, "r1")  # first in the walk, expires later
        _receive(conn, milk["id"], bin2["id"], 2, "EARLY", early, "r2")  # later in the walk, expires first
    r = client.post("/api/v1/orders", json=order_body("F-1", [{"sku": "MILK-1L", "qty": 3}]), headers=auth())
    assert r.status_code == 201, r.get_json()
    r = client.post("/api/v1/pick-lists", json={"order_ids": [r.get_json()["id"]]}, headers=auth("supervisor"))
    assert r.status_code == 201, r.get_json()
    pl = client.get(f"/api/v1/pick-lists/{r.get_json()['id']}", headers=auth()).get_json()
    # the first-expiring lot's 2 come from A01-02, the third from A01-01; the walk stays in walk order
    walk = [(t["location_code"], t["qty"], t["lot"], t["lot_expiry"]) for t in pl["tasks"]]
    assert walk == [("A01-01", 1, "LATE", late), ("A01-02", 2, "EARLY", early)]
    for t in pl["tasks"]:
        body = {"client_key": key(), "location_code": t["location_label"], "item_code": "5901234123457"}
        body["qty"] = t["qty"]
        r = client.post(f"/api/v1/pick-tasks/{t['id']}/pick", json=body, headers=auth())
        assert r.status_code == 200, r.get_json()
    with hubctx.db.read() as conn:
        assert _lots_at(conn, milk["id"], bin2["id"]) == {}
        assert _lots_at(conn, milk["id"], bin1["id"]) == {"LATE": 9}
        picked = conn.execute(
            "SELECT lm.lot, -lm.qty_delta FROM lot_movements lm JOIN movements mv ON mv.id = lm.movement_id"
            " WHERE mv.kind = 'pick' ORDER BY lm.lot"
        ).fetchall()
        assert [tuple(p) for p in picked] == [("EARLY", 2), ("LATE", 1)]
        assert lots.mismatches(conn) == []


def test_fefo_location_order_puts_expired_only_locations_last(hubctx, sample):
    milk, bin1, bin2 = sample["milk"], sample["bin1"], sample["bin2"]
    today = date(2026, 6, 1)
    with hubctx.db.write() as conn:
        rows = [{"location_id": bin1["id"]}, {"location_id": bin2["id"]}]
        assert lots.fefo_locations(conn, milk["id"], rows, today=today) == rows  # not lot-controlled: walk order
        conn.execute("DELETE FROM stock WHERE item_id = ?", (milk["id"],))
        lots.set_lot_controlled(conn, milk["id"], True, actor="test")
        _receive(conn, milk["id"], bin1["id"], 4, "GONE", "2026-05-20", "g1")  # expired: last
        _receive(conn, milk["id"], bin2["id"], 4, "GOOD", "2026-07-01", "g2")
        assert lots.fefo_locations(conn, milk["id"], rows, today=today) == rows[::-1]
        # a location asked for by name stays first
        assert lots.fefo_locations(conn, milk["id"], rows, today=today, keep_first=bin1["id"]) == rows


def test_a_sale_takes_the_good_lots_first_expiring_first(hubctx, sample):
    milk, bin1 = sample["milk"], sample["bin1"]
    with hubctx.db.write() as conn:
        conn.execute("DELETE FROM stock WHERE item_id = ?", (milk["id"],))
        lots.set_lot_controlled(conn, milk["id"], True, actor="test")
        today = days.today(conn)
        _receive(conn, milk["id"], bin1["id"], 3, "OLD", (today - timedelta(days=1)).isoformat(), "s1")
        _receive(conn, milk["id"], bin1["id"], 3, "LATER", (today + timedelta(days=20)).isoformat(), "s2")
        _receive(conn, milk["id"], bin1["id"], 3, "SOON", (today + timedelta(days=3)).isoformat(), "s3")
        _receive(conn, milk["id"], bin1["id"], 2, "NODATE", None, "s4")
        assert lots.next_lot(conn, milk["id"], bin1["id"])["lot"] == "SOON"
        ledger.post(conn, MovementRequest("sale", milk["id"], bin1["id"], 4, "sale", "t", "sale-1"))
        assert _lots_at(conn, milk["id"], bin1["id"]) == {"OLD": 3, "LATER": 2, "NODATE": 2}
        ledger.post(conn, MovementRequest("sale", milk["id"], bin1["id"], 4, "sale", "t", "sale-2"))
        assert _lots_at(conn, milk["id"], bin1["id"]) == {"OLD": 3}  # then the undated, never the expired first
        assert lots.mismatches(conn) == []

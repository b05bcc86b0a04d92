"""Expired stock is not sold at the till (issue 16): a lot-controlled item whose only stock is past its expiry,
or a GS1 label whose AI 17 expiry is past, is refused at the scan with ``expired_not_for_sale`` — through the
till's real route — the cart is left as it was, and the refusal is kept in the audit log."""

from __future__ import annotations

import json
from datetime import date, timedelta

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.purchasing import days, expiry, lots

MILK_GTIN = "5901234123457"


def _open_till(client, auth) -> str:
    r = client.post(
        "/api/v1/checkout/tills/T1/shifts",
        json={"float_counted": {"10000": 1}},
        headers=auth("associate"),
    )
    assert r.status_code == 201, r.get_json()
    r = client.post("/api/v1/checkout/tills/T1/carts", json={}, headers=auth("associate"))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _receive(conn, item_id: str, location_id: str, qty: int, lot: str, expiry_day: str | None, key: str) -> None:
    lots.intend(conn, key, lot, expiry_day)
    ledger.post(conn, MovementRequest("receive", item_id, location_id, qty, "test", "t", key))


def _scan(client, auth, cart_id: str, code: str):
    return client.post(f"/api/v1/checkout/carts/{cart_id}/scan", json={"code": code}, headers=auth("associate"))


def _refusals(conn) -> list[dict]:
    return [
        json.loads(r[0])
        for r in conn.execute("SELECT details FROM audit_log WHERE action = 'checkout.expired_refused' ORDER BY ts")
    ]


def test_only_expired_lots_are_refused_at_the_till_and_recorded(client, auth, hubctx, sample):
    milk = sample["milk"]
    with hubctx.db.write() as conn:
        lots.set_lot_controlled(conn, milk["id"], True, actor="test")
        today = days.today(conn)
        _receive(conn, milk["id"], sample["bin1"]["id"], 5, "OLD", (today - timedelta(days=2)).isoformat(), "rcv-old")
    cart_id = _open_till(client, auth)
    r = _scan(client, auth, cart_id, MILK_GTIN)
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["error"]
    assert err["code"] == "expired_not_for_sale"
    assert err["details"]["source"] == "lots" and err["details"]["expiry"] == (today - timedelta(days=2)).isoformat()
    cart = client.get(f"/api/v1/checkout/carts/{cart_id}", headers=auth("associate")).get_json()
    assert cart["lines"] == []  # nothing was added
    # picked from the search instead of scanned: refused the same way
    r = client.post(f"/api/v1/checkout/carts/{cart_id}/lines", json={"item_id": milk["id"]}, headers=auth("associate"))
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "expired_not_for_sale"
    with hubctx.db.read() as conn:
        kept = _refusals(conn)
    assert [k["code"] for k in kept] == [MILK_GTIN, milk["id"]] and all(k["cart_id"] == cart_id for k in kept)
    # a good lot arrives: the scan sells (the sale then takes the lots first-expiring first)
    with hubctx.db.write() as conn:
        _receive(conn, milk["id"], sample["bin1"]["id"], 3, "NEW", (today + timedelta(days=9)).isoformat(), "rcv-new")
    r = _scan(client, auth, cart_id, MILK_GTIN)
    assert r.status_code == 200, r.get_json()
    assert [ln["qty"] for ln in r.get_json()["lines"]] == [1]


def test_a_gs1_label_past_its_expiry_is_refused_even_without_lots(client, auth, hubctx, sample):
    with hubctx.db.read() as conn:
        today = days.today(conn)
    past = (today - timedelta(days=1)).strftime("%y%m%d")
    future = (today + timedelta(days=30)).strftime("%y%m%d")
    cart_id = _open_till(client, auth)
    r = _scan(client, auth, cart_id, f"]C1010{MILK_GTIN}17{past}")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "expired_not_for_sale"
    assert r.get_json()["error"]["details"]["source"] == "label"
    r = _scan(client, auth, cart_id, f"]C1010{MILK_GTIN}17{future}")
    assert r.status_code == 200, r.get_json()
    r = _scan(client, auth, cart_id, f"]C1010{MILK_GTIN}15{past}")  # best before (AI 15) is not a use-by date
    assert r.status_code == 200, r.get_json()
    with hubctx.db.read() as conn:
        assert len(_refusals(conn)) == 1


def test_the_check_itself(hubctx, sample):
    milk, today = sample["milk"], date(2026, 5, 10)
    with hubctx.db.write() as conn:
        assert expiry.sale_refusal(conn, milk, today=today) is None  # not lot-controlled
        lots.set_lot_controlled(conn, milk["id"], True, actor="test")
        assert expiry.sale_refusal(conn, milk, today=today) is None  # no stock at all: nothing to say
        _receive(conn, milk["id"], sample["bin1"]["id"], 2, "A", "2026-05-09", "k1")
        assert expiry.sale_refusal(conn, milk, today=today).code == "expired_not_for_sale"
        _receive(conn, milk["id"], sample["bin2"]["id"], 2, "B", "2026-05-10", "k2")  # good through today
        assert expiry.sale_refusal(conn, milk, today=today) is None
        assert expiry.sale_refusal(conn, milk, today=date(2026, 5, 11)) is not None
        _receive(conn, milk["id"], sample["bin2"]["id"], 1, "C", None, "k3")  # a lot without a date may be good
        assert expiry.sale_refusal(conn, milk, today=date(2026, 5, 11)) is None
        refused = expiry.sale_refusal(conn, milk, label_expiry="2026-05-09", today=today)
        assert refused is not None and refused.details["source"] == "label"

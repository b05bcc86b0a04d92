"""Points as a tender (issue 15): the cart's member pays part or all of the sale with points at the store's points
value, limited to the balance this hub knows; the burn and the tender are one transaction; taking the tender back
or returning the sale gives the points back; the receipt, journal and Z report show them."""

from __future__ import annotations

import json
import uuid

import pytest

from hub.checkout import receipts
from hub.kernel import settings
from hub.members import identity
from hub.members import points as ledger
from hub.orders.printing import Store
from hub.synclink import state as sync_state


@pytest.fixture
def member(till, hubctx):
    """A member with 1,000 points, the hub online (the central acknowledged just now)."""
    with hubctx.db.write() as conn:
        m, _ = identity.enrol(conn, phone="13812345678", consent={"purpose": "loyalty", "granted": True}, actor="test")
        ledger.append(conn, m["id"], "adjust", 1000, reason="opening", actor="test")
        sync_state.put(conn, "last_ack_at", "2999-01-01T00:00:00Z")
    return m


def attach(till, cart_id, member_id):
    """The member shows the dynamic code; the till attaches it to the cart (the members domain's routes)."""
    h = till.auth("associate")
    code = till.client.post(f"/api/v1/members/{member_id}/code", headers=h).get_json()["code"]
    r = till.client.post(f"/api/v1/members/carts/{cart_id}", json={"code": code}, headers=h)
    assert r.status_code == 200, r.get_json()


def pts(till, cart_id, n, status=200, key=None):
    return till.call(
        "POST", f"/carts/{cart_id}/points", {"points": n, "idempotency_key": key or uuid.uuid4().hex}, status=status
    )


def cola_cart(till, n=1):
    c = till.cart()
    for _ in range(n):
        c = till.scan(c["id"], "6901234567892")
    return c


def test_points_pay_part_then_cash_and_the_sale_shows_them(till, member, hubctx):
    c = cola_cart(till, 2)  # ¥7.00
    attach(till, c["id"], member["id"])
    out = pts(till, c["id"], 300)  # 1 fen a point: ¥3.00
    t = out["tender"]
    assert t["method"] == "points" and t["state"] == "paid" and t["points"] == 300 and t["amount_minor"] == 300
    assert out["cart"]["due_minor"] == 400 and out["sale"] is None
    conn = hubctx.db.read()
    assert ledger.balance(conn, member["id"]) == 700
    burn = conn.execute("SELECT points, ref FROM points_entries WHERE kind = 'burn'").fetchone()
    assert tuple(burn) == (-300, t["id"])
    sale = till.pay(c["id"], "cash", received_minor=400)["sale"]
    body = json.loads(
        hubctx.db.read()
        .execute("SELECT body FROM checkout_journal WHERE kind = 'sale' ORDER BY seq DESC")
        .fetchone()[0]
    )
    assert {"method": "points", "points": 300, "amount_minor": 300}.items() <= body["tenders"][0].items()
    doc = json.loads(
        hubctx.db.read()
        .execute(
            "SELECT payload FROM device_commands WHERE payload LIKE ? ORDER BY rowid DESC",
            (f"%{sale['receipt_code']}%",),
        )
        .fetchone()[0]
    )["document"]
    assert any("300" in line and ("Points" in line or "积分" in line) for line in doc["footer"])
    x = till.call("GET", "/tills/T1/x-report", role="supervisor")  # the Z report seals these same totals
    assert x["totals"]["tenders"]["points"] == 300 and x["totals"]["points_burnt"] == 300
    slip = receipts.report_document("x", x, Store.from_settings(hubctx.db.read()), "CNY")
    assert {"name": receipts.word(Store.from_settings(hubctx.db.read()), "points_burnt"), "qty": 300}.items() <= next(
        ln for ln in slip["lines"] if ln.get("qty") == 300
    ).items()


def test_points_cannot_exceed_the_balance_or_what_is_due(till, member, hubctx):
    big = cola_cart(till, 4)  # ¥14.00
    attach(till, big["id"], member["id"])
    err = pts(till, big["id"], 1001, status=409)  # 1 fen a point: ¥10.01, within due but beyond the balance
    assert err["error"]["code"] == "insufficient_points" and err["error"]["details"]["balance"] == 1000
    with hubctx.db.write() as conn:
        settings.put(conn, "members.burn_minor_per_point", 10)  # 10 points = ¥1
    err = pts(till, big["id"], 141, status=409)  # ¥14.10 > ¥14.00 due
    assert err["error"]["code"] == "points_exceed_due" and err["error"]["details"]["max_points"] == 140
    out = pts(till, big["id"], 140)  # ¥14.00 = 140 points × 10 fen
    assert out["sale"] is not None and ledger.balance(hubctx.db.read(), member["id"]) == 860
    none = cola_cart(till, 1)
    assert pts(till, none["id"], 100, status=422)["error"]["code"] == "points_no_member"
    rows = hubctx.db.read().execute("SELECT COUNT(*) FROM checkout_tenders WHERE method = 'points'").fetchone()[0]
    assert rows == 1  # refused burns left no tender behind


def test_insufficient_balance_leaves_no_tender(till, member, hubctx):
    c = cola_cart(till, 4)  # ¥14.00
    attach(till, c["id"], member["id"])
    with hubctx.db.write() as conn:
        ledger.append(conn, member["id"], "adjust", -900, reason="test", actor="test")
    err = pts(till, c["id"], 200, status=409)
    assert err["error"]["code"] == "insufficient_points" and err["error"]["details"]["balance"] == 100
    assert hubctx.db.read().execute("SELECT COUNT(*) FROM checkout_tenders").fetchone()[0] == 0


def test_double_tap_burns_once_and_cancel_gives_the_points_back(till, member, hubctx):
    c = cola_cart(till, 2)
    attach(till, c["id"], member["id"])
    first = pts(till, c["id"], 200, key="points-tap-0001")
    again = pts(till, c["id"], 200, key="points-tap-0001")
    assert again["tender"]["id"] == first["tender"]["id"]
    assert ledger.balance(hubctx.db.read(), member["id"]) == 800
    gone = till.call("POST", f"/tenders/{first['tender']['id']}/cancel", {"reason": "changed mind"})
    assert gone["tender"]["state"] == "reversed" and gone["cart"]["due_minor"] == 700
    assert ledger.balance(hubctx.db.read(), member["id"]) == 1000
    assert till.pay(c["id"], "cash", received_minor=700)["sale"] is not None


def test_return_gives_points_back_to_the_member(till, member, hubctx):
    c = cola_cart(till, 2)
    attach(till, c["id"], member["id"])
    sale = pts(till, c["id"], 700)["sale"]
    assert sale is not None
    before = ledger.balance(hubctx.db.read(), member["id"])
    r = till.call(
        "POST",
        "/returns",
        {
            "till_id": "T1",
            "receipt_code": sale["receipt_code"],
            "lines": [{"line_no": 1, "qty": 1}],
            "idempotency_key": uuid.uuid4().hex,
        },
        status=201,
    )
    [t] = r["tenders"]
    assert t["method"] == "points" and t["amount_minor"] == 350 and t["points"] == 350
    conn = hubctx.db.read()
    back = conn.execute("SELECT points, ref FROM points_entries WHERE kind = 'reverse' AND points > 0").fetchone()
    assert tuple(back) == (350, t["id"])
    earn_back = conn.execute(
        "SELECT COALESCE(SUM(points), 0) FROM points_entries WHERE kind = 'reverse' AND points < 0"
    ).fetchone()[0]
    assert ledger.balance(conn, member["id"]) == before + 350 + earn_back

"""Checkout over HTTP: a sale by scan through commit (ledger, journal, outbox, print request), bad input."""

from __future__ import annotations

import json

from hub.checkout import journal
from hub.inventory import ledger
from tests.checkout.conftest import PRINTER


def _outbox(hubctx, kind):
    return [
        json.loads(r[0])
        for r in hubctx.db.read().execute("SELECT payload FROM outbox WHERE kind = ? ORDER BY seq", (kind,))
    ]


def test_cash_sale_by_scan_commits_everything_in_one_go(till, hubctx, weigh):
    c = till.cart()
    c = till.scan(c["id"], "5901234123457")  # milk by GTIN
    c = till.scan(c["id"], "5901234123457", qty=2)  # quantity key: the same line grows
    assert [(ln["sku"], ln["qty"]) for ln in c["lines"]] == [("MILK-1L", 3)]
    weigh(532)
    c = till.scan(c["id"], "4087")  # PLU + the scale's stable weight
    tomato = c["lines"][-1]
    assert (tomato["sku"], tomato["qty"], tomato["weighed"], tomato["gross_minor"]) == ("TOMATO", 532, True, 425)
    assert c["total_minor"] == 3 * 1250 + 425
    out = till.pay(c["id"], received_minor=5000)
    sale = out["sale"]
    assert sale["receipt_no"] == 1 and sale["receipt_code"].startswith("SHR-T1-")
    assert sale["change_minor"] == 5000 - 4175 and out["cart"]["status"] == "completed"
    conn = hubctx.db.read()
    milk = till.shop["milk"]["id"]
    assert ledger.on_hand_total(conn, milk)["on_hand"] == -3
    facts = _outbox(hubctx, "sale.completed")
    assert facts[-1]["total_minor"] == 4175 and [t["method"] for t in facts[-1]["tenders"]] == ["cash"]
    job = conn.execute("SELECT payload FROM device_commands WHERE device_id = ?", (PRINTER,)).fetchone()
    doc = json.loads(job[0])["document"]
    assert doc["open_drawer"] is True and doc["barcode"]["value"] == sale["receipt_code"]
    assert journal.verify(conn)["ok"]


def test_receipt_numbers_are_gapless_per_till_and_day(till):
    codes = []
    for _ in range(3):
        c = till.cart()
        till.scan(c["id"], "96385074")
        codes.append(till.pay(c["id"])["sale"]["receipt_no"])
    assert codes == [1, 2, 3]


def test_split_tender_card_then_cash_with_rounding(till, hubctx, client, auth):
    with hubctx.db.write() as conn:
        from hub.kernel import settings

        settings.put(conn, "checkout.cash_rounding", {"step_minor": 10, "mode": "half_up"})
    c = till.cart()
    till.scan(c["id"], "96385074")  # rice 49.90
    c = till.scan(c["id"], "6901234567892")  # cola 3.50 → 53.40
    assert c["total_minor"] == 5340
    card = till.pay(c["id"], "card", amount_minor=3000)  # standalone terminal: requesting until confirmed
    assert card["tender"]["state"] == "requesting" and card["sale"] is None
    # a change to the cart while the terminal runs is refused
    till.call("POST", f"/carts/{c['id']}/scan", {"code": "96385074"}, status=409)
    ok = till.call(
        "POST", f"/tenders/{card['tender']['id']}/confirm", {"approval_code": "A1B2C3", "card_last4": "4242"}
    )
    assert ok["tender"]["state"] == "paid" and ok["cart"]["due_minor"] == 2340
    cash = till.pay(c["id"], received_minor=2500)
    assert cash["sale"]["tendered_minor"] == 5340 and cash["sale"]["change_minor"] == 160


def test_rounding_half_up_to_jiao(till, hubctx):
    from hub.kernel import settings

    with hubctx.db.write() as conn:
        settings.put(conn, "checkout.cash_rounding", {"step_minor": 10, "mode": "half_up"})
        settings.put(conn, "checkout.tax_rates", {"default": "0.13", "categories": {}})
    c = till.cart()
    c = till.scan(c["id"], "6901234567892", qty=3)  # 10.50 → no rounding
    till.call("POST", f"/carts/{c['id']}/lines/{c['lines'][0]['id']}/discount", {"amount_minor": 3, "reason": "dent"})
    out = till.pay(c["id"], received_minor=2000)
    assert out["sale"]["total_minor"] == 1047 and out["sale"]["rounding_minor"] == 3
    assert out["sale"]["tendered_minor"] == 1050 and out["sale"]["change_minor"] == 950


def test_double_tap_on_pay_pays_once(till, hubctx):
    c = till.cart()
    till.scan(c["id"], "96385074")
    first = till.pay(c["id"], key="tap-tap-0001", received_minor=10000)
    again = till.pay(c["id"], key="tap-tap-0001", received_minor=10000)
    assert first["sale"]["id"] == again["sale"]["id"]
    n = hubctx.db.read().execute("SELECT COUNT(*) FROM checkout_tenders").fetchone()[0]
    assert n == 1


def test_bad_input(till, client, auth):
    c = till.cart()
    err = till.scan(c["id"], "4006381333931", status=404)  # a valid GTIN the store does not sell
    assert err["error"]["code"] == "unknown_code"
    err = till.scan(c["id"], "not a code", status=404)
    assert err["error"]["code"] == "unknown_code"
    err = till.pay(c["id"], status=422)
    assert err["error"]["code"] == "cart_empty"
    till.scan(c["id"], "96385074")
    err = till.call("POST", f"/carts/{c['id']}/complete", status=409)
    assert err["error"]["code"] == "tender_short" and err["error"]["details"]["due_minor"] == 4990
    err = till.pay(c["id"], "card", amount_minor=6000, status=409)
    assert err["error"]["code"] == "tender_exceeds_due"
    err = till.scan(c["id"], "4087", status=422)  # PLU, but nothing on the scale
    assert err["error"]["code"] == "scale_not_stable"
    assert (
        client.application.test_client()
        .post(f"/api/v1/checkout/carts/{c['id']}/scan", json={"code": "96385074"})
        .status_code
        == 401
    )


def test_expired_session_is_refused(till, client, auth, hubctx):
    c = till.cart()
    with hubctx.db.write() as conn:
        conn.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00Z'")
    r = client.post(f"/api/v1/checkout/carts/{c['id']}/scan", json={"code": "96385074"}, headers=auth("associate"))
    assert r.status_code == 401


def test_price_override_and_discount_need_a_badge_above_the_limit(till):
    c = till.cart()
    c = till.scan(c["id"], "96385074")
    line = c["lines"][0]["id"]
    err = till.call(
        "POST", f"/carts/{c['id']}/lines/{line}/price", {"price_minor": 1000, "reason": "damaged"}, status=403
    )
    assert err["error"]["code"] == "approval_required"
    err = till.call(
        "POST",
        f"/carts/{c['id']}/lines/{line}/price",
        {"price_minor": 1000, "reason": "damaged", "approval_badge": "BADGE-associate"},
        status=403,
    )
    assert err["error"]["code"] == "approval_refused"
    c = till.call(
        "POST",
        f"/carts/{c['id']}/lines/{line}/price",
        {"price_minor": 1000, "reason": "damaged", "approval_badge": "SHB-BADGE-supervisor"},
    )
    assert c["total_minor"] == 1000
    c = till.call("POST", f"/carts/{c['id']}/lines/{line}/discount", {"percent": 10, "reason": "loyal"})
    assert c["lines"][0]["manual_discount_minor"] == 100 and c["total_minor"] == 900


def test_hold_resume_void_and_line_changes(till):
    a = till.cart()
    till.scan(a["id"], "96385074")
    till.call("POST", f"/carts/{a['id']}/hold", {"note": "forgot wallet"})
    b = till.cart()
    assert b["id"] != a["id"]
    b = till.scan(b["id"], "5901234123457")
    b = till.call("PATCH", f"/carts/{b['id']}/lines/{b['lines'][0]['id']}", {"qty": 4})
    assert b["total_minor"] == 5000
    state = till.call("GET", "/tills/T1")
    assert [h["id"] for h in state["held"]] == [a["id"]]
    resumed = till.call("POST", "/tills/T1/resume", {"code": a["code"]})
    assert resumed["id"] == a["id"] and resumed["status"] == "open"
    state = till.call("GET", "/tills/T1")
    assert {h["id"] for h in state["held"]} == {b["id"]}
    till.call("POST", f"/carts/{a['id']}/lines/{resumed['lines'][0]['id']}/void")
    v = till.call("POST", f"/carts/{a['id']}/void", {"reason": "customer left"})
    assert v["status"] == "voided"


def test_item_search_by_pinyin_initials(till):
    found = till.call("GET", "/items?q=xhs")["items"]
    assert found[0]["sku"] == "TOMATO"
    assert till.call("GET", "/items?q=milk")["items"][0]["sku"] == "MILK-1L"
    assert till.call("GET", "/items?q=niunai")["items"][0]["sku"] == "MILK-1L"
    assert till.call("GET", "/items?q=RICE-5KG")["items"][0]["sku"] == "RICE-5KG"


def test_no_sale_needs_a_supervisor_and_kicks_the_drawer(till, hubctx):
    err = till.call(
        "POST", "/tills/T1/no-sale", {"reason": "change for float", "idempotency_key": "nosale-0001"}, status=403
    )
    assert err["error"]["code"] == "approval_required"
    ok = till.call(
        "POST",
        "/tills/T1/no-sale",
        {"reason": "change for float", "idempotency_key": "nosale-0001", "approval_badge": "BADGE-supervisor"},
    )
    doc = json.loads(
        hubctx.db.read()
        .execute("SELECT payload FROM device_commands WHERE request_id = ?", (ok["print_job"]["request_id"],))
        .fetchone()[0]
    )["document"]
    assert doc["open_drawer"] is True
    assert (
        hubctx.db.read().execute("SELECT COUNT(*) FROM audit_log WHERE action = 'checkout.no_sale'").fetchone()[0] == 1
    )

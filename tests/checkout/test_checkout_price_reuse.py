"""A cart is priced once per change and the price is reused (hub/checkout/pricing.py): every input that changes
the price — settings, the catalog, the delivered promotions, a promotion's start, end or hours — is seen by the
very next look at the cart, and the sale records the price the till showed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.checkout import journal, pricing
from hub.inventory import catalog
from hub.kernel import settings
from hub.protocol.timeutil import iso, utcnow
from hub.synclink import downlink

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _deliver(db, *promos):
    with db.write() as conn:
        v = downlink.version(conn)
    changes = [{"version": v + 1 + k, "kind": "promotion", "key": p["id"], "payload": p} for k, p in enumerate(promos)]
    got = downlink.apply_page(db, changes, v + len(promos))
    assert not got["rejected"], got["rejected"]


def _promo(pid, sku, percent, start, end):
    return {
        "id": pid,
        "name": {"en": pid, "zh-CN": pid},
        "type": "percent_off",
        "params": {"percent": percent},
        "scope": {"skus": [sku]},
        "valid": {"from": iso(start), "to": iso(end)},
    }


def test_a_settings_change_is_seen_by_the_next_scan_and_look(till, hubctx):
    c = till.cart()
    c = till.scan(c["id"], "6901234567892")  # cola ¥3.50, drinks
    assert (c["lines"][0]["tax_rate"], c["lines"][0]["tax_minor"]) == ("0.13", 40)
    with hubctx.db.write() as conn:
        settings.put(conn, "checkout.tax_rates", {"default": "0.13", "categories": {"drinks": "0.09"}})
    look = till.call("GET", f"/carts/{c['id']}")
    assert (look["lines"][0]["tax_rate"], look["lines"][0]["tax_minor"]) == ("0.09", 29)
    with hubctx.db.write() as conn:
        settings.put(conn, "checkout.tax_rates", {"default": "0.06", "categories": {}})
    c = till.scan(c["id"], "6901234567892")
    assert (c["lines"][0]["tax_rate"], c["lines"][0]["qty"], c["lines"][0]["tax_minor"]) == ("0.06", 2, 40)


def test_a_catalog_price_and_a_delivered_promotion_are_seen_by_the_next_look(till, hubctx):
    c = till.scan(till.cart()["id"], "6901234567892")
    assert c["total_minor"] == 350
    with hubctx.db.write() as conn:
        catalog.update_item(conn, till.shop["cola"]["id"], {"price_minor": 400}, actor="test")
    assert till.call("GET", f"/carts/{c['id']}")["total_minor"] == 400
    now = utcnow()
    _deliver(hubctx.db, _promo("cola10", "COLA-330", 10, now - timedelta(days=1), now + timedelta(days=1)))
    look = till.call("GET", f"/carts/{c['id']}")
    assert (look["total_minor"], [d["promotion"] for d in look["lines"][0]["discounts"]]) == (360, ["cola10"])


def test_a_promotion_that_ends_is_not_reused_after_its_end(till, hubctx):
    now = utcnow()
    end = now + timedelta(seconds=3)
    _deliver(hubctx.db, _promo("flash", "COLA-330", 20, now - timedelta(hours=1), end))
    c = till.scan(till.cart()["id"], "6901234567892")
    assert c["total_minor"] == 280  # ¥3.50 − 20 %
    assert till.call("GET", f"/carts/{c['id']}")["total_minor"] == 280  # the kept price, still true
    time.sleep(max(0.0, (end - utcnow()).total_seconds()) + 0.2)
    assert till.call("GET", f"/carts/{c['id']}")["total_minor"] == 350  # the offer ended in between


def test_the_sale_records_the_price_the_till_showed(till, hubctx):
    now = utcnow()
    _deliver(hubctx.db, _promo("milk5", "MILK-1L", 5, now - timedelta(days=1), now + timedelta(days=1)))
    c = till.cart()
    for code in ("5901234123457", "6901234567892", "5901234123457"):
        c = till.scan(c["id"], code)
    sale = till.pay(c["id"], received_minor=10**5)["sale"]
    body = journal.entry(hubctx.db.read(), sale["journal_seq"])["body"]
    shown = [
        (ln["sku"], ln["qty"], ln["gross_minor"], ln["discounts"], ln["net_minor"], ln["tax_minor"])
        for ln in c["lines"]
    ]
    assert [
        (ln["sku"], ln["qty"], ln["gross_minor"], ln["discounts"], ln["net_minor"], ln["tax_minor"])
        for ln in body["lines"]
    ] == shown
    assert body["total_minor"] == c["total_minor"] == 2 * 1250 - 125 + 350


def test_a_caller_cannot_change_the_kept_price(till, hubctx):
    c = till.scan(till.cart()["id"], "6901234567892")
    conn = hubctx.db.read()
    from hub.checkout import cart

    first = pricing.price_lines(conn, cart.live_lines(conn, c["id"]))
    first["lines"][0]["net_minor"] = 1
    first["tax"].clear()
    again = pricing.price_lines(conn, cart.live_lines(conn, c["id"]))
    assert again["lines"][0]["net_minor"] == 350 and again["tax"] == [{"rate": "0.13", "tax_minor": 40}]


def test_valid_until_stops_at_every_change_of_what_is_in_force():
    start = datetime(2026, 6, 3, 1, 0, tzinfo=UTC)
    cal = pricing.Calendar(edges=(start, start + timedelta(hours=5)), minutes=(0, 9 * 60 + 7, 9 * 60 + 30, 21 * 60))
    at = datetime(2026, 6, 3, 1, 20, 7, tzinfo=UTC)  # 09:20:07 in Shanghai
    assert cal.valid_until(at, SHANGHAI) == datetime(2026, 6, 3, 1, 30, tzinfo=UTC)  # hours open 09:30
    assert cal.valid_until(at - timedelta(minutes=30), SHANGHAI) == start  # a promotion starts
    late = datetime(2026, 6, 3, 13, 5, tzinfo=UTC)  # 21:05 local: next turn is midnight
    assert cal.valid_until(late, SHANGHAI) == datetime(2026, 6, 3, 13, 15, tzinfo=UTC)  # the quarter hour
    assert cal.valid_until(datetime(2026, 6, 3, 1, 1, tzinfo=UTC), SHANGHAI) == datetime(
        2026, 6, 3, 1, 7, tzinfo=UTC
    )  # an hours window closing at 09:07

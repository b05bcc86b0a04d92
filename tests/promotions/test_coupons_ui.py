"""Real Chromium at the till (1280×800): the cashier types a coupon code into the cart — a mistyped one is refused
with the error's text, the issued one takes its promotion off the total — and pays cash; the code is redeemed
with the sale (this hub has no central: the offline rules accept a code marked usable offline)."""

from __future__ import annotations

import pytest

from hub.inventory import catalog
from hub.promotions import coupons
from hub.synclink import downlink
from tests.support.promotions import promo
from tests.support.ui import login, scan

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TILL = {"viewport": {"width": 1280, "height": 800}, "has_touch": True, "locale": "en-US"}


@pytest.fixture
def counter(ui_browser, hub_server):
    context = ui_browser.new_context(base_url=hub_server.url, **TILL)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
    yield page
    context.close()


def test_till_applies_a_coupon(counter, hubctx):
    with hubctx.db.write() as conn:
        catalog.create_item(
            conn,
            {"sku": "COLA-330", "name_en": "Cola", "unit": "each", "price_minor": 1000, "gtins": ["6901234567892"]},
            actor="test",
        )
    code = coupons.new_code()
    v = downlink.version(hubctx.db.read()) + 1
    p = promo("P-CPN", "percent_off", {"percent": 20}, coupon="SPRING", phase="item")
    changes = [
        {"version": v, "kind": "promotion", "key": "P-CPN", "payload": p},
        {
            "version": v + 1,
            "kind": "coupon",
            "key": "b1",
            "payload": {"batch_id": "b1", "promotion_id": "P-CPN", "offline": True, "codes": [code]},
        },
    ]
    assert downlink.apply_page(hubctx.db, changes, v + 1)["rejected"] == []

    page = counter
    login(page)
    page.goto("/#/checkout")
    page.get_by_test_id("checkout-till").fill("T1")
    page.get_by_test_id("checkout-float").fill("200")
    page.get_by_test_id("checkout-printer").fill("printer-t1")
    page.get_by_test_id("checkout-scale").fill("scale-t1")
    page.get_by_test_id("checkout-open-shift").click()
    page.get_by_test_id("checkout-empty").wait_for()
    scan(page, "6901234567892")
    page.get_by_test_id("checkout-line").first.wait_for()
    page.wait_for_function("document.querySelector('[data-testid=checkout-total]').textContent.endsWith('10.00')")

    typo = code[:5] + ("A" if code[5] != "A" else "B") + code[6:]
    page.get_by_test_id("checkout-coupon").fill(typo)
    page.get_by_test_id("checkout-coupon-apply").click()
    page.get_by_text("mistyped").first.wait_for()
    assert page.get_by_test_id("checkout-total").inner_text().endswith("10.00")

    page.get_by_test_id("checkout-coupon").fill(coupons.printed(code).lower())
    page.get_by_test_id("checkout-coupon-apply").click()
    page.wait_for_function("document.querySelector('[data-testid=checkout-total]').textContent.endsWith('8.00')")
    assert coupons.printed(code) in page.get_by_test_id("checkout-coupon-line").inner_text()

    page.get_by_test_id("cash-received").fill("10")
    page.get_by_test_id("checkout-pay-cash").click()
    page.get_by_test_id("checkout-done").wait_for()
    row = (
        hubctx.db.read()
        .execute("SELECT redeemed_sale_id, redeemed_online FROM coupon_codes WHERE code = ?", (code,))
        .fetchone()
    )
    assert row[0] and row[1] == 0
    assert page.errors == []

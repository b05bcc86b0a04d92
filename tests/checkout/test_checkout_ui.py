"""Real-Chromium journeys: the till at 1280×800 (scan, weigh, discount, split tender card + cash, print, the
customer display following live, return by receipt code) and line busting on a phone-size handheld."""

from __future__ import annotations

import json

import pytest

from hub.checkout import tills
from tests.checkout.conftest import PRINTER, SCALE
from tests.support.ui import login, scan, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TILL = {"viewport": {"width": 1280, "height": 800}, "has_touch": True, "locale": "en-US"}


@pytest.fixture
def counter(ui_browser, hub_server, shop):
    context = ui_browser.new_context(base_url=hub_server.url, **TILL)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            page.errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield page
    context.close()


def _print_docs(db):
    return [
        json.loads(r[0])["document"]
        for r in db.read().execute("SELECT payload FROM device_commands WHERE action = 'print' ORDER BY created_at")
    ]


def test_till_journey(counter, hub_server, weigh):
    page = counter
    login(page)
    page.goto("/#/checkout")
    page.get_by_test_id("checkout-till").fill("T1")
    page.get_by_test_id("checkout-float").fill("200")
    page.get_by_test_id("checkout-printer").fill(PRINTER)
    page.get_by_test_id("checkout-scale").fill(SCALE)
    page.get_by_test_id("checkout-open-shift").click()
    page.get_by_test_id("checkout-empty").wait_for()

    display = page.context.new_page()  # the customer display on the till's second screen
    display.goto("/display/T1")
    display.wait_for_selector("html[data-ready='1']")

    page.bring_to_front()
    scan(page, "5901234123457")
    page.get_by_test_id("checkout-line").first.wait_for()
    weigh(532)
    scan(page, "4087")  # PLU + the scale's stable weight
    page.wait_for_function("document.querySelectorAll('[data-testid=checkout-line]').length === 2")
    assert page.get_by_test_id("checkout-total").inner_text().endswith("16.75")
    display.wait_for_function("document.querySelector('[data-testid=display-total]').textContent === '¥16.75'")

    page.get_by_test_id("checkout-line").first.click()  # a discount by hand on the milk
    page.get_by_test_id("line-amount").fill("1")
    page.get_by_test_id("line-reason").fill("dented")
    page.get_by_test_id("line-discount").click()
    page.wait_for_function("document.querySelector('[data-testid=checkout-total]').textContent.endsWith('15.75')")

    page.get_by_test_id("card-amount").fill("5")  # split: ¥5 on the card terminal …
    page.get_by_test_id("card-approval").fill("AB12")
    page.get_by_test_id("card-last4").fill("4242")
    page.get_by_test_id("checkout-pay-card").click()
    page.get_by_test_id("checkout-due").wait_for()
    assert page.get_by_test_id("checkout-due").inner_text().endswith("10.75")
    page.get_by_test_id("cash-received").fill("20")  # … the rest in cash
    page.get_by_test_id("checkout-pay-cash").click()
    page.get_by_test_id("checkout-done").wait_for()
    assert "9.25" in page.get_by_test_id("checkout-done").inner_text()
    code = page.get_by_test_id("checkout-receipt").inner_text()
    shot(page, "checkout-till-sold")
    doc = _print_docs(hub_server.db)[-1]
    assert doc["open_drawer"] and doc["barcode"]["value"] == code
    display.wait_for_function("document.querySelector('[data-testid=display-change]').textContent === '¥9.25'")

    scan(page, code)  # a return by the receipt's code
    page.get_by_test_id("return-panel").wait_for()
    page.get_by_test_id("return-line").first.check()
    page.get_by_test_id("return-card-approval").fill("RF01")
    page.get_by_test_id("return-ok").click()
    page.get_by_test_id("return-done").wait_for()
    assert page.get_by_test_id("return-done").inner_text().endswith("11.50")
    shot(page, "checkout-till-return")
    assert page.errors == []


def test_line_busting_on_a_handheld(phone, hub_server, shop):
    with hub_server.db.write() as conn:
        tills.open_shift(conn, "T1", float_minor=10000, actor="test")
    login(phone)
    phone.goto("/#/checkout_linebust")
    phone.get_by_test_id("linebust-start").click()
    phone.get_by_test_id("linebust-code").wait_for()
    scan(phone, "5901234123457")
    scan(phone, "96385074")
    phone.wait_for_function("document.querySelectorAll('[data-testid=linebust-line]').length === 2")
    assert phone.get_by_test_id("linebust-total").inner_text().endswith("62.40")
    scan(phone, "4006381333931")  # a code the store does not sell: said clearly
    phone.locator(".toast, [role=status], [role=alert]").first.wait_for()
    code = phone.get_by_test_id("linebust-code").inner_text()
    held = hub_server.db.read().execute("SELECT status, till_id FROM checkout_carts WHERE code = ?", (code,)).fetchone()
    assert tuple(held) == ("held", "T1")
    shot(phone, "checkout-linebust")
    assert phone.errors == []

"""Browser: item lookup by scan — item, price, stock per location, movements; unknown codes reported; invalid
codes explained."""

from __future__ import annotations

import pytest

from tests.support.ui import login, scan, shot

pytestmark = pytest.mark.browser
MILK_EAN = "5901234123457"


def _item_open(page, name="Milk 1L"):
    page.wait_for_selector("[data-screen='item'] [data-testid='item-name']")
    assert page.get_by_test_id("item-name").inner_text() == name


def test_scan_anywhere_opens_item_with_price_and_stock(phone, hub_server):
    from hub.inventory import ledger
    from hub.inventory.ledger import MovementRequest

    s = hub_server.sample
    with hub_server.db.write() as conn:
        ledger.post(
            conn, MovementRequest("receive", s["milk"]["id"], s["bin1"]["id"], 24, "delivery", "test", "k-milk-1")
        )
        ledger.post(
            conn, MovementRequest("receive", s["milk"]["id"], s["bin2"]["id"], 6, "delivery", "test", "k-milk-2")
        )
    login(phone)
    scan(phone, MILK_EAN)  # no field focused
    _item_open(phone)
    assert "12.50" in phone.get_by_test_id("item-price").inner_text()
    assert phone.get_by_test_id("stock-A01-01").inner_text() == "24"
    assert phone.get_by_test_id("stock-A01-02").inner_text() == "6"
    assert phone.get_by_test_id("total-on-hand").inner_text() == "30"
    assert phone.locator("[data-testid='movement-row']").count() == 2
    assert phone.evaluate("document.documentElement.dataset.feedback") == "success"
    text = phone.locator("main").inner_text()
    assert "null" not in text and "undefined" not in text and "NaN" not in text
    shot(phone, "03-item")
    assert phone.errors == []


def test_unknown_code_can_be_reported(phone, hub_server):
    login(phone)
    scan(phone, "4006381333931")  # a valid EAN-13 this store does not sell
    phone.wait_for_selector("[data-testid='unknown-dialog']")
    assert phone.get_by_test_id("unknown-code").inner_text() == "4006381333931"
    assert phone.evaluate("document.documentElement.dataset.feedback") == "error"
    phone.get_by_test_id("unknown-note").fill("on the end cap")
    shot(phone, "07-unknown-code")
    phone.get_by_test_id("unknown-report").click()
    phone.wait_for_selector("#toast.show.success")
    rows = hub_server.db.read().execute("SELECT code, note, gtin FROM unknown_codes").fetchall()
    assert [tuple(r) for r in rows] == [("4006381333931", "on the end cap", "04006381333931")]


def test_invalid_barcode_says_why(phone):
    login(phone)
    scan(phone, "5901234123458")  # wrong check digit
    phone.wait_for_selector("#toast.show.error")
    assert phone.locator("[data-testid='unknown-dialog']").count() == 0

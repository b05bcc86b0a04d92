"""Browser: scans as keyboard-wedge keystrokes — anywhere, with or without a focused field, GS kept, first
characters kept, Enter or Tab suffix — and a person typing is never taken for a scan."""

from __future__ import annotations

import pytest

from tests.support.ui import human_type, login, scan, shot

pytestmark = pytest.mark.browser
MILK_EAN = "5901234123457"


def _item_open(page, name="Milk 1L"):
    page.wait_for_selector("[data-screen='item'] [data-testid='item-name']")
    assert page.get_by_test_id("item-name").inner_text() == name


@pytest.mark.parametrize("gs", ["ctrl", "event", "substitute"])
def test_gs1_128_with_group_separator(phone, gs):
    login(phone)
    if gs == "substitute":  # the scanner is set to send the store's printable stand-in ('|') for FNC1
        scan(phone, "]C1" + "0105901234123457" + "10LOT42" + "|" + "21SER9")
        _item_open(phone)
        assert phone.locator("#last-scan").inner_text().endswith("10LOT42|21SER9")
    else:
        scan(phone, "]C1" + "0105901234123457" + "10LOT42" + "\x1d" + "21SER9", gs=gs)
        _item_open(phone)
        # the shell saw the whole code, GS included, in order
        assert phone.locator("#last-scan").inner_text().endswith("]C1010590123412345710LOT42<GS>21SER9")
    # ...and the hub read the lot and the serial apart thanks to the GS
    assert phone.get_by_test_id("scanned-lot").inner_text() == "LOT42"
    assert phone.get_by_test_id("scanned-serial").inner_text() == "SER9"
    if gs == "ctrl":
        shot(phone, "12-item-gs1-label")


def test_tab_suffix_and_focused_input_keep_first_characters(phone):
    login(phone)
    phone.get_by_test_id("tile-lookup").click()
    phone.get_by_test_id("lookup-q").click()
    human_type(phone, "ri")  # a person started typing a search...
    scan(phone, "96385074", suffix="Tab")  # ...then scanned (EAN-8 rice), burst goes into the focused field
    _item_open(phone, "Rice 5kg")


def test_scan_into_focused_field_is_taken_back_out(phone, hub_server):
    login(phone, "supervisor", "2222")
    phone.goto(f"/#/item?id={hub_server.sample['milk']['id']}")
    _item_open(phone)
    phone.get_by_test_id("act-receive").click()
    qty = phone.get_by_test_id("act-qty")
    qty.fill("5")
    qty.focus()
    assert phone.get_by_test_id("act-loc").input_value() == hub_server.sample["bin1"]["id"]
    scan(phone, "SHL-A01-02")  # a shelf label while the quantity field has focus
    phone.wait_for_function(
        f"document.querySelector('[data-testid=act-loc]').value === '{hub_server.sample['bin2']['id']}'"
    )
    assert qty.input_value() == "5"  # the burst's keystrokes did not stay in the field
    shot(phone, "04-receive-sheet")


def test_human_typing_is_not_a_scan(phone):
    login(phone)
    # typed slowly with nothing focused: not a scan, nothing happens
    human_type(phone, MILK_EAN, per_key_ms=110)
    phone.keyboard.press("Enter")
    phone.wait_for_timeout(400)
    assert phone.locator("[data-screen='home']").count() == 1
    assert phone.evaluate("document.documentElement.dataset.scans") is None
    # typed slowly into the search field: a normal search, the text stays in the field
    phone.get_by_test_id("tile-lookup").click()
    phone.get_by_test_id("lookup-q").click()
    human_type(phone, "Milk", per_key_ms=110)
    phone.keyboard.press("Enter")
    phone.wait_for_selector("[data-testid='lookup-count']")
    assert phone.get_by_test_id("lookup-q").input_value() == "Milk"
    assert phone.locator("[data-testid='lookup-hit']").count() == 1
    assert phone.evaluate("document.documentElement.dataset.scans") is None
    assert "null" not in phone.locator("main").inner_text()
    shot(phone, "05-lookup")
    phone.get_by_test_id("lookup-hit").click()
    _item_open(phone)

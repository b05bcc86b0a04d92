"""The handheld's Today's promotions screen: "Print labels" on a promotion with a shelf sends its promo shelf labels
to the store's printer again (zh-CN and en); a whole-basket promotion has no such button."""

from __future__ import annotations

import json

import pytest

from hub.kernel import settings
from hub.synclink import downlink as hub_downlink
from tests.support.ui import login

pytestmark = pytest.mark.browser

VALID = {"from": "2026-01-01T00:00:00+08:00", "to": "2099-12-31T00:00:00+08:00"}


def _deliver(db):
    with db.write() as conn:
        settings.put(conn, "checkout.printer_device", "printer-1")
        for i, raw in enumerate(
            (
                {
                    "id": "milk10",
                    "name": {"en": "Milk week", "zh-CN": "牛奶周"},
                    "type": "percent_off",
                    "scope": {"skus": ["MILK-1L"]},
                    "params": {"percent": 10},
                    "valid": VALID,
                },
                {
                    "id": "spend",
                    "name": {"en": "Spend and save", "zh-CN": "满减"},
                    "type": "spend_save",
                    "params": {"ladder": [{"spend_minor": 10000, "save_minor": 1000}]},
                    "valid": VALID,
                },
            ),
            start=1,
        ):
            hub_downlink._apply_promotion(conn, raw, i)


def _prints(db):
    return [
        json.loads(r[0])["document"]
        for r in db.read().execute("SELECT payload FROM device_commands WHERE action = 'print'")
    ]


def test_print_labels_from_the_screen(phone, hub_server):
    db = hub_server.db
    _deliver(db)
    login(phone, "associate", "1111")
    phone.goto("/#/promotions")
    phone.locator('[data-testid="promotions-row"]').first.wait_for()
    assert phone.locator('[data-testid="promotions-row"]').count() == 2
    buttons = phone.locator('[data-testid="promotions-labels"]')
    assert buttons.count() == 1  # the whole-basket spend-and-save has no shelf
    buttons.click()
    phone.locator("#toast.show").wait_for()
    assert "1" in phone.locator("#toast").inner_text()
    docs = _prints(db)
    assert [d["sku"] for d in docs] == ["MILK-1L"] and docs[0]["price_minor"] == 1125
    assert not phone.errors, phone.errors

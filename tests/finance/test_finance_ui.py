"""The manager's store-day screen in Chromium: the day's state, its settlement differences, and close →
reconcile → lock, each behind a confirmation (en and zh-CN)."""

from __future__ import annotations

import pytest

from hub.finance import model
from tests.support.ui import login, shot


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_manager_closes_reconciles_and_locks_the_day(phone, hub_server, lang):
    db = hub_server.db
    with db.write() as conn:
        conn.execute("UPDATE users SET language = ? WHERE username = 'manager'", (lang,))
        today = model.today(conn)
        model.enter_card_batch(conn, today, "T1", amount_minor=1234, count=1, actor="test")  # no card sale: differs
    login(phone, "manager", "9999")
    phone.goto("/#/finance")
    phone.locator("[data-testid=finance-state][data-state=open]").wait_for()
    assert phone.get_by_test_id("finance-date").input_value() == today
    diffs = phone.locator("[data-testid=finance-diff]")
    assert diffs.count() == 1 and diffs.first.get_attribute("data-kind") == "card_batch_mismatch"
    assert "12.34" in diffs.first.inner_text()
    for action, state in (("close", "closed"), ("reconcile", "reconciled"), ("lock", "locked")):
        phone.get_by_test_id(f"finance-{action}").click()
        phone.get_by_test_id("finance-confirm").wait_for()
        if action == "close":  # cancelling changes nothing
            phone.get_by_role("button", name="Cancel" if lang == "en" else "取消").click()
            assert model.get_day(db.read(), today)["state"] == "open"
            phone.get_by_test_id(f"finance-{action}").click()
        phone.get_by_test_id("finance-confirm-yes").click()
        phone.locator(f"[data-testid=finance-state][data-state={state}]").wait_for()
        assert model.get_day(db.read(), today)["state"] == state
    assert phone.locator("[data-testid^=finance-close], [data-testid=finance-lock]").count() == 0
    text = phone.get_by_test_id("finance-state").inner_text()
    assert ("locked" in text) if lang == "en" else ("已锁账" in text)
    shot(phone, f"finance-day-{lang}")
    assert phone.errors == []

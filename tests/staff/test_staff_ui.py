"""Browser (real Chromium, phone size): a supervisor builds today's roster on the handheld — a shift that breaks a
rule is refused with the rule named — and publishes it; then clocks in and out on the My time screen and sees
the published shift and the worked session."""

from __future__ import annotations

import pytest

from tests.support.ui import login, shot

pytestmark = pytest.mark.browser


def test_roster_and_clock_in_journey(phone, hub_server):
    login(phone, "supervisor", "2222")
    phone.goto("/#/staff_roster")
    phone.wait_for_selector("[data-screen='staff_roster'] [data-testid='roster-form']")
    assert phone.get_by_test_id("roster-status").inner_text().startswith("Draft")
    form = phone.get_by_test_id("roster-form")
    form.locator("#roster-person").select_option(label="supervisor")
    today = phone.evaluate(
        "(() => { const d = new Date(); const p = (n) => String(n).padStart(2, '0');"
        " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`; })()"
    )
    form.locator("#roster-day").select_option(today)
    form.locator("#roster-start").fill("00:00")
    form.locator("#roster-end").fill("08:00")
    phone.get_by_test_id("roster-add").click()
    phone.wait_for_selector("[data-testid='roster-shift']")
    # the same person again four hours later: too little rest and a double booking would both be broken
    form.locator("#roster-start").fill("06:00")
    form.locator("#roster-end").fill("12:00")
    phone.get_by_test_id("roster-add").click()
    toast = phone.locator(".toast.show.error")
    toast.wait_for()
    assert "double booking" in toast.inner_text()
    assert phone.get_by_test_id("roster-shift").count() == 1
    phone.get_by_test_id("roster-publish").click()
    phone.wait_for_function(
        "document.querySelector(\"[data-testid='roster-status']\").innerText.startsWith('Published')"
    )
    shot(phone, "staff-roster")

    phone.goto("/#/staff")
    phone.wait_for_selector("[data-screen='staff'] [data-testid='staff-clock-in']")
    assert phone.get_by_test_id("staff-my-shift").count() == 1
    phone.get_by_test_id("staff-clock-in").click()
    phone.wait_for_selector("[data-testid='staff-status'][data-in='1']")
    phone.get_by_test_id("staff-clock-out").click()
    phone.wait_for_selector("[data-testid='staff-status'][data-in='0']")
    phone.wait_for_selector("[data-testid='staff-session']")
    shot(phone, "staff-my-time")
    rows = hub_server.db.read().execute("SELECT action, source FROM staff_punches ORDER BY at, rowid").fetchall()
    assert [tuple(r) for r in rows] == [("in", "pin"), ("out", "pin")]
    assert phone.errors == []

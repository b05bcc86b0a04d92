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


def test_roster_demand_card_suggests_and_accepts(phone, hub_server):
    """Opening hours 09:00-11:00 with a crew of one each hour and no sales yet: every day is short until the
    suggested shifts are added from the card; then each hour shows its need covered."""
    from hub.kernel import settings
    from hub.staff import roster

    with hub_server.db.write() as conn:
        settings.put(
            conn,
            "staff.demand_targets",
            {
                "till_items_per_hour": 100,
                "min_staff": 1,
                "open": "09:00",
                "close": "11:00",
                "shift_hours": 2,
                "history_weeks": 4,
                "skill": "till",
            },
        )
        sup = conn.execute("SELECT id FROM users WHERE username = 'supervisor'").fetchone()[0]
        for (uid,) in conn.execute("SELECT id FROM users WHERE active = 1").fetchall():
            roster.set_profile(conn, uid, skills=["till"], employee_no=None, actor=sup)
    login(phone, "supervisor", "2222")
    phone.goto("/#/staff_roster")
    phone.wait_for_selector("[data-testid='demand-accept']")
    assert phone.locator("[data-testid='demand-hour'][data-short='1']").count() == 7 * 2
    assert phone.get_by_test_id("demand-suggested").count() == 7
    phone.get_by_test_id("demand-accept").click()
    phone.wait_for_function("document.querySelectorAll(\"[data-testid='demand-hour'][data-short='1']\").length === 0")
    assert phone.locator("[data-testid='demand-hour'][data-short='0']").count() == 7 * 2
    assert phone.get_by_test_id("roster-shift").count() == 7
    assert phone.get_by_test_id("demand-accept").count() == 0
    shot(phone, "staff-roster-demand")
    assert phone.errors == []

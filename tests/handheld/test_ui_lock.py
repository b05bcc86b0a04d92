"""Browser: the idle lock (configurable), unlock by PIN or badge, switch user."""

from __future__ import annotations

import pytest

from hub.kernel import settings
from tests.support.ui import login, scan, shot

pytestmark = pytest.mark.browser


def _pin(page, pin):
    for d in pin:
        page.get_by_test_id(f"pin-{d}").click()
    page.get_by_test_id("pin-ok").click()


@pytest.fixture
def quick_lock(hub_server):
    with hub_server.db.write() as conn:
        settings.put(conn, "handheld_idle_lock_s", 2)
    return hub_server


def test_idle_lock_ends_session_and_pin_unlocks(phone, quick_lock):
    login(phone)
    phone.get_by_test_id("tile-lookup").click()
    phone.wait_for_selector("[data-screen='lookup']")
    phone.wait_for_selector("[data-testid='lock']", timeout=6000)
    assert phone.evaluate("fetch('/api/v1/auth/me').then(r => r.status)") == 401  # no live session while locked
    assert phone.get_by_test_id("lock-user").input_value() == "associate"
    shot(phone, "08-locked")
    _pin(phone, "4321")
    phone.wait_for_selector("#toast.show.error")
    assert phone.locator("#lock").is_visible()
    _pin(phone, "1111")
    phone.wait_for_selector("#lock", state="hidden")
    phone.wait_for_selector("[data-screen='lookup']")  # back where the user was


def test_activity_keeps_it_unlocked_and_badge_unlocks(phone, quick_lock):
    login(phone)
    for _ in range(6):
        phone.keyboard.press("Shift")
        phone.wait_for_timeout(500)
    assert not phone.locator("#lock").is_visible()
    phone.wait_for_selector("[data-testid='lock']", timeout=6000)
    scan(phone, "BADGE-associate")
    phone.wait_for_selector("#lock", state="hidden")
    phone.wait_for_selector("[data-screen='home']")


def test_switch_user_from_lock(phone, quick_lock):
    login(phone)
    scan(phone, "4006381333931")  # leaves the "unknown code" sheet open...
    phone.wait_for_selector("[data-testid='unknown-dialog']")
    phone.wait_for_selector("[data-testid='lock']", timeout=6000)
    assert phone.locator("dialog[open]").count() == 0  # ...which the lock closes
    phone.get_by_test_id("switch-user").click()
    phone.wait_for_selector("[data-screen='login']")
    login(phone, "supervisor", "2222", open_first=False)
    assert phone.get_by_test_id("role").inner_text() == "Supervisor"

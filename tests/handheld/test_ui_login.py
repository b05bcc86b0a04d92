"""Browser: login by PIN pad and by badge scan, role-aware home, logout."""

from __future__ import annotations

import pytest

from tests.support.ui import login, login_badge, open_app, shot

pytestmark = pytest.mark.browser
RANK = "const rank = (r) => ['associate', 'supervisor', 'manager', 'admin'].indexOf(r || 'associate');"
# The screens the hub lists (GET /screens.json, from its domain declarations), each module imported.
SCREENS = """const { screens: names } = await (await fetch('/screens.json')).json();
  const screens = await Promise.all(names.map(async (n) => (await import(`/screens/${n}.js`)).default));"""
# What home must show for a role, computed from the screens themselves (other teams add screens).
EXPECTED_TILES = f"""async (role) => {{ {RANK}
  {SCREENS}
  return screens.filter((s) => s.home !== false && rank(s.minRole) <= rank(role))
    .sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || (a.id < b.id ? -1 : 1)).map((s) => 'tile-' + s.id);
}}"""
HIGHER_ROLE_SCREENS = f"""async (role) => {{ {RANK}
  {SCREENS}
  return screens.filter((s) => rank(s.minRole) > rank(role)).map((s) => s.id);
}}"""


def test_login_by_pin_shows_role_aware_home_and_logout(phone):
    open_app(phone)
    phone.wait_for_selector("[data-screen='login']")
    shot(phone, "01-login")
    login(phone, "associate", "1111", open_first=False)
    assert phone.get_by_test_id("role").inner_text() == "Associate"
    tiles = phone.locator("[data-testid^='tile-']").evaluate_all("els => els.map(e => e.dataset.testid)")
    assert tiles == phone.evaluate(EXPECTED_TILES, "associate")
    assert {"tile-lookup", "tile-queue", "tile-profile"} <= set(tiles)
    shot(phone, "02-home")
    phone.get_by_test_id("tile-profile").click()
    phone.wait_for_selector("[data-screen='profile']")
    shot(phone, "06-profile")
    phone.get_by_test_id("logout").click()
    phone.wait_for_selector("[data-screen='login']")
    # the session is really gone on the hub
    status = phone.evaluate("fetch('/api/v1/auth/me').then(r => r.status)")
    assert status == 401
    assert phone.errors == []


def test_wrong_pin_is_refused(phone):
    open_app(phone)
    phone.get_by_test_id("login-user").fill("associate")
    for d in "9876":
        phone.get_by_test_id(f"pin-{d}").click()
    phone.get_by_test_id("pin-ok").click()
    phone.wait_for_selector("#toast.show.error")
    assert phone.locator("[data-screen='login']").count() == 1
    assert phone.evaluate("document.documentElement.dataset.feedback") == "error"


@pytest.mark.parametrize("code", ["BADGE-supervisor", "SHB-BADGE-supervisor"])
def test_login_by_badge_scan(phone, code):
    login_badge(phone, code)
    phone.wait_for_selector("[data-screen='home']")
    assert phone.get_by_test_id("role").inner_text() == "Supervisor"
    tiles = phone.locator("[data-testid^='tile-']").evaluate_all("els => els.map(e => e.dataset.testid)")
    assert tiles == phone.evaluate(EXPECTED_TILES, "supervisor")


def test_home_is_role_aware_and_screens_are_guarded(phone):
    login(phone, "manager", "9999")
    manager_tiles = phone.locator("[data-testid^='tile-']").count()
    assert manager_tiles == len(phone.evaluate(EXPECTED_TILES, "manager"))
    phone.get_by_test_id("tile-profile").click()
    phone.get_by_test_id("logout").click()
    login(phone, "associate", "1111", open_first=False)
    hidden = phone.evaluate(HIGHER_ROLE_SCREENS, "associate")
    for screen_id in hidden:  # typing the address of a screen above your role does not open it
        phone.goto(f"/#/{screen_id}")
        phone.wait_for_selector("[data-screen='home']")
        phone.wait_for_selector("#toast.show.warn")


def test_unknown_badge_is_refused(phone):
    login_badge(phone, "BADGE-nobody")
    phone.wait_for_selector("#toast.show.error")
    assert phone.locator("[data-screen='login']").count() == 1


def test_revoked_session_returns_to_login(phone, hub_server):
    login(phone)
    with hub_server.db.write() as conn:
        conn.execute("DELETE FROM sessions")  # e.g. revoked from the back office, or expired
    phone.get_by_test_id("tile-lookup").click()
    phone.get_by_test_id("lookup-q").fill("milk")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("[data-screen='login']")
    phone.wait_for_selector("#toast.show.warn")


def test_home_tiles_keep_their_order_whatever_order_the_hub_lists_screens_in(phone, hub_server):
    # The hub lists screens in the order its domains are declared; each screen places its own tile instead
    # (`order`, ties by id), so reordering the domains moves no tile.
    listed = hub_server.app.test_client().get("/screens.json").get_json()["screens"]
    served = []

    def reversed_list(route):
        served.append(route.request.url)
        route.fulfill(json={"screens": list(reversed(listed))})

    phone.route("**/screens.json", reversed_list)
    login(phone, "supervisor", "2222")
    assert served, "the shell did not ask the hub for its screen list"
    tiles = phone.locator("[data-testid^='tile-']").evaluate_all("els => els.map(e => e.dataset.testid)")
    phone.unroute("**/screens.json")
    assert tiles == phone.evaluate(EXPECTED_TILES, "supervisor")
    assert phone.errors == []

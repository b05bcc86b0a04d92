"""Browser: where a scan goes. The screen on show gets a scan only when it declared the scan's kind in
`accepts`; every other scan gets the shell's default (item → item screen, location → a note, order → the
orders screen). The hub is asked once per scan, and a screen that accepts '*' is handed the code before the
hub is asked at all."""

from __future__ import annotations

import pytest

from hub.stocktake import sessions
from tests.support.ui import login, scan

pytestmark = pytest.mark.browser
MILK = "5901234123457"


def _open_count(hub_server):
    with hub_server.db.write() as conn:
        s, _ = sessions.create(conn, name="Aisle 1", actor="test")
    return s["id"]


def _toast(page, kind):
    page.wait_for_selector(f"#toast.show.{kind}")
    return page.locator("#toast").inner_text()


def _resolves(page):
    """Count the page's GET /api/v1/scan/resolve requests from now on."""
    seen = []
    page.on("request", lambda r: seen.append(r.url) if "/api/v1/scan/resolve" in r.url else None)
    return seen


def test_a_screen_gets_the_kinds_it_accepts_and_the_shell_keeps_the_rest(phone, hub_server):
    sid = _open_count(hub_server)
    login(phone)
    resolves = _resolves(phone)

    # lookup declares no `accepts`: a location label gets the shell's default, a note about the location
    phone.goto("/#/lookup")
    phone.wait_for_selector("[data-screen='lookup']")
    scan(phone, "SHL-A01-01")
    assert _toast(phone, "info").startswith("Location A01-01")
    assert phone.locator("[data-screen='lookup']").count() == 1
    assert len(resolves) == 1

    # the RFID sweep accepts location and item: the same label now starts the sweep at that location...
    phone.goto(f"/#/stocktake_sweep?id={sid}")
    phone.wait_for_selector("[data-testid='sweep-location']")
    phone.evaluate("document.getElementById('toast').className = 'toast'")
    scan(phone, "SHL-A01-01")
    phone.wait_for_function("document.querySelector('[data-testid=sweep-location]').textContent === 'A01-01'")
    assert phone.locator("#toast.show").count() == 0  # the screen took it: no shell note
    # ...an item is the screen's business too (said here, no jump to the item screen)...
    scan(phone, MILK)
    assert _toast(phone, "warn") == "Scan a location label."
    assert phone.locator("[data-screen='stocktake_sweep']").count() == 1
    # ...but it did not declare orders: an order label gets the shell's default, the orders screen
    scan(phone, "SHO-WEB-1001")
    phone.wait_for_selector("[data-screen='orders']", state="attached")  # (no such order: the screen says so)
    # one question to the hub per scan, also when the screen took the answer
    assert len(resolves) == 4
    assert phone.errors == []


def test_a_screen_that_accepts_everything_gets_the_code_before_the_hub_is_asked(phone, hub_server):
    sid = _open_count(hub_server)
    login(phone)
    phone.goto(f"/#/stocktake_count?id={sid}")
    phone.wait_for_selector("[data-testid='count-bin']")
    resolves = _resolves(phone)
    scan(phone, "SHL-A01-01")
    phone.wait_for_selector("[data-testid='count-last'][data-seq='1'][data-state='done']")
    scan(phone, MILK)
    phone.wait_for_selector("[data-testid='count-last'][data-seq='2'][data-state='done']")
    assert phone.locator("[data-screen='stocktake_count']").count() == 1
    assert resolves == []  # the count screen sent both codes to the hub itself; the shell never resolved them
    assert phone.errors == []


def test_the_item_sheet_takes_a_location_and_lets_an_item_through(phone, hub_server):
    s = hub_server.sample
    login(phone, "supervisor", "2222")
    phone.goto(f"/#/item?id={s['milk']['id']}")
    phone.wait_for_selector("[data-testid='item-name']")
    # with no sheet open the item screen declines the location: the shell's note
    scan(phone, "SHL-A01-02")
    assert _toast(phone, "info").startswith("Location A01-02")
    phone.get_by_test_id("act-receive").click()
    scan(phone, "SHL-A01-02")
    phone.wait_for_function(f"document.querySelector('[data-testid=act-loc]').value === '{s['bin2']['id']}'")
    # an item is not a kind the item screen accepts: the shell opens that item
    scan(phone, "96385074")
    phone.wait_for_function("document.querySelector('[data-testid=item-name]')?.textContent === 'Rice 5kg'")
    assert phone.locator("dialog[open]").count() == 0
    assert phone.errors == []

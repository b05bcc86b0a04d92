"""Real Chromium: a till that loses the hub keeps the open cart on screen, queues the scans made meanwhile with
their keys, says tenders wait, and replays the scans in order when the hub answers — one of them reached the hub
before its answer was lost, and nothing doubles. Also: a 503 that carries the hub's JSON error is an answer
(its text is shown), not "hub unreachable"."""

from __future__ import annotations

import pytest

from tests.support.ui import login, scan

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TILL = {"viewport": {"width": 1280, "height": 800}, "has_touch": True, "locale": "en-US"}
COLA = "6901234567892"  # ¥3.50 (tests/checkout/conftest.py shop)
MILK = "5901234123457"  # ¥12.50 (the sample store)


@pytest.fixture
def counter(ui_browser, hub_server, shop):
    # page.route sees only what the page itself fetches: no service worker in between
    context = ui_browser.new_context(base_url=hub_server.url, service_workers="block", **TILL)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
    yield page
    context.close()


def _open_till(page):
    login(page)
    page.goto("/#/checkout")
    page.get_by_test_id("checkout-till").fill("T1")
    page.get_by_test_id("checkout-float").fill("200")
    page.get_by_test_id("checkout-open-shift").click()
    page.get_by_test_id("checkout-empty").wait_for()


def _lines(db, cart_id):
    return {
        r[0]: r[1]
        for r in db.read().execute(
            "SELECT i.sku, SUM(l.qty) FROM checkout_cart_lines l JOIN items i ON i.id = l.item_id"
            " WHERE l.cart_id = ? AND l.voided = 0 GROUP BY i.sku",
            (cart_id,),
        )
    }


def test_till_keeps_the_cart_and_replays_scans_when_the_hub_is_back(counter, hub_server):
    page, db = counter, hub_server.db
    _open_till(page)
    scan(page, COLA)
    page.wait_for_function("document.querySelector('[data-testid=checkout-total]').textContent.endsWith('3.50')")
    cart_id = db.read().execute("SELECT id FROM checkout_carts WHERE till_id = 'T1' AND status = 'open'").fetchone()[0]

    # the hub goes away: every API request fails at the network level …
    page.route("**/api/v1/**", lambda route: route.abort("connectionrefused"))
    scan(page, MILK)
    page.get_by_test_id("checkout-offline").wait_for()
    scan(page, COLA)
    page.wait_for_function("document.querySelectorAll('[data-testid=checkout-queued]').length === 2")
    assert "2 waiting" in page.get_by_test_id("checkout-offline").inner_text()
    assert page.get_by_test_id("checkout-line").count() == 1  # the cart the hub had stays on screen
    assert page.get_by_test_id("checkout-total").inner_text().endswith("3.50")
    assert "No payment while the hub is away" in page.get_by_test_id("checkout-offline-no-tender").inner_text()
    assert page.get_by_test_id("checkout-pay-cash").count() == 0

    # … then comes back for one request whose answer is lost on the way (the hub applied the scan)
    page.unroute("**/api/v1/**")
    lost = {"n": 0}

    def answer_lost(route):
        if route.request.method == "POST" and route.request.url.endswith("/scan") and lost["n"] == 0:
            lost["n"] += 1
            route.fetch()  # reaches the hub …
            route.abort("connectionreset")  # … the answer never reaches the till
        else:
            route.abort("connectionrefused")

    page.route("**/api/v1/**", answer_lost)
    page.wait_for_timeout(2500)  # a replay attempt runs into the lost answer, then the hub is away again
    assert lost["n"] == 1
    assert _lines(db, cart_id) == {"COLA-330": 1, "MILK-1L": 1}  # the hub took the milk; the till does not know
    assert page.get_by_test_id("checkout-offline").is_visible()

    page.unroute("**/api/v1/**")  # the hub answers again: the queue drains in order, with the same keys
    page.get_by_test_id("checkout-offline").wait_for(state="detached")
    page.wait_for_function("document.querySelector('[data-testid=checkout-total]').textContent.endsWith('19.50')")
    assert page.get_by_test_id("checkout-queued").count() == 0
    lines = _lines(db, cart_id)
    assert lines == {"COLA-330": 2, "MILK-1L": 1}  # the milk once (sent twice, one key), the second cola once
    assert db.read().execute("SELECT COUNT(*) FROM checkout_carts WHERE till_id = 'T1'").fetchone()[0] == 1

    page.get_by_test_id("cash-received").fill("20")
    page.get_by_test_id("checkout-pay-cash").click()
    page.get_by_test_id("checkout-done").wait_for()
    sale = db.read().execute("SELECT total_minor FROM checkout_sales").fetchall()
    assert [r[0] for r in sale] == [1950]
    assert page.errors == []


def test_hub_503_with_its_json_error_is_an_answer_not_offline(counter, hub_server):
    page = counter
    _open_till(page)
    scan(page, COLA)
    page.wait_for_function("document.querySelector('[data-testid=checkout-total]').textContent.endsWith('3.50')")
    # the card terminal answers through the hub: 503 terminal_offline with the hub's JSON
    page.route(
        "**/card-terminal",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body='{"error": {"code": "terminal_offline", "message": "x", "details": null}}',
        ),
    )
    page.get_by_test_id("checkout-pay-card-terminal").click()
    page.locator("#toast[data-kind=error]").wait_for()
    assert "card terminal does not answer" in page.locator("#toast").inner_text()
    assert page.get_by_test_id("checkout-offline").count() == 0
    # a bare 503 from something in front of the hub is "unreachable"
    page.route("**/card-terminal", lambda route: route.fulfill(status=503, body="Service Unavailable"))
    page.get_by_test_id("checkout-pay-card-terminal").click()
    page.get_by_test_id("checkout-offline").wait_for()

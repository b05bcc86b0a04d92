"""Real Chromium: the customer display (/display/<till>) follows the payment in progress from the hub's cart over
the live channel during a split tender — what each tender paid and what is still due, "insert or tap your card"
with the amount while the integrated terminal waits for the customer, "payment failed" with the reason when the
bank declines, then the sale done. The card terminal is the simulator on a real TCP socket."""

from __future__ import annotations

import json
import threading

import pytest

from devices.sim import terminal as sim
from tests.support.ui import login, scan, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TILL = {"viewport": {"width": 1280, "height": 800}, "has_touch": True, "locale": "en-US"}
MILK = "5901234123457"  # ¥12.50 (the sample store)


@pytest.fixture
def term(hub_server):
    t = sim.TerminalSim(delay_s=1.5)  # the customer takes 1.5 s at the terminal
    srv = sim.make_server(t)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    cfg = {"terminals": {"T1": {"host": "127.0.0.1", "port": srv.server_address[1], "answer_timeout_s": 10}}}
    data_dir = hub_server.app.extensions["storehub"].config.data_dir
    (data_dir / "payments.json").write_text(json.dumps(cfg))
    yield t
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def counter(ui_browser, hub_server, shop, term):
    context = ui_browser.new_context(base_url=hub_server.url, **TILL)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
    yield page
    context.close()


def test_display_follows_a_split_tender(counter, hub_server, term):
    page, db = counter, hub_server.db
    login(page)
    page.goto("/#/checkout")
    page.get_by_test_id("checkout-till").fill("T1")
    page.get_by_test_id("checkout-float").fill("200")
    page.get_by_test_id("checkout-open-shift").click()
    page.get_by_test_id("checkout-empty").wait_for()

    display = page.context.new_page()
    display.goto("/display/T1")
    display.wait_for_selector("html[data-ready='1']")
    page.bring_to_front()

    scan(page, MILK)
    scan(page, MILK)
    display.wait_for_function("document.querySelector('[data-testid=display-total]').textContent === '¥25.00'")

    page.get_by_test_id("cash-received").fill("5")  # ¥5 cash first
    page.get_by_test_id("checkout-pay-cash").click()
    display.wait_for_function("document.querySelector('[data-testid=display-due]')?.textContent === '¥20.00'")
    assert display.locator("[data-testid=display-tenders] li[data-method=cash]").inner_text().endswith("¥5.00")

    # the card: ¥10.51 is declined by the bank (the simulator's test amount); the display asks for the card first
    page.get_by_test_id("card-amount").fill("10.51")
    page.get_by_test_id("checkout-pay-card-terminal").click()
    display.wait_for_selector("[data-testid=display-pay][data-phase=card]")
    assert display.get_by_test_id("display-pay-card").is_visible()
    assert display.get_by_test_id("display-pay-amount").inner_text() == "¥10.51"
    shot(display, "checkout-display-card")
    display.wait_for_selector("[data-testid=display-pay][data-phase=failed]")
    assert display.get_by_test_id("display-pay-failed").is_visible()
    assert "Declined" in display.get_by_test_id("display-pay-reason").inner_text()

    # the rest on the card: approved; the display shows both tenders and the sale done
    page.get_by_test_id("checkout-pay-card-terminal").click()
    display.wait_for_selector("[data-testid=display-pay][data-phase=card]")
    assert display.get_by_test_id("display-pay-amount").inner_text() == "¥20.00"
    page.get_by_test_id("checkout-done").wait_for()
    display.wait_for_selector("[data-testid=display-pay]", state="hidden")
    display.wait_for_function("document.querySelectorAll('[data-testid=display-tenders] li').length === 2")
    methods = display.locator("[data-testid=display-tenders] li").evaluate_all("els => els.map(e => e.dataset.method)")
    assert methods == ["cash", "card_terminal"]
    assert display.locator("#due-row").is_hidden()  # nothing due any more
    rows = db.read().execute("SELECT method, state, amount_minor FROM checkout_tenders ORDER BY created_at").fetchall()
    assert [tuple(r) for r in rows] == [
        ("cash", "paid", 500),
        ("card_terminal", "failed", 1051),
        ("card_terminal", "paid", 2000),
    ]
    assert page.errors == []


def test_member_pays_with_points_at_the_till(counter, hub_server):
    """Issue 15's till journey: the member identified on the cart pays part with points, the rest in cash; the
    till and the customer display show the points; the ledger has the burn."""
    from hub.members import identity
    from hub.members import points as ledger
    from hub.members import workflow as loyalty
    from hub.synclink import state as sync_state

    page, db = counter, hub_server.db
    login(page)
    page.goto("/#/checkout")
    page.get_by_test_id("checkout-till").fill("T1")
    page.get_by_test_id("checkout-float").fill("200")
    page.get_by_test_id("checkout-open-shift").click()
    page.get_by_test_id("checkout-empty").wait_for()
    display = page.context.new_page()
    display.goto("/display/T1")
    display.wait_for_selector("html[data-ready='1']")
    page.bring_to_front()
    scan(page, MILK)  # ¥12.50
    page.wait_for_function("document.querySelector('[data-testid=checkout-total]').textContent.endsWith('12.50')")
    cart_id = db.read().execute("SELECT id FROM checkout_carts WHERE till_id = 'T1' AND status = 'open'").fetchone()[0]
    with db.write() as conn:
        m, _ = identity.enrol(conn, phone="13812345678", consent={"purpose": "loyalty", "granted": True}, actor="t")
        ledger.append(conn, m["id"], "adjust", 1000, reason="opening", actor="t")
        sync_state.put(conn, "last_ack_at", "2999-01-01T00:00:00Z")  # the central acknowledged just now
        loyalty.attach_to_cart(conn, cart_id, actor="t", phone="13812345678")

    page.get_by_test_id("points-n").fill("450")  # 1 fen a point: ¥4.50
    page.get_by_test_id("checkout-pay-points").click()
    page.wait_for_function("document.querySelector('[data-testid=checkout-due]')?.textContent.endsWith('8.00')")
    display.wait_for_selector("[data-testid=display-tenders] li[data-method=points]")
    line = display.locator("[data-testid=display-tenders] li[data-method=points]").inner_text()
    assert "450" in line and "¥4.50" in line
    assert ledger.balance(db.read(), m["id"]) == 550
    page.get_by_test_id("cash-received").fill("10")
    page.get_by_test_id("checkout-pay-cash").click()
    page.get_by_test_id("checkout-done").wait_for()
    rows = db.read().execute("SELECT method, points, amount_minor FROM checkout_tenders ORDER BY created_at").fetchall()
    assert [tuple(r) for r in rows] == [("points", 450, 450), ("cash", None, 800)]
    assert page.errors == []

"""Real-Chromium journey of the WeChat Pay / Alipay tender at the till (1280×800) against the local provider
simulators: a split tender cash + payment code, the customer's code going to the tender (never to the cart), a
refusal in the cashier's language, the waiting state while the customer confirms, cancel → reversed at the
provider, and the customer display showing the prompt and the amount."""

from __future__ import annotations

import json
import threading

import pytest

from devices.sim import payments as sim
from tests.support.ui import login, scan, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TILL = {"viewport": {"width": 1280, "height": 800}, "has_touch": True, "locale": "en-US"}
WX = "134567890123450000"  # 18 digits, 13…: WeChat Pay; the last 4 digits pick the simulator's scenario
ALI = "28763443825600000000"  # 20 digits, 28…: Alipay
MILK = "5901234123457"  # ¥12.50 (the sample store)


def code(base: str, scenario: str) -> str:
    return base[:-4] + scenario


@pytest.fixture
def sims(hub_server):
    """Both provider simulators on free ports, the hub's payments.json pointing at them."""
    app_priv, app_pub = sim.new_rsa_pair()
    ali_priv, ali_pub = sim.new_rsa_pair()
    wx = sim.WeChatPaySim(
        appid="wxd930ea5d5a258f4f", mch_id="10000100", api_key="192006250b4c09247ec02edce69f6a2d", delay_s=2.0
    )
    ali = sim.AlipaySim(app_id="2016000000000001", app_public_key_pem=app_pub, private_key_pem=ali_priv, delay_s=2.0)
    servers = [sim.make_server(wx), sim.make_server(ali)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    wx_url, ali_url = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    config = {
        "wechatpay": {
            "appid": "wxd930ea5d5a258f4f",
            "mch_id": "10000100",
            "api_key": "192006250b4c09247ec02edce69f6a2d",
            "base_url": wx_url + "/",
            "timeout_s": 5,
            "wait_s": 120,
        },
        "alipay": {
            "app_id": "2016000000000001",
            "app_private_key": app_priv,
            "alipay_public_key": ali_pub,
            "gateway": ali_url + "/gateway.do",
            "timeout_s": 5,
            "wait_s": 120,
        },
    }
    data_dir = hub_server.app.extensions["storehub"].config.data_dir
    (data_dir / "payments.json").write_text(json.dumps(config))
    yield {"wx": wx, "ali": ali}
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def counter(ui_browser, hub_server, shop, sims):
    context = ui_browser.new_context(base_url=hub_server.url, **TILL)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            page.errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield page
    context.close()


def _tenders(db, cart_id):
    return [
        dict(r)
        for r in db.read().execute(
            "SELECT method, state, amount_minor, out_trade_no, sale_id FROM checkout_tenders WHERE cart_id = ?"
            " ORDER BY created_at",
            (cart_id,),
        )
    ]


def _trades(s):
    return list(s.ledger.snapshot().values())


def test_split_tender_cash_and_payment_code(counter, hub_server, sims):
    page, db = counter, hub_server.db
    login(page)
    page.goto("/#/checkout")
    page.get_by_test_id("checkout-till").fill("T1")
    page.get_by_test_id("checkout-float").fill("200")
    page.get_by_test_id("checkout-open-shift").click()
    page.get_by_test_id("checkout-empty").wait_for()

    display = page.context.new_page()  # the customer display on the till's second screen
    display.goto("/display/T1")
    display.wait_for_selector("html[data-ready='1']")
    page.bring_to_front()

    scan(page, MILK)
    scan(page, MILK)
    page.wait_for_function("document.querySelector('[data-testid=checkout-total]').textContent.endsWith('25.00')")
    cart_id = db.read().execute("SELECT id FROM checkout_carts WHERE till_id = 'T1' AND status = 'open'").fetchone()[0]

    page.get_by_test_id("cash-received").fill("5")  # split: ¥5 cash …
    page.get_by_test_id("checkout-pay-cash").click()
    page.wait_for_function("document.querySelector('[data-testid=checkout-due]')?.textContent.endsWith('20.00')")

    # a customer's code scanned before the tender is chosen goes nowhere near the cart (nor to the provider)
    scan(page, code(WX, "0001"))
    page.locator("#toast[data-kind=warn]").wait_for()
    assert "choose WeChat Pay / Alipay first" in page.locator("#toast").inner_text()
    assert page.get_by_test_id("checkout-line").count() == 1
    assert _trades(sims["wx"]) == [] and db.read().execute("SELECT COUNT(*) FROM unknown_codes").fetchone()[0] == 0

    # … the rest by payment code: the till and the customer display ask for the code and show the amount
    page.get_by_test_id("checkout-pay-qr").click()
    assert page.get_by_test_id("checkout-qr-prompt").inner_text().endswith("20.00")
    display.wait_for_selector("[data-testid=display-qr][data-phase=show]")
    assert display.get_by_test_id("display-qr-amount").inner_text() == "¥20.00"
    assert display.get_by_test_id("display-qr-show").is_visible()

    scan(page, code(WX, "0003"))  # insufficient balance: refused, said in words
    page.get_by_test_id("checkout-qr-error").wait_for()
    assert page.get_by_test_id("checkout-qr-error").inner_text().startswith("The customer's balance is not enough")
    assert [t["state"] for t in _tenders(db, cart_id)] == ["paid", "failed"]

    scan(page, code(WX, "0006"))  # the customer never confirms: waiting, then cancel
    page.get_by_test_id("checkout-qr-waiting").wait_for()
    assert "20.00 on the phone" in page.get_by_test_id("checkout-qr-waiting").inner_text()
    display.wait_for_selector("[data-testid=display-qr][data-phase=confirm]")
    assert display.get_by_test_id("display-qr-confirm").is_visible()
    assert display.get_by_test_id("display-qr-amount").inner_text() == "¥20.00"
    assert "null" not in page.get_by_test_id("checkout-qr").inner_text()
    assert (
        display.get_by_test_id("display-paid").is_visible()
        and not display.get_by_test_id("display-change").is_visible()
    )
    shot(page, "checkout-qr-waiting")
    shot(display, "checkout-display-qr")
    display.reload()  # a display opened meanwhile shows the prompt too
    display.wait_for_selector("[data-testid=display-qr][data-phase=confirm]")
    page.bring_to_front()
    page.get_by_test_id("checkout-qr-cancel").click()
    page.get_by_test_id("checkout-pay-qr").wait_for()  # back to choosing a tender
    pending = [t for t in _tenders(db, cart_id) if t["state"] == "reversed"]
    assert len(pending) == 1 and pending[0]["method"] == "wechatpay"
    reversed_trade = sims["wx"].ledger.snapshot()[pending[0]["out_trade_no"]]
    assert reversed_trade["reversals"] == 1 and reversed_trade["charges"] == 0
    display.wait_for_selector("[data-testid=display-qr]", state="hidden")

    page.get_by_test_id("checkout-pay-qr").click()  # Alipay, the customer confirming on the phone
    display.wait_for_selector("[data-testid=display-qr][data-phase=show]")
    scan(page, code(ALI, "0001"))
    page.get_by_test_id("checkout-qr-waiting").wait_for()  # the hub answered "user paying": the till waits, polls
    page.get_by_test_id("checkout-done").wait_for()  # paid after a query: the sale is committed
    assert page.get_by_test_id("checkout-receipt").inner_text().startswith("SHR-")
    shot(page, "checkout-qr-sold")

    rows = _tenders(db, cart_id)
    assert [(t["method"], t["state"], t["amount_minor"]) for t in rows] == [
        ("cash", "paid", 500),
        ("wechatpay", "failed", 2000),
        ("wechatpay", "reversed", 2000),
        ("alipay", "paid", 2000),
    ]
    sale_id = rows[-1]["sale_id"]
    assert sale_id and rows[0]["sale_id"] == sale_id
    assert db.read().execute("SELECT COUNT(*) FROM checkout_sales").fetchone()[0] == 1
    ali_trades = _trades(sims["ali"])
    assert len(ali_trades) == 1 and ali_trades[0]["charges"] == 1 and ali_trades[0]["total_fee"] == 2000
    assert ali_trades[0]["queries"] >= 1
    display.wait_for_selector("[data-testid=display-qr]", state="hidden")
    display.wait_for_function("document.querySelector('[data-testid=display-total]').textContent === '¥25.00'")
    assert page.errors == []

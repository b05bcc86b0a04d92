"""WeChat Pay and Alipay payment codes (付款码) against the local provider simulators over real HTTP: every state
(success, user paying then paid after a query, system error, insufficient balance, timeout), reverse/cancel,
malformed codes refused before any call, refund of a return, and the refusal when the provider is unreachable.

Facts from the providers' documentation used here (docs/checkout.md, "Payment codes"): a WeChat Pay code is 18
digits starting 10–15; an Alipay code 16–24 digits starting 25–30; the simulators pick the customer's behaviour
from the code's last four digits."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
import requests

from devices.sim import payments as sim
from hub.checkout.payments import codes
from tests.support.common import free_port

WX = "134567890123450000"  # 18 digits, 13…: WeChat Pay
ALI = "28763443825600000000"  # 20 digits, 28…: Alipay


def code(base: str, scenario: str) -> str:
    return base[:-4] + scenario


@pytest.fixture(scope="module")
def sims():
    """Both simulators on free ports for the module (each trade has its own out_trade_no)."""
    app_priv, app_pub = sim.new_rsa_pair()
    ali_priv, ali_pub = sim.new_rsa_pair()
    wx = sim.WeChatPaySim(
        appid="wxd930ea5d5a258f4f", mch_id="10000100", api_key="192006250b4c09247ec02edce69f6a2d", delay_s=2.5
    )
    ali = sim.AlipaySim(app_id="2016000000000001", app_public_key_pem=app_pub, private_key_pem=ali_priv, delay_s=2.5)
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
            "timeout_s": 1.5,
            "wait_s": 2,
        },
        "alipay": {
            "app_id": "2016000000000001",
            "app_private_key": app_priv,
            "alipay_public_key": ali_pub,
            "gateway": ali_url + "/gateway.do",
            "timeout_s": 1.5,
            "wait_s": 2,
        },
    }
    yield {"config": config, "wx": wx, "ali": ali, "wx_url": wx_url, "ali_url": ali_url}
    for s in servers:
        s.shutdown()


@pytest.fixture
def paying(till, hubctx, sims):
    """The till with the hub pointed at the simulators (payments.json in its data directory)."""
    (hubctx.config.data_dir / "payments.json").write_text(json.dumps(sims["config"]))
    return till


def trade(sims, provider, otn):
    return sims["wx" if provider == "wechatpay" else "ali"].ledger.snapshot().get(otn)


def qr(till, cart_id, auth_code, status=200, **kw):
    body = {"auth_code": auth_code, "idempotency_key": kw.pop("key", None) or uuid.uuid4().hex, **kw}
    return till.call("POST", f"/carts/{cart_id}/payment-code", body, status=status)


def cola_cart(till, n=1):
    c = till.cart()
    for _ in range(n):
        c = till.scan(c["id"], "6901234567892")
    return c


def test_codes_are_recognised_by_prefix_and_length():
    assert codes.recognise("134567890123456789") == "wechatpay"
    assert codes.recognise("104567890123456789") == "wechatpay"
    assert codes.recognise("2876344382560000") == "alipay"  # 16 digits
    assert codes.recognise("300000000000000000000000") == "alipay"  # 24 digits
    for bad in (
        "164567890123456789",
        "13456789012345678",
        "1345678901234567890",
        "2476344382560000",
        "287634438256000",
        "3000000000000000000000000",
        "31763443825600000",
        "13456789012345678a",
        "",
    ):
        with pytest.raises(Exception) as exc:
            codes.recognise(bad)
        assert exc.value.code == "bad_payment_code", bad


@pytest.mark.parametrize("provider,base", [("wechatpay", WX), ("alipay", ALI)])
def test_success_commits_the_sale(paying, sims, provider, base):
    c = cola_cart(paying, 2)
    out = qr(paying, c["id"], base)
    assert out["tender"]["method"] == provider and out["tender"]["state"] == "paid"
    assert out["sale"]["receipt_no"] >= 1 and out["waiting"] is False
    t = trade(sims, provider, out["tender"]["out_trade_no"])
    assert t["charges"] == 1 and t["total_fee"] == 700


@pytest.mark.parametrize("provider,base", [("wechatpay", WX), ("alipay", ALI)])
def test_user_paying_then_paid_after_a_query(paying, sims, provider, base):
    c = cola_cart(paying)
    out = qr(paying, c["id"], code(base, "0001"))
    assert out["waiting"] is True and out["tender"]["state"] == "requesting" and out["sale"] is None
    polled = paying.call("POST", f"/tenders/{out['tender']['id']}/poll")
    assert polled["tender"]["state"] == "paid" and polled["sale"]["total_minor"] == 350
    assert trade(sims, provider, out["tender"]["out_trade_no"])["queries"] == 1


@pytest.mark.parametrize("provider,base", [("wechatpay", WX), ("alipay", ALI)])
def test_system_error_is_unknown_until_the_query_finds_it_paid(paying, sims, provider, base):
    c = cola_cart(paying)
    out = qr(paying, c["id"], code(base, "0002"))
    assert out["tender"]["state"] == "unknown" and out["waiting"] is True
    polled = paying.call("POST", f"/tenders/{out['tender']['id']}/poll")
    assert polled["tender"]["state"] == "paid" and polled["sale"] is not None


@pytest.mark.parametrize(
    "provider,base,err", [("wechatpay", WX, "NOTENOUGH"), ("alipay", ALI, "ACQ.BUYER_BALANCE_NOT_ENOUGH")]
)
def test_insufficient_balance_fails_and_cash_goes_on(paying, sims, provider, base, err):
    c = cola_cart(paying)
    out = qr(paying, c["id"], code(base, "0003"))
    assert out["tender"]["state"] == "failed" and out["tender"]["error"] == err and out["sale"] is None
    done = paying.pay(c["id"], "cash", received_minor=500)
    assert done["sale"]["change_minor"] == 150


@pytest.mark.parametrize("provider,base", [("wechatpay", WX), ("alipay", ALI)])
def test_timeout_is_unknown_then_reversed_after_the_wait(paying, sims, provider, base):
    c = cola_cart(paying)
    out = qr(paying, c["id"], code(base, "0004"))
    assert out["tender"]["state"] == "unknown"
    import time

    time.sleep(2.2)  # past wait_s: the hub gives up and reverses
    polled = paying.call("POST", f"/tenders/{out['tender']['id']}/poll")
    assert polled["tender"]["state"] == "reversed" and polled["sale"] is None
    t = trade(sims, provider, out["tender"]["out_trade_no"])
    assert t["reversals"] == 1 and t["charges"] == 0


@pytest.mark.parametrize("provider,base", [("wechatpay", WX), ("alipay", ALI)])
def test_cashier_cancel_reverses_at_the_provider(paying, sims, provider, base):
    c = cola_cart(paying)
    out = qr(paying, c["id"], code(base, "0006"))
    assert out["waiting"] is True
    gone = paying.call("POST", f"/tenders/{out['tender']['id']}/cancel", {"reason": "customer left"})
    assert gone["tender"]["state"] == "reversed"
    assert trade(sims, provider, out["tender"]["out_trade_no"])["reversals"] == 1
    assert paying.pay(c["id"], "cash", received_minor=350)["sale"] is not None


def test_double_tap_pays_once(paying, sims):
    c = cola_cart(paying)
    first = qr(paying, c["id"], WX, key="tap-tap-0001")
    again = qr(paying, c["id"], WX, key="tap-tap-0001")
    assert again["sale"]["id"] == first["sale"]["id"]
    assert trade(sims, "wechatpay", first["tender"]["out_trade_no"])["charges"] == 1


def test_malformed_code_is_refused_before_any_call(paying, sims, hubctx):
    c = cola_cart(paying)
    before = len(sims["wx"].ledger.snapshot()) + len(sims["ali"].ledger.snapshot())
    err = qr(paying, c["id"], "164567890123456789", status=400)
    assert err["error"]["code"] == "bad_payment_code"
    assert len(sims["wx"].ledger.snapshot()) + len(sims["ali"].ledger.snapshot()) == before
    assert (
        hubctx.db.read().execute("SELECT COUNT(*) FROM checkout_tenders WHERE cart_id = ?", (c["id"],)).fetchone()[0]
        == 0
    )


def test_offline_refuses_payment_codes_and_cash_goes_on(paying, sims, hubctx):
    dead = {k: {**v} for k, v in sims["config"].items()}
    dead["wechatpay"]["base_url"] = f"http://127.0.0.1:{free_port()}/"
    (hubctx.config.data_dir / "payments.json").write_text(json.dumps(dead))
    c = cola_cart(paying)
    err = qr(paying, c["id"], WX, status=503)
    assert err["error"]["code"] == "payment_offline"
    cart = paying.call("GET", f"/carts/{c['id']}")
    assert [t["state"] for t in cart["tenders"]] == ["failed"]
    assert paying.pay(c["id"], "cash", received_minor=350)["sale"] is not None


@pytest.mark.parametrize("provider,base", [("wechatpay", WX), ("alipay", ALI)])
def test_return_of_a_code_paid_sale_refunds_through_the_provider(paying, sims, provider, base):
    c = cola_cart(paying, 2)
    out = qr(paying, c["id"], base)
    receipt = out["sale"]["receipt_code"]
    ret = paying.call(
        "POST",
        "/returns",
        {
            "till_id": "T1",
            "receipt_code": receipt,
            "idempotency_key": uuid.uuid4().hex,
            "lines": [{"line_no": 1, "qty": 1}],
        },
        status=201,
    )
    assert [(t["method"], t["state"], t["amount_minor"]) for t in ret["provider_refunds"]] == [(provider, "paid", 350)]
    t = trade(sims, provider, out["tender"]["out_trade_no"])
    assert t["refunded"] == 350 and len(t["refunds"]) == 1


def test_split_tender_cash_and_code(paying, sims):
    c = cola_cart(paying, 2)
    part = paying.pay(c["id"], "cash", received_minor=200)
    assert part["sale"] is None and part["cart"]["due_minor"] == 500
    out = qr(paying, c["id"], ALI)
    assert out["tender"]["amount_minor"] == 500 and out["sale"]["total_minor"] == 700


def test_simulators_check_the_documented_signature(sims):
    """WeChat's documented test vector signs the same with the simulator's signer; a wrong sign is refused."""
    params = {
        "appid": "wxd930ea5d5a258f4f",
        "mch_id": "10000100",
        "device_info": "1000",
        "body": "test",
        "nonce_str": "ibuaiVcKdpRxkhJA",
    }
    assert sim.wx_sign(params, "192006250b4c09247ec02edce69f6a2d") == "9A0A8659F005D6984697E2CA0A9CF3B7"
    assert (
        sim.wx_sign(params, "192006250b4c09247ec02edce69f6a2d", "HMAC-SHA256")
        == "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
    )
    r = requests.post(sims["wx_url"] + "/pay/micropay", data=sim.wx_xml({**params, "sign": "00"}), timeout=5)
    assert "FAIL" in r.text and "签名错误" in r.text

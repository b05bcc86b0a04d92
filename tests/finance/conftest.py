"""Fixtures of the finance tests: a store with a till selling through the payment simulators (the shared hub
fixtures are in tests/conftest.py)."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from devices.sim import payments as sim
from hub.inventory import catalog
from hub.kernel import settings

WX_KEY = "192006250b4c09247ec02edce69f6a2d"
ALI_PID = "2088102177846630"


class Till:
    """The till's calls, as its screen makes them."""

    def __init__(self, client, auth, till_id: str = "T1"):
        self.client, self.auth, self.id = client, auth, till_id

    def call(self, method: str, path: str, body=None, role: str = "associate", status: int | None = 200):
        r = self.client.open(f"/api/v1/checkout{path}", method=method, json=body, headers=self.auth(role))
        if status is not None:
            assert r.status_code == status, (path, r.status_code, r.get_json())
        return r.get_json()

    def open_shift(self, float_minor: int = 20000, status: int = 201):
        return self.call("POST", f"/tills/{self.id}/shifts", {"float_minor": float_minor}, status=status)

    def cart(self, *codes: str) -> dict:
        c = self.call("POST", f"/tills/{self.id}/carts", {}, status=201)
        for code in codes:
            c = self.call("POST", f"/carts/{c['id']}/scan", {"code": code})
        return c

    def cash(self, cart_id: str, received_minor: int) -> dict:
        body = {"method": "cash", "idempotency_key": uuid.uuid4().hex, "received_minor": received_minor}
        return self.call("POST", f"/carts/{cart_id}/tenders", body)

    def card(self, cart_id: str, amount_minor: int) -> dict:
        body = {
            "method": "card",
            "idempotency_key": uuid.uuid4().hex,
            "amount_minor": amount_minor,
            "approval_code": "A1B2C3",
            "card_last4": "4242",
        }
        return self.call("POST", f"/carts/{cart_id}/tenders", body)

    def code(self, cart_id: str, auth_code: str) -> dict:
        body = {"auth_code": auth_code, "idempotency_key": uuid.uuid4().hex}
        return self.call("POST", f"/carts/{cart_id}/payment-code", body)


@pytest.fixture
def sims():
    app_priv, app_pub = sim.new_rsa_pair()
    ali_priv, ali_pub = sim.new_rsa_pair()
    wx = sim.WeChatPaySim(appid="wxd930ea5d5a258f4f", mch_id="10000100", api_key=WX_KEY, delay_s=1)
    ali = sim.AlipaySim(
        app_id="2016000000000001", app_public_key_pem=app_pub, private_key_pem=ali_priv, delay_s=1, pid=ALI_PID
    )
    servers = [sim.make_server(wx), sim.make_server(ali)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    wx_url, ali_url = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    config = {
        "wechatpay": {
            "appid": "wxd930ea5d5a258f4f",
            "mch_id": "10000100",
            "api_key": WX_KEY,
            "base_url": wx_url + "/",
            "timeout_s": 3,
            "wait_s": 2,
        },
        "alipay": {
            "app_id": "2016000000000001",
            "app_private_key": app_priv,
            "alipay_public_key": ali_pub,
            "gateway": ali_url + "/gateway.do",
            "timeout_s": 3,
            "wait_s": 2,
        },
    }
    yield {"config": config, "wx": wx, "ali": ali, "wx_url": wx_url, "ali_url": ali_url, "app_priv": app_priv}
    for s in servers:
        s.shutdown()


@pytest.fixture
def store(sample, hubctx, client, auth, sims):
    """The sample store selling cola (¥3.50, 13 % VAT) with cost, the hub pointed at the simulators and the
    merchant ids of the statements set; till T1 has an open shift with a ¥200 float."""
    with hubctx.db.write() as conn:
        catalog.create_item(
            conn,
            {
                "sku": "COLA-330",
                "name_en": "Cola 330ml",
                "name_zh": "可乐 330毫升",
                "unit": "each",
                "price_minor": 350,
                "cost_minor": 200,
                "gtins": ["6901234567892"],
                "category": "drinks",
            },
            actor="test",
        )
        settings.put(conn, "barcode_region", "CN")
        settings.put(conn, "finance.merchant_ids", {"wechatpay": "10000100", "alipay": ALI_PID})
    (hubctx.config.data_dir / "payments.json").write_text(json.dumps(sims["config"]))
    till = Till(client, auth)
    till.open_shift()
    return {"till": till, "sims": sims, **sample}

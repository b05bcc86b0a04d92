"""Local simulators of the payment-code providers' endpoints, speaking their documented wire formats and
signatures (docs/checkout.md, "Payment codes"; facts in tests/checkout/payment_protocols.md):

* WeChat Pay API v2: ``POST pay/micropay``, ``pay/orderquery``, ``secapi/pay/reverse``, ``secapi/pay/refund`` —
  XML bodies signed MD5 (or HMAC-SHA256) with the merchant's API key, answers signed the same way;
* Alipay open gateway: ``GET|POST /gateway.do`` with ``method`` ``alipay.trade.pay|query|cancel|refund`` —
  RSA2 requests checked with the app's public key, ``{"<method>_response": {...}, "sign": ...}`` answers signed
  over the raw response object with the simulator's ("Alipay's") private key.

The payment code's last four digits choose what the customer's side does, as a provider sandbox's magic values
would: ``0001`` user paying, paid after a query; ``0002`` system error (the money did move); ``0003`` insufficient
balance; ``0004`` timeout (the answer comes after ``delay_s``, nothing paid); ``0005`` paid but the answer comes
after ``delay_s`` (a hub killed meanwhile must find it); ``0006`` user paying and never confirming; anything else
paid at once. ``GET /_sim/trades`` shows every trade, its state, charges, reversals and refunds (for tests).

Daily statements (devices/sim/statements.py): WeChat ``pay/downloadbill`` (``bill_type=ALL``) answers the day's
bill text; Alipay ``alipay.data.dataservice.bill.downloadurl.query`` answers a URL on this server
(``/_sim/bill/<yyyy-mm-dd>.csv.zip``). Trades and refunds are stamped in China time, as the providers' bills are.

Stdlib only at import time (devices/ installs without the hub's stack); RSA comes from ``cryptography`` when the
Alipay simulator starts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")  # the providers stamp trades and bills in China time

SCENARIOS = {
    "0001": "user_paying",
    "0002": "system_error",
    "0003": "insufficient",
    "0004": "timeout",
    "0005": "slow_success",
    "0006": "never_confirms",
}


def scenario(auth_code: str) -> str:
    return SCENARIOS.get(auth_code[-4:], "success")


class Ledger:
    """The provider's side: trades by out_trade_no (thread-safe, shared by the request threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.trades: dict[str, dict[str, Any]] = {}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return json.loads(json.dumps(self.trades))


# --- WeChat Pay v2 ----------------------------------------------------------------------------------------------


def wx_sign(params: dict[str, str], key: str, sign_type: str = "MD5") -> str:
    """Non-empty params but ``sign``, ASCII-sorted ``k=v&…&key=<key>``; MD5 or HMAC-SHA256, hex upper."""
    text = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in ("", None))
    text += f"&key={key}"
    if sign_type == "HMAC-SHA256":
        return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text.encode()).hexdigest().upper()


def wx_xml(params: dict[str, str]) -> bytes:
    body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in params.items())
    return f"<xml>{body}</xml>".encode()


class WeChatPaySim:
    def __init__(self, *, appid: str, mch_id: str, api_key: str, delay_s: float = 5.0, fee_rate: str = "0.006"):
        self.appid, self.mch_id, self.api_key, self.delay_s = appid, mch_id, api_key, delay_s
        self.fee_rate = fee_rate  # the merchant's rate: the fee in the daily bill
        self.ledger = Ledger()

    def answer(self, path: str, raw: bytes) -> bytes:
        try:
            req = {el.tag: (el.text or "") for el in ET.fromstring(raw)}
        except ET.ParseError:
            return self._reply({"return_code": "FAIL", "return_msg": "XML_FORMAT_ERROR"}, sign=False)
        if req.get("sign") != wx_sign(req, self.api_key, req.get("sign_type", "MD5")):
            return self._reply({"return_code": "FAIL", "return_msg": "签名错误"}, sign=False)
        if req.get("mch_id") != self.mch_id or req.get("appid") != self.appid:
            return self._fail("APPID_MCHID_NOT_MATCH")
        handler = {
            "pay/micropay": self._micropay,
            "pay/orderquery": self._query,
            "secapi/pay/reverse": self._reverse,
            "secapi/pay/refund": self._refund,
            "pay/downloadbill": self._bill,
        }.get(path.strip("/"))
        if handler is None:
            return self._reply({"return_code": "FAIL", "return_msg": "not found"}, sign=False)
        return handler(req)

    def _reply(self, fields: dict[str, Any], sign: bool = True) -> bytes:
        out = {k: str(v) for k, v in fields.items()}
        if sign:
            out.update(appid=self.appid, mch_id=self.mch_id, nonce_str=secrets.token_hex(16))
            out["sign"] = wx_sign(out, self.api_key)
        return wx_xml(out)

    def _fail(self, code: str, **extra: Any) -> bytes:
        return self._reply(
            {"return_code": "SUCCESS", "result_code": "FAIL", "err_code": code, "err_code_des": code, **extra}
        )

    def _paid_fields(self, t: dict[str, Any]) -> dict[str, Any]:
        return {
            "return_code": "SUCCESS",
            "result_code": "SUCCESS",
            "openid": "oSIM" + t["out_trade_no"][-8:],
            "trade_type": "MICROPAY",
            "bank_type": "CFT",
            "fee_type": "CNY",
            "total_fee": t["total_fee"],
            "cash_fee": t["total_fee"],
            "transaction_id": t["transaction_id"],
            "out_trade_no": t["out_trade_no"],
            "time_end": t["time_end"],
            "is_subscribe": "N",
        }

    def _micropay(self, req: dict[str, str]) -> bytes:
        otn, code = req.get("out_trade_no", ""), req.get("auth_code", "")
        if not otn or not code or not req.get("total_fee", "").isdigit():
            return self._fail("LACK_PARAMS")
        kind = scenario(code)
        with self.ledger.lock:
            t = self.ledger.trades.get(otn)
            if t is not None:
                return self._fail("ORDERPAID" if t["state"] == "SUCCESS" else "OUT_TRADE_NO_USED")
            t = {
                "out_trade_no": otn,
                "auth_code": code,
                "scenario": kind,
                "total_fee": int(req["total_fee"]),
                "transaction_id": "4200" + datetime.now(CHINA).strftime("%Y%m%d") + secrets.token_hex(7)[:14],
                "time_end": datetime.now(CHINA).strftime("%Y%m%d%H%M%S"),
                "state": "NOTPAY",
                "charges": 0,
                "refunded": 0,
                "refunds": {},
                "queries": 0,
                "reversals": 0,
            }
            self.ledger.trades[otn] = t
            if kind in ("success", "system_error", "slow_success"):
                t["state"], t["charges"] = "SUCCESS", 1
            elif kind == "insufficient":
                t["state"] = "PAYERROR"
            elif kind in ("user_paying", "never_confirms"):
                t["state"] = "USERPAYING"
        if kind in ("timeout", "slow_success"):
            time.sleep(self.delay_s)
        if kind in ("success", "slow_success"):
            return self._reply(self._paid_fields(t))
        return self._fail(
            {"system_error": "SYSTEMERROR", "timeout": "SYSTEMERROR", "insufficient": "NOTENOUGH"}.get(
                kind, "USERPAYING"
            )
        )

    def _bill(self, req: dict[str, str]) -> bytes:
        """``pay/downloadbill``: the day's ALL bill as plain text (an error is XML, as WeChat answers)."""
        from devices.sim.statements import wechat_bill

        day = req.get("bill_date", "")
        if req.get("bill_type", "ALL") != "ALL" or len(day) != 8 or not day.isdigit():
            return self._reply({"return_code": "FAIL", "return_msg": "invalid bill_type or bill_date"}, sign=False)
        body = wechat_bill(self, f"{day[:4]}-{day[4:6]}-{day[6:]}", fee_rate=self.fee_rate)
        if body.count(b"\n") <= 3:
            return self._reply(
                {"return_code": "FAIL", "return_msg": "No Bill Exist", "error_code": "20002"}, sign=False
            )
        return body

    def _query(self, req: dict[str, str]) -> bytes:
        with self.ledger.lock:
            t = self.ledger.trades.get(req.get("out_trade_no", ""))
            if t is None:
                return self._fail("ORDERNOTEXIST")
            t["queries"] += 1
            if t["state"] == "USERPAYING" and t["scenario"] == "user_paying":
                t["state"], t["charges"] = "SUCCESS", 1  # the customer typed the password
            if t["state"] == "SUCCESS":
                return self._reply({**self._paid_fields(t), "trade_state": "REFUND" if t["refunded"] else "SUCCESS"})
            return self._reply(
                {
                    "return_code": "SUCCESS",
                    "result_code": "SUCCESS",
                    "out_trade_no": t["out_trade_no"],
                    "trade_state": t["state"],
                    "trade_state_desc": t["state"],
                }
            )

    def _reverse(self, req: dict[str, str]) -> bytes:
        with self.ledger.lock:
            t = self.ledger.trades.get(req.get("out_trade_no", ""))
            if t is None:
                return self._fail("ORDERNOTEXIST")
            t["reversals"] += 1
            if t["state"] == "SUCCESS":
                t["refunded"] = t["total_fee"]  # a paid order goes back to the customer
                t["reversed_at"] = datetime.now(CHINA).strftime("%Y%m%d%H%M%S")
            t["state"] = "REVOKED"
        return self._reply({"return_code": "SUCCESS", "result_code": "SUCCESS", "recall": "N"})

    def _refund(self, req: dict[str, str]) -> bytes:
        with self.ledger.lock:
            t = self.ledger.trades.get(req.get("out_trade_no", ""))
            if t is None:
                return self._fail("ORDERNOTEXIST")
            no, fee = req.get("out_refund_no", ""), int(req.get("refund_fee", "0") or 0)
            if no not in t["refunds"]:  # the same out_refund_no is refunded once
                if t["state"] != "SUCCESS" or t["refunded"] + fee > t["total_fee"] or fee <= 0:
                    return self._fail("INVALID_REQUEST")
                t["refunds"][no] = {
                    "refund_fee": fee,
                    "refund_id": "5030" + secrets.token_hex(7)[:14],
                    "at": datetime.now(CHINA).strftime("%Y%m%d%H%M%S"),
                }
                t["refunded"] += fee
            r = t["refunds"][no]
        return self._reply(
            {
                "return_code": "SUCCESS",
                "result_code": "SUCCESS",
                "out_trade_no": t["out_trade_no"],
                "transaction_id": t["transaction_id"],
                "out_refund_no": no,
                "refund_id": r["refund_id"],
                "refund_fee": r["refund_fee"],
                "total_fee": t["total_fee"],
            }
        )


# --- Alipay -----------------------------------------------------------------------------------------------------


def ali_sign_string(params: dict[str, str]) -> str:
    """Every parameter but ``sign``, sorted by key, ``k=v`` joined by ``&`` unencoded (what the app signed)."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign")


class AlipaySim:
    def __init__(
        self,
        *,
        app_id: str,
        app_public_key_pem: str,
        private_key_pem: str,
        delay_s: float = 5.0,
        pid: str = "2088102177846630",
        fee_rate: str = "0.006",
    ):
        from cryptography.hazmat.primitives import serialization

        self.pid, self.fee_rate = pid, fee_rate  # the merchant's account (账号 of the bill) and its rate
        self.base_url = ""  # set by make_server: where the bill download URL points

        self.app_id, self.delay_s = app_id, delay_s
        self.app_key = serialization.load_pem_public_key(app_public_key_pem.encode())
        self.key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        self.ledger = Ledger()

    def _verify(self, params: dict[str, str]) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            self.app_key.verify(
                base64.b64decode(params.get("sign", "")),
                ali_sign_string(params).encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            return True
        except (InvalidSignature, ValueError):
            return False

    def _respond(self, method: str, obj: dict[str, Any]) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        inner = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        sig = base64.b64encode(self.key.sign(inner.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
        return f'{{"{method.replace(".", "_")}_response":{inner},"sign":"{sig}"}}'.encode()

    def answer(self, params: dict[str, str]) -> bytes:
        method = params.get("method", "")
        if not self._verify(params):
            return self._respond(
                method,
                {
                    "code": "40002",
                    "msg": "Invalid Arguments",
                    "sub_code": "isv.invalid-signature",
                    "sub_msg": "验签出错",
                },
            )
        if params.get("app_id") != self.app_id:
            return self._respond(
                method, {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-app-id"}
            )
        biz = json.loads(params.get("biz_content") or "{}")
        handler = {
            "alipay.trade.pay": self._pay,
            "alipay.trade.query": self._query,
            "alipay.trade.cancel": self._cancel,
            "alipay.trade.refund": self._refund,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }.get(method)
        if handler is None:
            return self._respond(method, {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"})
        return self._respond(method, handler(biz))

    @staticmethod
    def _fail(sub: str, code: str = "40004") -> dict[str, Any]:
        return {
            "code": code,
            "msg": "Business Failed" if code == "40004" else "Service Currently Unavailable",
            "sub_code": sub,
            "sub_msg": sub,
        }

    @staticmethod
    def _paid(t: dict[str, Any]) -> dict[str, Any]:
        amount = f"{t['total_fee'] // 100}.{t['total_fee'] % 100:02d}"
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": t["trade_no"],
            "out_trade_no": t["out_trade_no"],
            "buyer_logon_id": "sim***@example.com",
            "total_amount": amount,
            "receipt_amount": amount,
            "buyer_pay_amount": amount,
            "gmt_payment": t["gmt_payment"],
            "fund_bill_list": [{"fund_channel": "ALIPAYACCOUNT", "amount": amount}],
        }

    def _pay(self, biz: dict[str, Any]) -> dict[str, Any]:
        otn, code = biz.get("out_trade_no", ""), biz.get("auth_code", "")
        if biz.get("scene") not in ("bar_code", "wave_code") or not otn or not code or "total_amount" not in biz:
            return self._fail("ACQ.INVALID_PARAMETER")
        kind = scenario(code)
        fee = round(float(biz["total_amount"]) * 100)
        with self.ledger.lock:
            t = self.ledger.trades.get(otn)
            if t is not None:
                return self._fail(
                    "ACQ.TRADE_HAS_SUCCESS" if t["state"] == "TRADE_SUCCESS" else "ACQ.CONTEXT_INCONSISTENT"
                )
            t = {
                "out_trade_no": otn,
                "auth_code": code,
                "scenario": kind,
                "total_fee": fee,
                "trade_no": datetime.now(CHINA).strftime("%Y%m%d") + "22001" + secrets.token_hex(8)[:15],
                "gmt_payment": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                "state": "WAIT_BUYER_PAY",
                "charges": 0,
                "refunded": 0,
                "refunds": {},
                "queries": 0,
                "reversals": 0,
                "paying": True,
            }
            self.ledger.trades[otn] = t
            if kind in ("success", "system_error", "slow_success"):
                t["state"], t["charges"] = "TRADE_SUCCESS", 1
            elif kind == "insufficient":
                t["state"] = "TRADE_CLOSED"
        if kind in ("timeout", "slow_success"):
            time.sleep(self.delay_s)
        if kind in ("success", "slow_success"):
            return self._paid(t)
        if kind == "insufficient":
            return self._fail("ACQ.BUYER_BALANCE_NOT_ENOUGH")
        if kind in ("system_error", "timeout"):
            return self._fail("isp.unknow-error", code="20000")
        return {**self._fail("ACQ.USER_PAYING", code="10003"), "msg": "Waiting Buyer Pay"}

    def _bill_url(self, biz: dict[str, Any]) -> dict[str, Any]:
        """The day's trade bill: a download URL (a ``csv.zip``); no trades that day is ``isp.bill_not_exist``."""
        day = str(biz.get("bill_date", ""))
        if biz.get("bill_type") != "trade" or len(day) != 10:
            return self._fail("isv.invalid-parameter", code="40004")
        if not any(
            t["charges"] and (t["gmt_payment"][:10] == day or t.get("refunds") or t.get("reversed_at"))
            for t in self.ledger.snapshot().values()
        ):
            return self._fail("isp.bill_not_exist")
        return {"code": "10000", "msg": "Success", "bill_download_url": f"{self.base_url}/_sim/bill/{day}.csv.zip"}

    def _query(self, biz: dict[str, Any]) -> dict[str, Any]:
        with self.ledger.lock:
            t = self.ledger.trades.get(biz.get("out_trade_no", ""))
            if t is None:
                return self._fail("ACQ.TRADE_NOT_EXIST")
            t["queries"] += 1
            if t["state"] == "WAIT_BUYER_PAY" and t["scenario"] == "user_paying":
                t["state"], t["charges"] = "TRADE_SUCCESS", 1
            if t["state"] == "TRADE_SUCCESS":
                return {**self._paid(t), "trade_status": "TRADE_SUCCESS"}
            return {
                "code": "10000",
                "msg": "Success",
                "trade_no": t["trade_no"],
                "out_trade_no": t["out_trade_no"],
                "trade_status": t["state"],
                "total_amount": f"{t['total_fee'] / 100:.2f}",
            }

    def _cancel(self, biz: dict[str, Any]) -> dict[str, Any]:
        with self.ledger.lock:
            t = self.ledger.trades.get(biz.get("out_trade_no", ""))
            if t is None:
                return self._fail("ACQ.TRADE_NOT_EXIST")
            t["reversals"] += 1
            action = "refund" if t["state"] == "TRADE_SUCCESS" else "close"
            if action == "refund":
                t["refunded"] = t["total_fee"]
                t["reversed_at"] = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")
            t["state"] = "TRADE_CLOSED"
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": t["trade_no"],
            "out_trade_no": t["out_trade_no"],
            "retry_flag": "N",
            "action": action,
        }

    def _refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        with self.ledger.lock:
            t = self.ledger.trades.get(biz.get("out_trade_no", ""))
            if t is None:
                return self._fail("ACQ.TRADE_NOT_EXIST")
            no = biz.get("out_request_no") or t["out_trade_no"]
            fee = round(float(biz.get("refund_amount", "0")) * 100)
            if no not in t["refunds"]:  # resending out_request_no is the idempotent retry
                if t["state"] != "TRADE_SUCCESS" or fee <= 0 or t["refunded"] + fee > t["total_fee"]:
                    return self._fail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
                t["refunds"][no] = {"refund_fee": fee, "at": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")}
                t["refunded"] += fee
                if t["refunded"] == t["total_fee"]:
                    t["state"] = "TRADE_CLOSED"  # fully refunded
            fund_change = "Y" if t["refunds"][no]["refund_fee"] else "N"
            return {
                "code": "10000",
                "msg": "Success",
                "trade_no": t["trade_no"],
                "out_trade_no": t["out_trade_no"],
                "fund_change": fund_change,
                "refund_fee": f"{t['refunded'] // 100}.{t['refunded'] % 100:02d}",
                "gmt_refund_pay": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
            }


# --- HTTP -------------------------------------------------------------------------------------------------------


def make_server(sim: WeChatPaySim | AlipaySim, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server for one simulator (port 0: any free port, see ``server.server_address``)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # noqa: A003 - http.server's name
            log.debug("%s " + fmt, self.address_string(), *args)

        def _send(self, body: bytes, ctype: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout scenario)
                pass

        def _gateway(self, params: dict[str, str]) -> None:
            self._send(sim.answer(params), "application/json;charset=utf-8")

        def do_GET(self):  # noqa: N802 - http.server's name
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/_sim/trades":
                return self._send(json.dumps(sim.ledger.snapshot()).encode(), "application/json")
            if isinstance(sim, AlipaySim) and url.path.startswith("/_sim/bill/") and url.path.endswith(".csv.zip"):
                from devices.sim.statements import alipay_bill_zip

                day = url.path[len("/_sim/bill/") : -len(".csv.zip")]
                return self._send(alipay_bill_zip(sim, day, fee_rate=sim.fee_rate), "application/zip")
            if isinstance(sim, AlipaySim) and url.path.endswith("gateway.do"):
                return self._gateway(dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)))
            self.send_error(404)

        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            url = urllib.parse.urlsplit(self.path)
            if isinstance(sim, AlipaySim):
                params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                params.update(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
                return self._gateway(params)
            self._send(sim.answer(url.path, raw), "text/xml;charset=utf-8")

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    if isinstance(sim, AlipaySim):
        sim.base_url = f"http://{host}:{server.server_address[1]}"
    return server


def new_rsa_pair() -> tuple[str, str]:
    """(private PEM, public PEM) of a fresh 2048-bit RSA key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    pub = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return priv, pub


def run(kind: str, host: str, port: int, hub_config: str | None, delay_s: float) -> None:
    """Serve one simulator; with ``hub_config``, write the matching merchant section into that
    ``payments.json`` (the hub's data directory) so a hub talks to this simulator."""
    from pathlib import Path

    if kind == "wechatpay":
        creds = {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "api_key": secrets.token_hex(16)}
        sim: WeChatPaySim | AlipaySim = WeChatPaySim(**creds, delay_s=delay_s)
    else:
        app_priv, app_pub = new_rsa_pair()
        ali_priv, ali_pub = new_rsa_pair()
        sim = AlipaySim(
            app_id="2016000000000001", app_public_key_pem=app_pub, private_key_pem=ali_priv, delay_s=delay_s
        )
        creds = {"app_id": "2016000000000001", "app_private_key": app_priv, "alipay_public_key": ali_pub}
    server = make_server(sim, host, port)
    base = f"http://{host}:{server.server_address[1]}"
    section = {**creds, **({"base_url": base + "/"} if kind == "wechatpay" else {"gateway": base + "/gateway.do"})}
    if hub_config:
        p = Path(hub_config)
        cfg = json.loads(p.read_text()) if p.exists() else {}
        cfg[kind] = section
        p.write_text(json.dumps(cfg, indent=1))
        p.chmod(0o600)
    log.info("%s simulator on %s (trades: %s/_sim/trades)", kind, base, base)
    print(f"{kind} simulator on {base}", flush=True)
    server.serve_forever()

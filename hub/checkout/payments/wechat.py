"""WeChat Pay API v2 through ``wechatpy`` (micropay, orderquery, reverse, refund; XML signed with the API key).

Imported only when a store uses WeChat Pay (``client.provider``): the SDK costs every web worker that imports it."""

from __future__ import annotations

from typing import Any

import requests
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay

from hub.checkout.payments.base import WX_FAILED, Answer, Unreachable, _never_sent


class WeChatPayProvider:
    """WeChat Pay API v2 through wechatpy (micropay is v2-only in mainland China, payments.md §1.10)."""

    name = "wechatpay"

    def __init__(self, cfg: dict[str, Any]):
        self.client = WeChatPay(
            appid=cfg["appid"],
            api_key=cfg["api_key"],
            mch_id=cfg["mch_id"],
            mch_cert=cfg.get("mch_cert"),
            mch_key=cfg.get("mch_key"),
            timeout=float(cfg.get("timeout_s", 10)),
        )
        self.client.API_BASE_URL = cfg.get("base_url", WeChatPay.API_BASE_URL).rstrip("/") + "/"
        self.client_ip = cfg.get("client_ip", "127.0.0.1")
        self.wait_s = float(cfg.get("wait_s", 45))

    def _call(self, fn, *args, **kwargs) -> dict[str, Any] | Answer:
        try:
            data = fn(*args, **kwargs)
        except WeChatPayException as exc:
            if exc.return_code != "SUCCESS":  # communication level: not processed (or a 5xx)
                status = "unknown" if exc.return_code is None else "failed"
                return Answer(status, error=exc.errcode or exc.return_msg or "http_error")
            code = exc.errcode or "UNKNOWN"
            if code == "USERPAYING":
                return Answer("paying", error=code)
            if code in WX_FAILED:
                return Answer("failed", error=code)
            if code == "ORDERNOTEXIST":
                return Answer("absent", error=code)
            return Answer("unknown", error=code)
        except requests.RequestException as exc:
            if _never_sent(exc):
                raise Unreachable(str(exc)) from exc
            return Answer("unknown", error="timeout" if isinstance(exc, requests.Timeout) else "connection_lost")
        if not isinstance(data, dict) or not self.client.check_signature(dict(data)):
            return Answer("unknown", error="bad_signature")  # never trust an unsigned "paid"
        return dict(data)

    def pay(self, out_trade_no: str, auth_code: str, amount_minor: int, subject: str) -> Answer:
        r = self._call(
            self.client.micropay.create,
            body=subject[:127],
            total_fee=amount_minor,
            auth_code=auth_code,
            client_ip=self.client_ip,
            out_trade_no=out_trade_no,
        )
        return r if isinstance(r, Answer) else Answer("paid", r.get("transaction_id"))

    def query(self, out_trade_no: str) -> Answer:
        r = self._call(self.client.micropay.query, out_trade_no=out_trade_no)
        if isinstance(r, Answer):
            return r
        state = r.get("trade_state")
        if state in ("SUCCESS", "REFUND"):
            return Answer("paid", r.get("transaction_id"))
        if state in ("USERPAYING", "NOTPAY"):
            return Answer("paying", error=state)
        return Answer("closed", r.get("transaction_id"), error=state)

    def reverse(self, out_trade_no: str) -> Answer:
        r = self._call(self.client.order.reverse, out_trade_no=out_trade_no)
        if isinstance(r, Answer):
            return r if r.status != "failed" or r.error not in ("ORDERNOTEXIST",) else Answer("done", error=r.error)
        return Answer("retry" if r.get("recall") == "Y" else "done")

    def refund(self, out_trade_no: str, out_refund_no: str, total_minor: int, refund_minor: int) -> Answer:
        r = self._call(
            self.client.refund.apply,
            total_fee=total_minor,
            refund_fee=refund_minor,
            out_refund_no=out_refund_no,
            out_trade_no=out_trade_no,
        )
        return r if isinstance(r, Answer) else Answer("paid", r.get("refund_id"))

"""Alipay 当面付 条码支付 through ``python-alipay-sdk`` (``alipay.trade.pay`` scene ``bar_code``, ``.query``,
``.cancel``, ``.refund``; RSA2 signed both ways).

Imported only when a store uses Alipay (``client.provider``): the SDK costs every web worker that imports it."""

from __future__ import annotations

import urllib.error
from typing import Any

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from hub.checkout.payments.base import ALI_UNKNOWN, Answer, Unreachable, _never_sent, yuan


class _Gateway(AliPay):
    """python-alipay-sdk with the gateway URL taken from the configuration (the SDK only knows the production
    and sandbox gateways; ``_gateway`` is the one attribute every request is built on)."""

    def __init__(self, gateway: str, timeout_s: float, **kwargs: Any):
        from alipay.utils import AliPayConfig

        super().__init__(config=AliPayConfig(timeout=timeout_s), **kwargs)
        self._gateway = gateway


class AlipayProvider:
    """Alipay 当面付 条码支付 through python-alipay-sdk (RSA2 requests, responses verified with Alipay's key)."""

    name = "alipay"

    def __init__(self, cfg: dict[str, Any]):
        self.client = _Gateway(
            cfg.get("gateway", "https://openapi.alipay.com/gateway.do"),
            float(cfg.get("timeout_s", 10)),
            appid=cfg["app_id"],
            app_private_key_string=cfg["app_private_key"],
            alipay_public_key_string=cfg["alipay_public_key"],
            sign_type="RSA2",
        )
        self.wait_s = float(cfg.get("wait_s", 45))

    def _call(self, fn, *args, **kwargs) -> dict[str, Any] | Answer:
        try:
            r = fn(*args, **kwargs)
        except AliPayValidationError:
            return Answer("unknown", error="bad_signature")
        except AliPayException as exc:
            return Answer("unknown", error=f"gateway_{exc.code}")
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            if _never_sent(exc) or isinstance(exc, ConnectionRefusedError):
                raise Unreachable(str(exc)) from exc
            return Answer("unknown", error="timeout")
        code, sub = str(r.get("code")), r.get("sub_code")
        if code == "10000":
            return dict(r)
        if code == "10003":
            return Answer("paying", error="10003")
        if code == "20000" or sub in ALI_UNKNOWN:
            return Answer("unknown", error=sub or code)
        if sub == "ACQ.TRADE_NOT_EXIST":
            return Answer("absent", error=sub)
        return Answer("failed", error=sub or code)

    def pay(self, out_trade_no: str, auth_code: str, amount_minor: int, subject: str) -> Answer:
        r = self._call(
            self.client.api_alipay_trade_pay,
            out_trade_no,
            "bar_code",
            auth_code,
            subject[:256],
            total_amount=yuan(amount_minor),
            product_code="FACE_TO_FACE_PAYMENT",
        )
        return r if isinstance(r, Answer) else Answer("paid", r.get("trade_no"))

    def query(self, out_trade_no: str) -> Answer:
        r = self._call(self.client.api_alipay_trade_query, out_trade_no=out_trade_no)
        if isinstance(r, Answer):
            return r
        status = r.get("trade_status")
        if status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            return Answer("paid", r.get("trade_no"))
        if status == "WAIT_BUYER_PAY":
            return Answer("paying", r.get("trade_no"), error=status)
        return Answer("closed", r.get("trade_no"), error=status)

    def reverse(self, out_trade_no: str) -> Answer:
        r = self._call(self.client.api_alipay_trade_cancel, out_trade_no=out_trade_no)
        if isinstance(r, Answer):
            return Answer("done", error=r.error) if r.status == "absent" else r
        return Answer("retry" if r.get("retry_flag") == "Y" else "done", error=r.get("action"))

    def refund(self, out_trade_no: str, out_refund_no: str, total_minor: int, refund_minor: int) -> Answer:
        r = self._call(
            self.client.api_alipay_trade_refund,
            yuan(refund_minor),
            out_trade_no=out_trade_no,
            out_request_no=out_refund_no,
        )
        return r if isinstance(r, Answer) else Answer("paid", r.get("trade_no"))

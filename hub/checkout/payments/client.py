"""The one module of the hub that talks to the payment providers. It speaks their documented protocols through
kept SDKs — ``wechatpy`` (WeChat Pay API v2: micropay, orderquery, reverse, refund; XML signed with the API key)
and ``python-alipay-sdk`` (``alipay.trade.pay`` scene ``bar_code``, ``.query``, ``.cancel``, ``.refund``; RSA2
signed both ways) — and turns every answer into one small :class:`Answer` the tender state machine understands.

Nothing here touches the database: the caller (``flow``) has committed the tender's state before it calls in.
Both SDKs are pointed at a configured base URL (the store's own endpoint, a provider's, or the local simulators
of ``storehub sim wechatpay|alipay``). A request that never reached the provider (connection refused, no route,
DNS) raises :class:`Unreachable` — safe to call a payment failed; a request that may have reached it (read
timeout, a connection cut mid-answer, a 5xx) is ``unknown`` and must be asked about again."""

from __future__ import annotations

import json
import socket
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay

from hub.kernel.errors import Unprocessable

CONFIG_FILE = "payments.json"

# WeChat Pay micropay err_code whose outcome is not known yet (query before deciding), payments.md §1.5.
WX_UNKNOWN = {"SYSTEMERROR", "BANKERROR"}
# Definite failures; anything else not listed is treated as unknown ("query, then decide").
WX_FAILED = {"PARAM_ERROR", "NOAUTH", "AUTHCODEEXPIRE", "NOTENOUGH", "NOTSUPORTCARD", "ORDERCLOSED", "ORDERREVERSED",
             "AUTH_CODE_ERROR", "AUTH_CODE_INVALID", "XML_FORMAT_ERROR", "REQUIRE_POST_METHOD", "SIGNERROR",
             "LACK_PARAMS", "NOT_UTF8", "APPID_NOT_EXIST", "MCHID_NOT_EXIST", "APPID_MCHID_NOT_MATCH",
             "OUT_TRADE_NO_USED", "BUYER_MISMATCH", "TRADE_ERROR"}
# Alipay 40004 sub_codes that leave the outcome open (payments.md §2.4).
ALI_UNKNOWN = {"ACQ.SYSTEM_ERROR", "ACQ.TRADE_HAS_SUCCESS"}


class Unreachable(Exception):
    """The provider's endpoint could not be reached: the request never left (the store has no internet)."""


@dataclass(frozen=True)
class Answer:
    """A provider's answer: ``paid``, ``paying`` (the customer is confirming on the phone), ``failed``,
    ``closed`` (the order exists but will never be paid), ``absent`` (the provider never heard of it),
    ``unknown`` (ask again); ``done``/``retry`` for a reverse; ``provider_ref`` is the provider's trade number."""

    status: str
    provider_ref: str | None = None
    error: str | None = None


def yuan(minor: int) -> str:
    """Alipay amounts are yuan with 2 decimals; the hub keeps fen."""
    return f"{minor // 100}.{minor % 100:02d}"


def load_config(data_dir: Path) -> dict[str, Any]:
    """The merchant credentials per provider from ``payments.json`` in the data directory ({} when absent)."""
    p = Path(data_dir) / CONFIG_FILE
    return dict(json.loads(p.read_text())) if p.exists() else {}


def _never_sent(exc: BaseException) -> bool:
    """True when a requests/urllib error means the request never reached the provider."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, NewConnectionError | ConnectTimeoutError)
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return isinstance(exc.reason, ConnectionRefusedError | socket.gaierror | OSError) and not isinstance(
            exc.reason, TimeoutError)
    return False


class WeChatPayProvider:
    """WeChat Pay API v2 through wechatpy (micropay is v2-only in mainland China, payments.md §1.10)."""

    name = "wechatpay"

    def __init__(self, cfg: dict[str, Any]):
        self.client = WeChatPay(appid=cfg["appid"], api_key=cfg["api_key"], mch_id=cfg["mch_id"],
                                mch_cert=cfg.get("mch_cert"), mch_key=cfg.get("mch_key"),
                                timeout=float(cfg.get("timeout_s", 10)))
        self.client.API_BASE_URL = cfg.get("base_url", WeChatPay.API_BASE_URL).rstrip("/") + "/"
        self.client_ip = cfg.get("client_ip", "127.0.0.1")
        self.wait_s = float(cfg.get("wait_s", 45))

    def _call(self, fn, *args, **kwargs) -> dict[str, Any] | Answer:
        try:
            data = fn(*args, **kwargs)
        except WeChatPayException as exc:
            if exc.return_code != "SUCCESS":           # communication level: not processed (or a 5xx)
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
            return Answer("unknown", error="bad_signature")       # never trust an unsigned "paid"
        return dict(data)

    def pay(self, out_trade_no: str, auth_code: str, amount_minor: int, subject: str) -> Answer:
        r = self._call(self.client.micropay.create, body=subject[:127], total_fee=amount_minor, auth_code=auth_code,
                       client_ip=self.client_ip, out_trade_no=out_trade_no)
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
        r = self._call(self.client.refund.apply, total_fee=total_minor, refund_fee=refund_minor,
                       out_refund_no=out_refund_no, out_trade_no=out_trade_no)
        return r if isinstance(r, Answer) else Answer("paid", r.get("refund_id"))


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
        self.client = _Gateway(cfg.get("gateway", "https://openapi.alipay.com/gateway.do"),
                               float(cfg.get("timeout_s", 10)), appid=cfg["app_id"],
                               app_private_key_string=cfg["app_private_key"],
                               alipay_public_key_string=cfg["alipay_public_key"], sign_type="RSA2")
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
        r = self._call(self.client.api_alipay_trade_pay, out_trade_no, "bar_code", auth_code, subject[:256],
                       total_amount=yuan(amount_minor), product_code="FACE_TO_FACE_PAYMENT")
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
        r = self._call(self.client.api_alipay_trade_refund, yuan(refund_minor), out_trade_no=out_trade_no,
                       out_request_no=out_refund_no)
        return r if isinstance(r, Answer) else Answer("paid", r.get("trade_no"))


Provider = WeChatPayProvider | AlipayProvider


def provider(config: dict[str, Any], name: str) -> Provider:
    """The configured provider ``name``; ``payment_not_configured`` (422) when the store has no merchant
    account for it."""
    cfg = config.get(name)
    if not cfg:
        raise Unprocessable(f"{name} is not set up on this hub (payments.json)", code="payment_not_configured",
                            details={"provider": name})
    return WeChatPayProvider(cfg) if name == "wechatpay" else AlipayProvider(cfg)

"""Fetch a provider's daily statement over its documented API, with the store's merchant credentials
(``payments.json``, the same section the till pays with; docs/finance.md "Statements"):

* WeChat Pay ``pay/downloadbill`` (``bill_type=ALL``) through ``wechatpy`` (``WeChatPay.tools.download_bill``:
  the request signed with the API key; the answer is the bill text, or an XML error);
* Alipay ``alipay.data.dataservice.bill.downloadurl.query`` (``bill_type=trade``) through ``python-alipay-sdk``
  (RSA2 both ways), then the ``csv.zip`` from the download URL it answers (valid 30 s).

No database here: the caller imports the bytes (``model.import_statement``) in its own transaction. The SDKs are
imported on use (a web worker that never fetches a statement never carries them)."""

from __future__ import annotations

from typing import Any

import requests

from hub.kernel.errors import Conflict, Unprocessable


def _config(config: dict[str, Any], provider: str) -> dict[str, Any]:
    cfg = config.get(provider)
    if not cfg:
        raise Unprocessable(
            f"{provider} is not set up on this hub (payments.json)",
            code="payment_not_configured",
            details={"provider": provider},
        )
    return dict(cfg)


class StatementUnavailable(Conflict):
    """The provider gave no statement (no bill that day, an error answer, not reachable)."""

    code = "statement_unavailable"

    def __init__(self, provider: str, why: str):
        super().__init__(f"{provider} gave no statement: {why}", details={"provider": provider, "reason": why})


def wechat_bill(config: dict[str, Any], bill_date: str) -> bytes:
    from wechatpy.exceptions import WeChatPayException
    from wechatpy.pay import WeChatPay

    cfg = _config(config, "wechatpay")
    client = WeChatPay(
        appid=cfg["appid"], api_key=cfg["api_key"], mch_id=cfg["mch_id"], timeout=float(cfg.get("timeout_s", 30))
    )
    client.API_BASE_URL = cfg.get("base_url", WeChatPay.API_BASE_URL).rstrip("/") + "/"
    try:
        text = client.tools.download_bill(bill_date.replace("-", ""), bill_type="ALL")
    except WeChatPayException as exc:
        raise StatementUnavailable("wechatpay", str(exc.return_msg or exc.errcode or "error")) from None
    except requests.RequestException as exc:
        raise StatementUnavailable("wechatpay", type(exc).__name__) from None
    if not isinstance(text, str):  # an XML answer that parsed: an error without a FAIL code
        raise StatementUnavailable("wechatpay", "the answer is not a bill")
    return text.encode("utf-8")


def alipay_bill(config: dict[str, Any], bill_date: str) -> bytes:
    import urllib.error

    from alipay import AliPay
    from alipay.exceptions import AliPayException, AliPayValidationError
    from alipay.utils import AliPayConfig

    cfg = _config(config, "alipay")
    timeout = float(cfg.get("timeout_s", 30))
    client = AliPay(
        appid=cfg["app_id"],
        app_private_key_string=cfg["app_private_key"],
        alipay_public_key_string=cfg["alipay_public_key"],
        sign_type="RSA2",
        config=AliPayConfig(timeout=timeout),
    )
    client._gateway = cfg.get("gateway", "https://openapi.alipay.com/gateway.do")  # the SDK's one gateway attribute
    method = "alipay.data.dataservice.bill.downloadurl.query"
    try:
        answer = client.verified_sync_response(
            client.build_body(method, {"bill_type": "trade", "bill_date": bill_date}),
            method.replace(".", "_") + "_response",
        )
    except AliPayValidationError:
        raise StatementUnavailable("alipay", "the answer's signature does not verify") from None
    except AliPayException as exc:
        raise StatementUnavailable("alipay", f"gateway {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise StatementUnavailable("alipay", type(exc).__name__) from None
    if answer.get("code") != "10000" or not answer.get("bill_download_url"):
        raise StatementUnavailable("alipay", str(answer.get("sub_code") or answer.get("code")))
    try:
        r = requests.get(answer["bill_download_url"], timeout=timeout)
        r.raise_for_status()
    except requests.RequestException as exc:
        raise StatementUnavailable("alipay", type(exc).__name__) from None
    return r.content


def statement(config: dict[str, Any], provider: str, bill_date: str) -> bytes:
    """The day's statement bytes as the provider serves them (then ``model.import_statement``)."""
    if provider == "wechatpay":
        return wechat_bill(config, bill_date)
    if provider == "alipay":
        return alipay_bill(config, bill_date)
    raise Unprocessable(
        f"unknown statement provider {provider!r}", code="statement_provider_unknown", details={"provider": provider}
    )

"""Nuonuo (诺诺) open API client: the ``InvoiceProvider`` for 数电发票 (docs/einvoice.md has the wire details).

* Token: ``POST <token_url>`` form ``client_id, client_secret, grant_type=client_credentials`` (a self-use app)
  → ``{"access_token", "expires_in"}``; kept until a minute before it expires, fetched again when the API says it
  is no longer valid.
* Calls: ``POST <api_url>/open/v1/services?senid=<32 hex>&nonce=<int>&timestamp=<s>&appkey=<appKey>`` with headers
  ``X-Nuonuo-Sign`` (base64 HMAC-SHA1 under the app secret of ``a=services&l=v1&p=open&k=<appKey>&i=<senid>
  &n=<nonce>&t=<timestamp>&f=<body>``), ``accessToken``, ``method``; the answer is ``{"code", "describe",
  "result"}``, ``E0000`` meaning success.
* Methods: ``nuonuo.ElectronInvoice.requestBillingNew`` (blue, ``invoiceType`` 1; red, ``invoiceType`` 2 against a
  confirmed form), ``nuonuo.ElectronInvoice.queryInvoiceResult``, ``nuonuo.OpeMplatform.saveInvoiceRedConfirm``
  (红字确认单申请; the same ``billId`` again returns the form already entered).

Money goes out in yuan with two decimals, computed from fen with integer arithmetic."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from sync.central.invoicing import (
    BlueOrder,
    InvoiceResult,
    Line,
    ProviderRefused,
    ProviderUnavailable,
    RedConfirm,
    RedOrder,
)

SERVICES_PATH = "/open/v1/services"
ISSUE = "nuonuo.ElectronInvoice.requestBillingNew"
QUERY = "nuonuo.ElectronInvoice.queryInvoiceResult"
RED_CONFIRM = "nuonuo.OpeMplatform.saveInvoiceRedConfirm"
OK = "E0000"
TOKEN_INVALID = "070301"  # accessToken 无效或已过期: fetch a new one and retry once
DONE, ISSUING = ("2",), ("20", "21")  # 开票完成 / 开票中, 签章中; 22 开票失败, 24 签章失败


def sign(app_secret: str, path: str, app_key: str, senid: str, nonce: str, timestamp: str, body: str) -> str:
    """X-Nuonuo-Sign: the path's segments p/l/a (``/open/v1/services`` → open, v1, services)."""
    p, v, a = [s for s in path.split("/") if s][:3]
    msg = f"a={a}&l={v}&p={p}&k={app_key}&i={senid}&n={nonce}&t={timestamp}&f={body}"
    return base64.b64encode(hmac.new(app_secret.encode(), msg.encode(), hashlib.sha1).digest()).decode()


def yuan(minor: int) -> str:
    sign_ = "-" if minor < 0 else ""
    return f"{sign_}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def fen(text: str) -> int:
    return int((Decimal(str(text)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _detail(ln: Line) -> dict[str, str]:
    num = Decimal(ln.qty)
    price = (Decimal(ln.amount_minor) / 100 / num).quantize(Decimal("0.00000001"), rounding=ROUND_HALF_UP)
    d = {
        "goodsName": ln.name[:90],
        "withTaxFlag": "1",
        "num": ln.qty,
        "price": format(abs(price), "f"),
        "taxIncludedAmount": yuan(ln.amount_minor),
        "taxRate": ln.tax_rate,
    }
    if ln.unit:
        d["unit"] = ln.unit
    if ln.item_code:
        d["goodsCode"] = ln.item_code
    return d


class NuonuoProvider:
    def __init__(
        self,
        api_url: str,
        app_key: str,
        app_secret: str,
        *,
        token_url: str | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ):
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url or f"{self.api_url}/accessToken"
        self.app_key = app_key
        self.app_secret = app_secret
        self.timeout = timeout
        self.http = session or requests.Session()
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    # --- transport ------------------------------------------------------------------------------------------------

    def _post(self, url: str, **kw) -> dict:
        try:
            resp = self.http.post(url, timeout=self.timeout, **kw)
        except requests.RequestException as exc:
            raise ProviderUnavailable("unreachable", str(exc)[:300]) from exc
        if resp.status_code >= 500:
            raise ProviderUnavailable(f"http_{resp.status_code}", resp.text[:300])
        try:
            out = resp.json()
        except ValueError as exc:
            raise ProviderUnavailable("bad_answer", resp.text[:300]) from exc
        if not isinstance(out, dict):
            raise ProviderUnavailable("bad_answer", resp.text[:300])
        return out

    def access_token(self, *, fresh: bool = False) -> str:
        with self._lock:
            if not fresh and self._token and self._token[1] > time.monotonic():
                return self._token[0]
            out = self._post(
                self.token_url,
                data={"client_id": self.app_key, "client_secret": self.app_secret, "grant_type": "client_credentials"},
            )
            if not out.get("access_token"):
                raise ProviderRefused(
                    str(out.get("error") or "token_refused"), str(out.get("error_description") or out)
                )
            ttl = float(out.get("expires_in") or 3600)
            self._token = (out["access_token"], time.monotonic() + max(ttl - 60, 1))
            return self._token[0]

    def call(self, method: str, content: dict) -> Any:
        """One API call; returns ``result`` of an ``E0000`` answer, raises ``ProviderRefused`` with the code."""
        for attempt in (0, 1):
            body = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
            senid, nonce, ts = (
                secrets.token_hex(16),
                str(secrets.randbelow(10**8 - 10**7) + 10**7),
                str(int(time.time())),
            )
            headers = {
                "Content-Type": "application/json",
                "X-Nuonuo-Sign": sign(self.app_secret, SERVICES_PATH, self.app_key, senid, nonce, ts, body),
                "accessToken": self.access_token(fresh=attempt == 1),
                "method": method,
            }
            out = self._post(
                self.api_url + SERVICES_PATH,
                params={"senid": senid, "nonce": nonce, "timestamp": ts, "appkey": self.app_key},
                data=body.encode(),
                headers=headers,
            )
            code = str(out.get("code") or "")
            if code == TOKEN_INVALID and attempt == 0:
                continue
            if code != OK:
                raise ProviderRefused(code or "no_code", str(out.get("describe") or ""))
            return out.get("result")
        raise AssertionError("unreachable")

    # --- InvoiceProvider ------------------------------------------------------------------------------------------

    def issue(self, order: BlueOrder) -> str:
        b, s = order.buyer, order.seller
        o = {
            "buyerName": b.name,
            "salerTaxNum": s.tax_id,
            "salerTel": s.phone,
            "salerAddress": s.address,
            "orderNo": order.order_no,
            "invoiceDate": order.invoice_date,
            "clerk": s.clerk,
            "invoiceType": "1",
            "invoiceLine": "pc",
            "pushMode": "-1",
            "invoiceDetail": [_detail(ln) for ln in order.lines],
        }
        if b.tax_id:
            o["buyerTaxNum"] = b.tax_id
        if b.email:
            o["email"] = b.email
        result = self.call(ISSUE, {"order": o})
        return str((result or {}).get("invoiceSerialNum") or "")

    def query(self, serial: str) -> InvoiceResult:
        result = self.call(QUERY, {"isOfferInvoiceDetail": "1", "serialNos": [serial]})
        rows = result if isinstance(result, list) else []
        row = next((r for r in rows if r.get("serialNo") == serial), None)
        if row is None:
            raise ProviderUnavailable("not_found", f"no result for {serial} yet")
        status = str(row.get("status") or "")
        if status in DONE:
            return InvoiceResult(
                "issued",
                serial,
                invoice_no=str(row.get("invoiceNo") or ""),
                invoice_code=str(row.get("invoiceCode") or ""),
                pdf_url=str(row.get("pdfUrl") or ""),
                ex_tax_minor=fen(row.get("exTaxAmount") or "0"),
                tax_minor=fen(row.get("taxAmount") or "0"),
                raw=row,
            )
        if status in ISSUING:
            return InvoiceResult("issuing", serial, raw=row)
        return InvoiceResult(
            "failed", serial, fail_cause=str(row.get("failCause") or row.get("statusMsg") or status), raw=row
        )

    def red_confirm(self, order: RedOrder) -> RedConfirm:
        content = {
            "billId": order.order_no,
            "blueInvoiceLine": "pc",
            "applySource": "0",  # 销方
            "blueInvoiceNumber": order.blue_invoice_no,
            "blueInvoiceCode": order.blue_invoice_code,
            "billTime": order.invoice_date,
            "sellerTaxNo": order.seller.tax_id,
            "redReason": order.reason,
            "detail": [_detail(ln) for ln in order.lines],
        }
        r = self.call(RED_CONFIRM, content) or {}
        return RedConfirm(str(r.get("billNo") or ""), str(r.get("billUuid") or ""), str(r.get("billStatus") or ""))

    def red_issue(self, order: RedOrder) -> str:
        s = order.seller
        o = {
            "buyerName": order.buyer.name,
            "salerTaxNum": s.tax_id,
            "salerTel": s.phone,
            "salerAddress": s.address,
            "orderNo": order.order_no,
            "invoiceDate": order.invoice_date,
            "clerk": s.clerk,
            "invoiceType": "2",
            "invoiceLine": "pc",
            "invoiceCode": order.blue_invoice_code,
            "invoiceNum": order.blue_invoice_no,
            "billInfoNo": order.confirm_no,
            "redReason": order.reason,
            "pushMode": "-1",
            "invoiceDetail": [_detail(ln) for ln in order.lines],
        }
        if order.buyer.tax_id:
            o["buyerTaxNum"] = order.buyer.tax_id
        result = self.call(ISSUE, {"order": o})
        return str((result or {}).get("invoiceSerialNum") or "")

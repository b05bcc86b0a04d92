"""A simulator of Nuonuo's open API over real HTTP (tests, the demo): ``python -m sync.central.invoicing.simulator``.

It speaks what ``nuonuo.py`` speaks, and checks it the way the platform does: the token endpoint hands out access
tokens for the configured appKey/appSecret; every ``POST /open/v1/services`` must carry a known token, a fresh
timestamp and a valid ``X-Nuonuo-Sign`` over the exact body (else ``{"code": "070314"}`` / ``"070301"``). Blue
invoices are idempotent by ``orderNo`` (the same order again answers the same serial), answer ``20`` 开票中 for
``pending_polls`` queries and then ``2`` with a PDF served at ``/pdf/<serial>.pdf``. Tax is computed from the
tax-inclusive amounts per line (200.00 at 0.13 → exTax 176.99, tax 23.01). A red invoice needs a confirmed
红字确认单 (``saveInvoiceRedConfirm``, status ``red_status``, 01 无需确认 by default) for the same blue invoice and
cannot take back more than is left of it.

Failure knobs: ``refuse_tax_nums`` (submission refused, code ``E9106``), ``fail_tax_nums`` (accepted, then status
``22`` 开票失败), ``delay_s`` (answers late: a client timeout), ``down`` (HTTP 503). Codes other than E0000 are the
simulator's choice where the public documents give none (docs/einvoice.md)."""

from __future__ import annotations

import argparse
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask import Flask, Response, abort, jsonify, request
from werkzeug.serving import make_server

from sync.central.invoicing.nuonuo import ISSUE, QUERY, RED_CONFIRM, SERVICES_PATH, fen, sign, yuan

BAD_SIGN, BAD_TOKEN = "070314", "070301"


def _err(code: str, describe: str):
    return jsonify({"code": code, "describe": describe, "result": None})


def line_tax(incl_minor: int, rate: str) -> tuple[int, int]:
    """(exTax, tax) in fen of a tax-inclusive amount: tax = incl × r / (1 + r), rounded half up to the fen."""
    r = Decimal(rate)
    tax = int((Decimal(incl_minor) * r / (1 + r)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return incl_minor - tax, tax


@dataclass
class Simulator:
    app_key: str = "sim-app-key"
    app_secret: str = "sim-app-secret"
    pending_polls: int = 1
    red_status: str = "01"
    refuse_tax_nums: set[str] = field(default_factory=set)
    fail_tax_nums: set[str] = field(default_factory=set)
    delay_s: float = 0.0
    down: bool = False
    host: str = "127.0.0.1"
    port: int = 0
    tokens: set[str] = field(default_factory=set)
    invoices: dict[str, dict] = field(default_factory=dict)  # serial -> invoice
    by_order: dict[str, str] = field(default_factory=dict)  # orderNo -> serial
    red_forms: dict[str, dict] = field(default_factory=dict)  # billId -> form
    calls: list[str] = field(default_factory=list)  # methods called, in order
    refused: list[str] = field(default_factory=list)  # codes answered other than E0000

    def __post_init__(self):
        self.lock = threading.Lock()
        self.app = self._build()
        self._server = None
        self._thread: threading.Thread | None = None

    # --- serving --------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Simulator:
        self._server = make_server(self.host, self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="nuonuo-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- the API --------------------------------------------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("nuonuo_sim")

        @app.before_request
        def _slow_or_down():
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.down:
                abort(503)

        @app.post("/accessToken")
        def token():
            f = request.form
            if f.get("grant_type") != "client_credentials":
                return jsonify({"error": "unsupported_grant_type", "error_description": "grant_type"}), 400
            if f.get("client_id") != self.app_key or not hmac.compare_digest(
                f.get("client_secret", ""), self.app_secret
            ):
                return jsonify({"error": "invalid_client", "error_description": "client_id/client_secret"}), 401
            tok = secrets.token_hex(16)
            self.tokens.add(tok)
            return jsonify({"access_token": tok, "expires_in": 86400})

        @app.post(SERVICES_PATH)
        def services():
            body = request.get_data(as_text=True)
            q = request.args
            senid, nonce, ts, appkey = (q.get(k, "") for k in ("senid", "nonce", "timestamp", "appkey"))
            if appkey != self.app_key or not (senid and nonce and ts.isdigit()):
                return self._refuse(BAD_SIGN, "公共参数缺失或appkey错误")
            if abs(time.time() - int(ts)) > 600:
                return self._refuse(BAD_SIGN, "时间戳已过期")
            want = sign(self.app_secret, SERVICES_PATH, appkey, senid, nonce, ts, body)
            if not hmac.compare_digest(request.headers.get("X-Nuonuo-Sign", ""), want):
                return self._refuse(BAD_SIGN, "签名验证失败")
            if request.headers.get("accessToken") not in self.tokens:
                return self._refuse(BAD_TOKEN, "accessToken无效")
            try:
                content = json.loads(body)
            except ValueError:
                return self._refuse("E9001", "请求体不是JSON")
            method = request.headers.get("method", "")
            self.calls.append(method)
            with self.lock:
                if method == ISSUE:
                    return self._issue(content.get("order") or {})
                if method == QUERY:
                    return self._query(content)
                if method == RED_CONFIRM:
                    return self._red_confirm(content)
            return self._refuse("E9002", f"未知方法 {method}")

        @app.get("/pdf/<serial>.pdf")
        def pdf(serial: str):
            inv = self.invoices.get(serial)
            if inv is None or inv["status"] != "2":
                abort(404)
            return Response(_pdf(inv), mimetype="application/pdf")

        return app

    def _refuse(self, code: str, describe: str):
        self.refused.append(code)
        return _err(code, describe)

    def _issue(self, o: dict):
        kind = str(o.get("invoiceType") or "1")
        order_no = str(o.get("orderNo") or "")
        if not order_no or not o.get("buyerName") or not o.get("salerTaxNum"):
            return self._refuse("E9101", "orderNo、buyerName、salerTaxNum必填")
        if order_no in self.by_order:  # the same order again: the same invoice
            return jsonify(
                {"code": "E0000", "describe": "开票提交成功", "result": {"invoiceSerialNum": self.by_order[order_no]}}
            )
        buyer_tax = str(o.get("buyerTaxNum") or "")
        if buyer_tax in self.refuse_tax_nums:
            return self._refuse("E9106", f"购方税号{buyer_tax}校验不通过")
        try:
            lines = []
            for d in o.get("invoiceDetail") or []:
                incl = (
                    fen(d["taxIncludedAmount"])
                    if d.get("taxIncludedAmount")
                    else fen(str(Decimal(d["price"]) * Decimal(d["num"])))
                )
                if d.get("withTaxFlag") != "1":
                    raise ValueError("withTaxFlag")
                ex, tax = line_tax(incl, str(d["taxRate"]))
                lines.append(
                    {
                        "goodsName": d["goodsName"],
                        "num": d["num"],
                        "taxRate": d["taxRate"],
                        "incl": incl,
                        "ex": ex,
                        "tax": tax,
                    }
                )
        except (KeyError, ValueError, ArithmeticError):
            return self._refuse("E9102", "明细金额或税率不合法")
        if not lines:
            return self._refuse("E9102", "明细不能为空")
        total = sum(x["incl"] for x in lines)
        blue, form = None, None
        if kind == "2":
            blue = next(
                (i for i in self.invoices.values() if i["invoiceNo"] == o.get("invoiceNum") and i["kind"] == "1"), None
            )
            form = next((f for f in self.red_forms.values() if f["billNo"] == o.get("billInfoNo")), None)
            if blue is None:
                return self._refuse("E9201", "原蓝票不存在")
            if form is None or form["blue"] != blue["serialNo"] or form["status"] not in ("01", "04"):
                return self._refuse("E9202", "红字确认单不存在或未确认")
            if form.get("used"):
                return self._refuse("E9203", "红字确认单已使用")
            if total >= 0 or -total > blue["left"]:
                return self._refuse("E9204", "红冲金额超出蓝票可冲红金额")
        elif total <= 0:
            return self._refuse("E9102", "蓝票金额必须为正")
        serial = f"SIM{len(self.invoices) + 1:06d}{secrets.token_hex(4)}"
        self.invoices[serial] = {
            "serialNo": serial,
            "orderNo": order_no,
            "kind": kind,
            "buyerName": o["buyerName"],
            "buyerTaxNum": buyer_tax,
            "lines": lines,
            "total": total,
            "left": total,
            "polls": self.pending_polls,
            "status": "20",
            "fail": buyer_tax in self.fail_tax_nums,
            "invoiceNo": "",
            "billInfoNo": str(o.get("billInfoNo") or ""),
        }
        if blue is not None and form is not None:
            blue["left"] += total  # total is negative
            form["used"] = True
        self.by_order[order_no] = serial
        return jsonify({"code": "E0000", "describe": "开票提交成功", "result": {"invoiceSerialNum": serial}})

    def _query(self, content: dict):
        out = []
        serials = list(content.get("serialNos") or []) + [
            self.by_order[n] for n in content.get("orderNos") or [] if n in self.by_order
        ]
        for serial in serials:
            inv = self.invoices.get(serial)
            if inv is None:
                continue
            if inv["status"] == "20":
                if inv["polls"] > 0:
                    inv["polls"] -= 1
                elif inv["fail"]:
                    inv["status"] = "22"
                else:
                    inv["status"] = "2"
                    inv["invoiceNo"] = (
                        f"{26000000000000000000 + len([i for i in self.invoices.values() if i['invoiceNo']]) + 1}"
                    )
            row = {
                "serialNo": serial,
                "orderNo": inv["orderNo"],
                "status": inv["status"],
                "statusMsg": {"20": "开票中", "2": "开票完成", "22": "开票失败"}[inv["status"]],
                "failCause": "购方税号与名称不匹配" if inv["status"] == "22" else "",
                "invoiceType": inv["kind"],
                "invoiceKind": "电子发票(普通发票)",
                "buyerName": inv["buyerName"],
                "buyerTaxNum": inv["buyerTaxNum"],
            }
            if inv["status"] == "2":
                row.update(
                    {
                        "invoiceCode": "",
                        "invoiceNo": inv["invoiceNo"],
                        "pdfUrl": f"{self.url}/pdf/{serial}.pdf",
                        "orderAmount": yuan(inv["total"]),
                        "exTaxAmount": yuan(sum(x["ex"] for x in inv["lines"])),
                        "taxAmount": yuan(sum(x["tax"] for x in inv["lines"])),
                        "invoiceItems": [
                            {
                                "itemName": x["goodsName"],
                                "itemNum": x["num"],
                                "itemTaxRate": x["taxRate"],
                                "itemAmount": yuan(x["ex"]),
                                "itemTaxAmount": yuan(x["tax"]),
                            }
                            for x in inv["lines"]
                        ],
                    }
                )
            out.append(row)
        return jsonify({"code": "E0000", "describe": "获取成功", "result": out})

    def _red_confirm(self, c: dict):
        bill_id = str(c.get("billId") or "")
        if bill_id in self.red_forms:
            f = self.red_forms[bill_id]
        else:
            blue = next(
                (i for i in self.invoices.values() if i["invoiceNo"] and i["invoiceNo"] == c.get("blueInvoiceNumber")),
                None,
            )
            if not bill_id or blue is None or blue["status"] != "2":
                return self._refuse("E9201", "原蓝票不存在或未开具完成")
            if str(c.get("redReason") or "") not in ("01", "02", "03", "04"):
                return self._refuse("E9205", "冲红原因不合法")
            f = {
                "billId": bill_id,
                "billNo": f"HZ{len(self.red_forms) + 1:018d}",
                "billUuid": secrets.token_hex(16),
                "status": self.red_status,
                "blue": blue["serialNo"],
                "used": False,
            }
            self.red_forms[bill_id] = f
        return jsonify(
            {
                "code": "E0000",
                "describe": "申请成功",
                "result": {"billNo": f["billNo"], "billUuid": f["billUuid"], "billStatus": f["status"]},
            }
        )


def _pdf(inv: dict) -> bytes:
    """A one-page PDF saying which invoice it is (enough for a link to return a real document)."""
    text = f"SIMULATED INVOICE {inv['invoiceNo']} {yuan(inv['total'])}".encode("latin-1", "replace")
    stream = b"BT /F1 14 Tf 40 780 Td (" + text + b") Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, o in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + o + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Nuonuo open API simulator (e-invoices)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--app-key", default="sim-app-key")
    ap.add_argument("--app-secret", default="sim-app-secret")
    a = ap.parse_args(argv)
    sim = Simulator(app_key=a.app_key, app_secret=a.app_secret, host=a.host, port=a.port).start()
    print(f"nuonuo simulator on {sim.url} (appKey {a.app_key})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sim.stop()


if __name__ == "__main__":
    main()

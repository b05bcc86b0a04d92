"""Receipts, return slips, Z reports and no-sale kicks as ``receipt`` documents for the printer agent.

Queued with ``hub.bus.commands.send_command`` inside the caller's transaction (the sale and its print request
land together; the bus process publishes it and records the printer's answer — a printer out of paper leaves
the request failed and flagged, the sale is already committed). The hub composes every word in the store's
language (``hub.orders.printing.Store``: name, time zone, footer); the agent fits it to its paper. A cash
tender sets ``open_drawer``: the agent follows the cut with the ESC/POS drawer pulse (``ESC p``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.bus import commands
from hub.finance import einvoice
from hub.orders.printing import Store
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

MAX_LINE = 200
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "till": "Till {till}  Receipt {no}",
        "copy": "*** COPY ***",
        "return": "RETURN",
        "tax": "incl. VAT {rate}",
        "cash": "Cash",
        "card": "Card",
        "wechatpay": "WeChat Pay",
        "alipay": "Alipay",
        "card_terminal": "Card",
        "points": "Points",
        "points_n": "{n} pts",
        "auth": "Auth {code}",
        "batch": "Batch {batch} Ref {ref}",
        "points_burnt": "Points burnt",
        "rounding": "Rounding",
        "refund": "Refund",
        "z": "Z REPORT {n}",
        "x": "X REPORT",
        "no_sale": "NO SALE",
        "sales": "Sales",
        "returns": "Returns",
        "net": "Net sales",
        "discounts": "Discounts",
        "cash_expected": "Cash expected",
        "receipts": "Receipts {a}-{b}",
        "date": "Business day {d}",
        "weight": "{kg} kg @ {price}/kg",
        "approved": "Approved by {who}",
        "return_of": "Return of {code}",
        "reason": "Reason: {reason}",
    },
    "zh-CN": {
        "till": "收银台 {till}  小票 {no}",
        "copy": "*** 重印副本 ***",
        "return": "退货",
        "tax": "含增值税 {rate}",
        "cash": "现金",
        "card": "银行卡",
        "wechatpay": "微信支付",
        "alipay": "支付宝",
        "card_terminal": "银行卡",
        "points": "积分",
        "points_n": "{n} 积分",
        "auth": "授权码 {code}",
        "batch": "批次 {batch} 参考号 {ref}",
        "points_burnt": "积分抵扣",
        "rounding": "抹零/舍入",
        "refund": "退款",
        "z": "Z 日结报表 {n}",
        "x": "X 报表",
        "no_sale": "开钱箱（无销售）",
        "sales": "销售",
        "returns": "退货",
        "net": "净销售额",
        "discounts": "优惠",
        "cash_expected": "应有现金",
        "receipts": "小票 {a}-{b}",
        "date": "营业日 {d}",
        "weight": "{kg} 公斤 @ {price}/公斤",
        "approved": "授权人 {who}",
        "return_of": "原小票 {code}",
        "reason": "原因：{reason}",
    },
}


def word(store: Store, key: str, **kw: Any) -> str:
    return WORDS.get(store.language, WORDS["en"])[key].format(**kw)[:MAX_LINE]


TENDER_WORDS = ("cash", "card", "wechatpay", "alipay", "card_terminal", "points")


def tender_label(store: Store, t: dict[str, Any]) -> str:
    """A tender's name on a receipt: the method, plus the card's scheme and last 4 and the approval code for a
    card, or the points burnt for points."""
    m = t["method"]
    label = word(store, m) if m in TENDER_WORDS else m
    if t.get("card_last4"):
        label += f" {t.get('card_scheme') or ''} ****{t['card_last4']}".replace("  ", " ")
        if t.get("approval_code"):
            label += " " + word(store, "auth", code=t["approval_code"])
    if m == "points" and t.get("points"):
        label += f" ({word(store, 'points_n', n=t['points'])})"
    return label[:MAX_LINE]


def _name(line: dict[str, Any], store: Store) -> str:
    names = (
        (line.get("name_zh"), line.get("name_en"))
        if store.language == "zh-CN"
        else (line.get("name_en"), line.get("name_zh"))
    )
    return (next((n for n in names if n), None) or line["sku"])[:MAX_LINE]


def _money(store: Store, minor: int, currency: str) -> str:
    return store.money(minor, currency).split(" ", 1)[-1]


def sale_document(sale: dict[str, Any], store: Store, currency: str, *, copy: bool = False) -> dict[str, Any]:
    """The customer's receipt of a committed sale (``sale`` is its journal body)."""
    lines: list[dict[str, Any]] = []
    for ln in sale["lines"]:
        name = _name(ln, store)
        if ln["weighed"]:
            per_kg = ln.get("unit_price_minor")
            detail = (
                word(store, "weight", kg=f"{ln['qty'] / 1000:.3f}", price=_money(store, per_kg, currency))
                if per_kg is not None
                else f"{ln['qty']} g"
            )
            lines.append({"name": f"{name} {detail}"[:MAX_LINE], "amount_minor": ln["gross_minor"]})
        else:
            lines.append({"name": name, "qty": ln["qty"], "amount_minor": ln["gross_minor"]})
        for d in ln["discounts"]:
            label = d["name"].get(store.language) or d["name"].get("en") or d["promotion"]
            lines.append({"name": f"  - {label}"[:MAX_LINE], "amount_minor": -d["discount_minor"]})
        if ln["manual_discount_minor"]:
            lines.append(
                {
                    "name": f"  - {ln.get('discount_reason') or ''}"[:MAX_LINE],
                    "amount_minor": -ln["manual_discount_minor"],
                }
            )
    footer = [f"{word(store, 'tax', rate=t['rate'])}: {_money(store, t['tax_minor'], currency)}" for t in sale["tax"]]
    if sale["rounding_minor"]:
        footer.append(f"{word(store, 'rounding')}: {_money(store, sale['rounding_minor'], currency)}")
    for t in sale["tenders"]:
        footer.append(f"{tender_label(store, t)}: {_money(store, t['amount_minor'], currency)}"[:MAX_LINE])
        if t.get("terminal_batch"):
            footer.append(word(store, "batch", batch=t["terminal_batch"], ref=t.get("provider_ref") or ""))
    footer += store.footer_lines()
    header = [word(store, "till", till=sale["till_id"], no=sale["receipt_no"])]
    if copy:
        header.insert(0, word(store, "copy"))
    doc: dict[str, Any] = {
        "type": "receipt",
        "lang": store.language,
        "store_name": store.name[:MAX_LINE],
        "header": header,
        "cashier": sale["cashier_name"][:MAX_LINE],
        "ts": store.local_time(sale["ts"]),
        "lines": lines[:300],
        "total_minor": sale["total_minor"] + sale["rounding_minor"],
        "currency": currency,
        "paid_minor": sum(t["amount_minor"] + t["change_minor"] for t in sale["tenders"]),
        "change_minor": sum(t["change_minor"] for t in sale["tenders"]),
        "footer": footer[:50],
        "barcode": {"symbology": "code128", "value": sale["receipt_code"]},
        "open_drawer": (not copy) and any(t["method"] == "cash" for t in sale["tenders"]),
    }
    return doc


def return_document(ret: dict[str, Any], store: Store, currency: str) -> dict[str, Any]:
    lines = [
        {
            "name": f"{_name(ln, store)}",
            "qty": ln["qty"] if not ln["weighed"] else 1,
            "amount_minor": -ln["refund_minor"],
        }
        for ln in ret["lines"]
    ]
    footer = [word(store, "return_of", code=ret["original_receipt_code"])]
    footer += [word(store, "reason", reason=r) for r in sorted({ln["reason"] for ln in ret["lines"] if ln["reason"]})]
    if ret["rounding_minor"]:
        footer.append(f"{word(store, 'rounding')}: {_money(store, -ret['rounding_minor'], currency)}")
    for t in ret["tenders"]:
        footer.append(f"{word(store, 'refund')} {tender_label(store, t)}: {_money(store, t['amount_minor'], currency)}")
    if ret.get("approved_by_name"):
        footer.append(word(store, "approved", who=ret["approved_by_name"]))
    return {
        "type": "receipt",
        "lang": store.language,
        "store_name": store.name[:MAX_LINE],
        "header": [word(store, "return"), word(store, "till", till=ret["till_id"], no=ret["receipt_no"])],
        "cashier": ret["cashier_name"][:MAX_LINE],
        "ts": store.local_time(ret["ts"]),
        "lines": lines,
        "total_minor": -ret["refund_minor"] - ret["rounding_minor"],
        "currency": currency,
        "footer": footer[:50],
        "barcode": {"symbology": "code128", "value": ret["receipt_code"]},
        "open_drawer": any(t["method"] == "cash" for t in ret["tenders"]),
    }


def report_document(kind: str, report: dict[str, Any], store: Store, currency: str) -> dict[str, Any]:
    """An X or Z report slip (totals by tender, tax per rate, cash expected)."""
    t = report["totals"]
    title = word(store, "z", n=report["z_number"]) if kind == "z" else word(store, "x")
    lines = [
        {"name": word(store, "sales"), "qty": t["sales"], "amount_minor": t["gross_sales_minor"]},
        {"name": word(store, "discounts"), "amount_minor": -t["discount_minor"]},
        {"name": word(store, "returns"), "qty": t["returns"], "amount_minor": -t["refunds_minor"]},
        {"name": word(store, "rounding"), "amount_minor": t["rounding_minor"]},
    ]
    lines += [
        {"name": word(store, m) if m in TENDER_WORDS else m, "amount_minor": v} for m, v in sorted(t["tenders"].items())
    ]
    if t.get("points_burnt"):
        lines.append({"name": word(store, "points_burnt"), "qty": t["points_burnt"], "amount_minor": 0})
    footer = [word(store, "date", d=report["business_date"])]
    if report.get("first_receipt_no") is not None:
        footer.append(word(store, "receipts", a=report["first_receipt_no"], b=report["last_receipt_no"]))
    footer += [f"{word(store, 'tax', rate=x['rate'])}: {_money(store, x['tax_minor'], currency)}" for x in t["tax"]]
    footer.append(f"{word(store, 'cash_expected')}: {_money(store, t['cash_expected_minor'], currency)}")
    return {
        "type": "receipt",
        "lang": store.language,
        "store_name": store.name[:MAX_LINE],
        "header": [title, f"{report['till_id']}"],
        "ts": store.local_time(report["ts"]),
        "lines": lines,
        "total_minor": t["net_sales_minor"] - t["refunds_minor"],
        "currency": currency,
        "footer": footer[:50],
    }


def no_sale_document(till_id: str, reason: str, who: str, ts: str, store: Store, currency: str) -> dict[str, Any]:
    return {
        "type": "receipt",
        "lang": store.language,
        "store_name": store.name[:MAX_LINE],
        "header": [word(store, "no_sale"), till_id],
        "ts": store.local_time(ts),
        "cashier": who[:MAX_LINE],
        "lines": [{"name": word(store, "reason", reason=reason), "amount_minor": 0}],
        "total_minor": 0,
        "currency": currency,
        "open_drawer": True,
    }


def queue(
    conn: sqlite3.Connection,
    *,
    printer: str | None,
    till_id: str,
    document: str,
    body: dict[str, Any],
    actor: str,
    device: str | None = None,
    sale_id: str | None = None,
) -> dict[str, Any] | None:
    """Send ``body`` to the till's printer in the caller's transaction; None when the till has no printer."""
    if not printer:
        return None
    if document in ("receipt", "receipt_copy") and body.get("barcode"):
        link = einvoice.receipt_link(conn, body["barcode"]["value"])  # the e-invoice QR (docs/einvoice.md)
        if link:
            body = {**body, "qr": link}
    request_id = new_id()
    commands.send_command(conn, printer, "print", {"document": body}, actor=actor, device=device, request_id=request_id)
    conn.execute(
        "INSERT INTO checkout_print_jobs(request_id, sale_id, till_id, document, device_id, created_by,"
        " created_at) VALUES (?,?,?,?,?,?,?)",
        (request_id, sale_id, till_id, document, printer, actor, now_iso()),
    )
    return {"request_id": request_id, "document": document, "device_id": printer}


def jobs_for(conn: sqlite3.Connection, sale_id: str) -> list[dict[str, Any]]:
    """The print requests of a sale with the printer's answer (a failed one is flagged for a reprint)."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT j.request_id, j.document, j.device_id, j.created_at, c.status, c.error FROM checkout_print_jobs j"
            " LEFT JOIN device_commands c ON c.request_id = j.request_id WHERE j.sale_id = ? ORDER BY j.created_at",
            (sale_id,),
        )
    ]

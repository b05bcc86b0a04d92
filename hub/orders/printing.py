"""Pack labels and customer receipts, printed by the printer agent through ``cmd/print``.

The documents are queued with ``hub.bus.commands.send_command`` inside the
caller's transaction (the order's change and its print request land together);
the bus process publishes them and records the printer's answer.

Localisation is done here, not on the agent: the hub knows the store (its name, language, time zone and
receipt footer are settings) and composes every word it sends in the store's language, names the language
(``lang``) for the few fixed labels the agent's layouts print, and sends times as the store's local time with
the offset. The agent, which alone knows its paper, fits all of it to the columns (docs/devices.md)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from hub.bus import commands
from hub.kernel import outbox, settings
from hub.kernel.errors import Unprocessable
from hub.orders import model, policy
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso, parse_iso

DOCUMENTS = ("pack_label", "receipt")
MAX_LINE = 200  # a document line's limit (devices.printer.documents); the agent wraps it

# The words the hub puts on paper, per store language (the agent prints its own labels from ``lang``).
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "collect": "Collect at {store}",
        "tel": "Tel {phone}",
        "refund": "Refund due: {amount}",
        "pickup": "pickup",
        "delivery": "delivery",
        "web": "web",
        "app": "app",
        "phone": "phone",
        "in_store": "in store",
    },
    "zh-CN": {
        "collect": "到店自提：{store}",
        "tel": "电话 {phone}",
        "refund": "应退款：{amount}",
        "pickup": "自提",
        "delivery": "配送",
        "web": "网店",
        "app": "App",
        "phone": "电话订购",
        "in_store": "门店",
    },
}


@dataclass(frozen=True)
class Store:
    """What a printed document says about the store: the settings of the same names."""

    name: str
    language: str = "en"
    timezone: str = "UTC"
    footer: str = ""
    currency_exponent: int = 2

    @classmethod
    def from_settings(cls, conn: sqlite3.Connection) -> Store:
        return cls(
            name=settings.get(conn, "store_name"),
            language=settings.get(conn, "language"),
            timezone=settings.get(conn, "timezone"),
            footer=settings.get(conn, "receipt_footer"),
            currency_exponent=settings.get(conn, "currency_exponent"),
        )

    def text(self, key: str, **kw: str) -> str:
        words = TEXT.get(self.language, TEXT["en"])
        return words.get(key, key).format(**kw)

    def local_time(self, ts: str) -> str:
        """A stored UTC time as the store's wall clock with its offset (``2026-03-02T06:05:07+08:00``)."""
        return parse_iso(ts).astimezone(ZoneInfo(self.timezone)).isoformat(timespec="seconds")

    def money(self, minor: int, currency: str) -> str:
        exp = self.currency_exponent
        sign, minor = ("-" if minor < 0 else ""), abs(minor)
        if exp == 0:
            return f"{currency} {sign}{minor}"
        return f"{currency} {sign}{minor // 10**exp}.{minor % 10**exp:0{exp}d}"

    def footer_lines(self) -> list[str]:
        """The ``receipt_footer`` setting as document lines (its own line breaks kept; blank lines dropped)."""
        out = []
        for line in self.footer.splitlines():
            line = line.strip()
            out += [line[i : i + MAX_LINE] for i in range(0, len(line), MAX_LINE)]
        return out


def _delivered(order: dict[str, Any]) -> list[dict[str, Any]]:
    """Lines going to the customer with the quantity that goes: picked once picked, else ordered."""
    out = []
    for ln in order["lines"]:
        if ln["status"] == "cancelled":
            continue
        qty = ln["qty_picked"] if ln["status"] in ("picked", "short") else ln["qty"]
        if qty > 0:
            out.append({**ln, "qty_out": qty})
    return out


def _name(ln: dict[str, Any], store: Store) -> str:
    """The item's name in the store's language (the other language when it has none)."""
    names = (ln["name_zh"], ln["name_en"]) if store.language == "zh-CN" else (ln["name_en"], ln["name_zh"])
    return (next((n for n in names if n), None) or ln["sku"])[:MAX_LINE]


def pack_label(order: dict[str, Any], store: Store) -> dict[str, Any]:
    """A ``pack_label`` document as the printer agent takes it (devices.printer.documents)."""
    addr = order.get("address") or {}
    if order["fulfilment"] == "pickup":
        ship_to = [store.text("collect", store=store.name)[:MAX_LINE]]
    else:
        ship_to = [
            x
            for x in (
                addr.get("line1"),
                addr.get("line2"),
                " ".join(x for x in (addr.get("postcode"), addr.get("city")) if x),
            )
            if x
        ]
    if order["customer_phone"]:
        ship_to.append(store.text("tel", phone=order["customer_phone"]))
    items = [
        {
            "sku": ln["sku"],
            "name": _name(ln, store),
            "qty": ln["qty_out"],
            "unit": "g" if ln["unit"] == "kg" else "each",
        }
        for ln in _delivered(order)
    ]
    doc: dict[str, Any] = {
        "type": "pack_label",
        "lang": store.language,
        "order_id": order["ref"],
        "order_code": order["code"],
        "customer": order["customer_name"][:MAX_LINE] or "-",
        "ship_to": ship_to[:50],
        "parcel": "1/1",
        "items": items[:200],
        "barcode": {"symbology": "code128", "value": order["code"]},
        "note": f"{store.text(order['fulfilment'])} / {store.text(order['channel'])}",
    }
    return doc


def receipt(order: dict[str, Any], store: Store) -> dict[str, Any]:
    """The customer's ``receipt`` document: what is delivered, the total, what was paid and is owed back, and
    the store's footer."""
    lines = []
    for ln in _delivered(order):
        if ln["unit"] == "kg":
            lines.append(
                {"name": f"{_name(ln, store)} {ln['qty_out']} g"[:MAX_LINE], "amount_minor": ln["amount_minor"]}
            )
        else:
            lines.append({"name": _name(ln, store), "qty": ln["qty_out"], "amount_minor": ln["amount_minor"]})
    footer = []
    if order["refund_due_minor"]:
        footer.append(store.text("refund", amount=store.money(order["refund_due_minor"], order["currency"])))
    footer.append(order["code"])
    footer += store.footer_lines()
    doc: dict[str, Any] = {
        "type": "receipt",
        "lang": store.language,
        "store_name": store.name[:MAX_LINE],
        "order_id": order["ref"],
        "ts": store.local_time(order["updated_at"]),
        "lines": lines or [{"name": "-", "amount_minor": 0}],
        "total_minor": order["total_minor"],
        "paid_minor": order["paid_minor"],
        "currency": order["currency"],
        "footer": footer[:50],
        "barcode": {"symbology": "code128", "value": order["code"]},
    }
    return doc


def print_order_documents(
    conn: sqlite3.Connection,
    order_id: str,
    *,
    actor: str,
    device: str | None = None,
    printer: str | None = None,
    documents: tuple[str, ...] = DOCUMENTS,
) -> list[dict[str, Any]]:
    """Queue the order's pack label and receipt for the printer; returns the print jobs."""
    order = model.get_order(conn, order_id)
    if order["status"] not in ("packed", "ready", "collected", "shipped"):
        raise Unprocessable(
            f"order {order['ref']} is {order['status']}; labels are printed once it is packed", code="not_packed"
        )
    printer = printer or policy.get(conn, "orders.printer_device")
    store = Store.from_settings(conn)
    jobs = []
    for doc in documents:
        body = pack_label(order, store) if doc == "pack_label" else receipt(order, store)
        job_id = new_id()
        commands.send_command(conn, printer, "print", {"document": body}, actor=actor, device=device, request_id=job_id)
        conn.execute(
            "INSERT INTO order_print_jobs(id, order_id, document, device_id, created_by, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (job_id, order_id, doc, printer, actor, now_iso()),
        )
        outbox.record(
            conn, "order.print", {"order_id": order_id, "request_id": job_id, "document": doc, "device_id": printer}
        )
        jobs.append({"request_id": job_id, "document": doc, "device_id": printer})
    return jobs


def jobs_for(conn: sqlite3.Connection, order_id: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT j.id AS request_id, j.document, j.device_id, j.created_at, c.status, c.error, c.sent_at, c.result_at"
            " FROM order_print_jobs j LEFT JOIN device_commands c ON c.request_id = j.id WHERE j.order_id = ?"
            " ORDER BY j.created_at",
            (order_id,),
        )
    ]

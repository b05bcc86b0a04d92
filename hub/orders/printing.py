"""Pack labels and customer receipts, printed by the printer agent through ``cmd/print``.

The documents are queued with ``hub.bus.commands.send_command`` inside the
caller's transaction (the order's change and its print request land together);
the bus process publishes them and records the printer's answer."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.kernel import outbox, settings
from hub.bus import commands
from hub.kernel.errors import Unprocessable
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.orders import model, policy

DOCUMENTS = ("pack_label", "receipt")


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


def _name(ln: dict[str, Any]) -> str:
    return (ln["name_zh"] or ln["name_en"] or ln["sku"])[:120]


def pack_label(order: dict[str, Any], store_name: str) -> dict[str, Any]:
    """A ``pack_label`` document as the printer agent takes it (devices.printer.documents)."""
    addr = order.get("address") or {}
    if order["fulfilment"] == "pickup":
        ship_to = [f"Collect at {store_name}"[:200]]
    else:
        ship_to = [x for x in (addr.get("line1"), addr.get("line2"), " ".join(
            x for x in (addr.get("postcode"), addr.get("city")) if x)) if x]
    if order["customer_phone"]:
        ship_to.append(f"Tel {order['customer_phone']}")
    items = [{"sku": ln["sku"], "name": _name(ln), "qty": ln["qty_out"], "unit": "g" if ln["unit"] == "kg" else "each"}
             for ln in _delivered(order)]
    doc: dict[str, Any] = {"type": "pack_label", "order_id": order["ref"], "order_code": order["code"],
                           "customer": order["customer_name"][:200] or "-", "ship_to": ship_to[:50],
                           "parcel": "1/1", "items": items[:200],
                           "barcode": {"symbology": "code128", "value": order["code"]},
                           "note": f"{order['fulfilment']} / {order['channel']}"}
    return doc


def receipt(order: dict[str, Any], store_name: str) -> dict[str, Any]:
    """The customer's ``receipt`` document: what is delivered, the total, what was paid and is owed back."""
    lines = []
    for ln in _delivered(order):
        if ln["unit"] == "kg":
            lines.append({"name": f"{_name(ln)} {ln['qty_out']} g"[:200], "amount_minor": ln["amount_minor"]})
        else:
            lines.append({"name": _name(ln), "qty": ln["qty_out"], "amount_minor": ln["amount_minor"]})
    footer = []
    if order["refund_due_minor"]:
        footer.append(f"Refund due: {order['refund_due_minor']} (minor units, {order['currency']})")
    footer.append(order["code"])
    doc: dict[str, Any] = {"type": "receipt", "store_name": store_name[:200], "header": [f"Order {order['ref']}"],
                           "order_id": order["ref"], "ts": order["updated_at"],
                           "lines": lines or [{"name": "-", "amount_minor": 0}],
                           "total_minor": order["total_minor"], "paid_minor": order["paid_minor"],
                           "currency": order["currency"], "footer": footer,
                           "barcode": {"symbology": "code128", "value": order["code"]}}
    return doc


def print_order_documents(conn: sqlite3.Connection, order_id: str, *, actor: str, device: str | None = None,
                          printer: str | None = None, documents: tuple[str, ...] = DOCUMENTS) -> list[dict[str, Any]]:
    """Queue the order's pack label and receipt for the printer; returns the print jobs."""
    order = model.get_order(conn, order_id)
    if order["status"] not in ("packed", "ready", "collected", "shipped"):
        raise Unprocessable(f"order {order['ref']} is {order['status']}; labels are printed once it is packed",
                            code="not_packed")
    printer = printer or policy.get(conn, "orders.printer_device")
    store_name = settings.get(conn, "store_name")
    jobs = []
    for doc in documents:
        body = pack_label(order, store_name) if doc == "pack_label" else receipt(order, store_name)
        job_id = new_id()
        commands.send_command(conn, printer, "print", {"document": body}, actor=actor, device=device, request_id=job_id)
        conn.execute("INSERT INTO order_print_jobs(id, order_id, document, device_id, created_by, created_at)"
                     " VALUES (?,?,?,?,?,?)", (job_id, order_id, doc, printer, actor, now_iso()))
        outbox.record(conn, "order.print", {"order_id": order_id, "request_id": job_id, "document": doc,
                                            "device_id": printer})
        jobs.append({"request_id": job_id, "document": doc, "device_id": printer})
    return jobs


def jobs_for(conn: sqlite3.Connection, order_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        "SELECT j.id AS request_id, j.document, j.device_id, j.created_at, c.status, c.error, c.sent_at, c.result_at"
        " FROM order_print_jobs j LEFT JOIN device_commands c ON c.request_id = j.id WHERE j.order_id = ?"
        " ORDER BY j.created_at", (order_id,))]

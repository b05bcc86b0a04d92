"""After picking: pack verification, ready, handover, cancellation and returns."""

from __future__ import annotations

import sqlite3
from contextlib import nullcontext
from typing import Any

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict, Unprocessable, ValidationError
from hub.orders import allocation, backorders, model, picking, scanning
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

DISPOSITIONS = ("restock", "writeoff")


# ----------------------------------------------------------------------------- packing


def pack_state(conn: sqlite3.Connection, order_id: str) -> dict[str, Any]:
    lines = [
        ln for ln in model.lines_of(conn, order_id) if ln["status"] in ("picked", "short") and ln["qty_picked"] > 0
    ]
    out = [
        {
            "line_id": ln["id"],
            "line_no": ln["line_no"],
            "sku": ln["sku"],
            "name_en": ln["name_en"],
            "name_zh": ln["name_zh"],
            "unit": ln["unit"],
            "qty_picked": ln["qty_picked"],
            "qty_packed": ln["qty_packed"],
            "verified": ln["qty_packed"] >= ln["qty_picked"],
        }
        for ln in lines
    ]
    return {"order_id": order_id, "lines": out, "complete": bool(out) and all(x["verified"] for x in out)}


def pack_scan(
    conn: sqlite3.Connection,
    order_id: str,
    *,
    code: str,
    client_key: str,
    qty: int | None = None,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Verify one scanned item against what was picked for the order."""
    if not client_key or len(client_key) > 200:
        raise ValidationError("client_key is required (at most 200 characters)", code="invalid_client_key")
    prev = conn.execute("SELECT order_id FROM pack_scans WHERE client_key = ?", (client_key,)).fetchone()
    if prev is not None:
        if prev["order_id"] != order_id:
            raise Conflict("client_key already used for another order", code="idempotency_conflict")
        return {**pack_state(conn, order_id), "duplicate": True}
    order = model.get_order(conn, order_id, with_lines=False)
    if order["status"] != "picked":
        raise Conflict(
            f"order {order['ref']} is {order['status']}; packing checks picked orders",
            code="invalid_order_status",
            details={"status": order["status"]},
        )
    scan = scanning.read(conn, code)
    if scan.kind != "item":
        raise Unprocessable("scan the items of the order", code="not_an_item", details={"scanned": code})
    lines = [ln for ln in pack_state(conn, order_id)["lines"]]
    ids = {
        r[0]
        for r in conn.execute(
            "SELECT id FROM order_lines WHERE order_id = ? AND item_id = ?", (order_id, scan.item["id"])
        )
    }
    mine = [ln for ln in lines if ln["line_id"] in ids]
    if not mine:
        raise Unprocessable(
            f"{scanning.item_label(scan.item)} is not in order {order['ref']}",
            code="not_in_order",
            details={"scanned_sku": scan.item["sku"], "ref": order["ref"]},
        )
    open_lines = [ln for ln in mine if not ln["verified"]]
    if not open_lines:
        raise Unprocessable(
            f"all {scan.item['sku']} of this order are already packed",
            code="too_many",
            details={"remaining": 0, "sku": scan.item["sku"]},
        )
    ln = open_lines[0]
    left = ln["qty_picked"] - ln["qty_packed"]
    n = left if ln["unit"] == "kg" else (qty or scan.count or 1)
    if n > left:
        raise Unprocessable(f"too many: {left} left to pack", code="too_many", details={"remaining": left})
    conn.execute("UPDATE order_lines SET qty_packed = qty_packed + ? WHERE id = ?", (n, ln["line_id"]))
    conn.execute(
        "INSERT INTO pack_scans(id, client_key, order_id, line_id, qty, code, actor, ts) VALUES (?,?,?,?,?,?,?,?)",
        (new_id(), client_key, order_id, ln["line_id"], n, code, actor, now_iso()),
    )
    fact = {"order_id": order_id, "line_id": ln["line_id"], "item_id": scan.item["id"], "qty": n, "actor": actor}
    outbox.record(conn, "order.pack_scan", fact)
    audit.log(conn, actor=actor, device=device, action="order.pack_scan", target=order_id, details=fact)
    return {**pack_state(conn, order_id), "duplicate": False}


def pack(conn: sqlite3.Connection, order_id: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    """Everything picked has been scanned into the parcel: the order is packed."""
    state = pack_state(conn, order_id)
    status = model.status_of(conn, order_id)
    if status != "picked":
        raise Conflict(
            f"order is {status}; only picked orders are packed", code="invalid_order_status", details={"status": status}
        )
    if not state["complete"]:
        missing = [
            {"sku": x["sku"], "left": x["qty_picked"] - x["qty_packed"]} for x in state["lines"] if not x["verified"]
        ]
        raise Unprocessable("scan every item before packing", code="pack_incomplete", details={"missing": missing})
    model.set_status(conn, order_id, "packed", actor=actor, device=device)
    return model.get_order(conn, order_id)


def mark_ready(conn: sqlite3.Connection, order_id: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    model.set_status(conn, order_id, "ready", actor=actor, device=device)
    return model.get_order(conn, order_id)


def handover(conn: sqlite3.Connection, code: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    """The customer (or courier) takes the parcel; the order code ``SHO-<ref>`` is scanned."""
    scan = scanning.read(conn, code)
    if scan.kind != "order":
        raise Unprocessable(
            "scan the order code (SHO-…) on the receipt or the parcel", code="not_an_order", details={"scanned": code}
        )
    order = model.find_by_code(conn, code)
    if order["status"] != "ready":
        raise Conflict(
            f"order {order['ref']} is {order['status']}, not ready for handover",
            code="not_ready",
            details={"status": order["status"], "order_id": order["id"]},
        )
    model.set_status(
        conn, order["id"], "collected" if order["fulfilment"] == "pickup" else "shipped", actor=actor, device=device
    )
    return model.get_order(conn, order["id"])


# ----------------------------------------------------------------------------- cancellation


def cancel(
    conn: sqlite3.Connection, order_id: str, *, reason: str, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Cancel an open order: reservations released, picked goods back on their shelf, refund due recorded."""
    order = model.get_order(conn, order_id, with_lines=False)
    if order["status"] not in model.OPEN_STATUSES:
        raise Conflict(
            f"order {order['ref']} is {order['status']} and cannot be cancelled",
            code="invalid_order_status",
            details={"status": order["status"]},
        )
    if not reason.strip():
        raise ValidationError("say why the order is cancelled", code="reason_required")
    allocation.release_order(conn, order_id, actor=actor, device=device, reason=f"order {order['ref']} cancelled")
    for a in conn.execute(
        "SELECT * FROM order_allocations WHERE order_id = ? AND qty_picked > 0", (order_id,)
    ).fetchall():
        ledger.post(
            conn,
            MovementRequest(
                "return",
                a["item_id"],
                a["location_id"],
                a["qty_picked"],
                f"order {order['ref']} cancelled: picked goods back to the shelf",
                actor,
                f"order-cancel-restock:{a['id']}",
                device,
                order_id,
            ),
        )
    lists = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT pick_list_id FROM pick_tasks WHERE order_id = ? AND status = 'pending'", (order_id,)
        )
    ]
    conn.execute(
        "UPDATE pick_tasks SET status = 'cancelled', done_at = ?, done_by = ? WHERE order_id = ? AND status = 'pending'",
        (now_iso(), actor, order_id),
    )
    conn.execute("UPDATE order_lines SET status = 'cancelled' WHERE order_id = ?", (order_id,))
    conn.execute("UPDATE orders SET cancel_reason = ? WHERE id = ?", (reason.strip(), order_id))
    model.set_status(conn, order_id, "cancelled", actor=actor, device=device, details={"reason": reason.strip()})
    money = model.refresh_money(conn, order_id)
    outbox.record(
        conn,
        "order.cancelled",
        {
            "order_id": order_id,
            "ref": order["ref"],
            "reason": reason.strip(),
            "refund_due_minor": money["refund_due_minor"],
        },
    )
    for lst in lists:
        picking.finish_list_if_done(conn, lst, actor=actor, device=device)
    return model.get_order(conn, order_id)


# ----------------------------------------------------------------------------- returns


def record_return(
    conn: sqlite3.Connection,
    order_id: str,
    *,
    client_key: str,
    lines: list[dict[str, Any]],
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Goods come back after handover: restocked (``return`` movement) or written off with a reason
    (``return`` then ``writeoff``, so the ledger shows both). The refund due grows by their value."""
    if not client_key or len(client_key) > 190:
        raise ValidationError("client_key is required", code="invalid_client_key")
    prev = conn.execute("SELECT order_id FROM order_returns WHERE client_key = ?", (f"{client_key}:0",)).fetchone()
    if prev is not None:
        if prev["order_id"] != order_id:
            raise Conflict(
                "client_key already used for a return of another order",
                code="idempotency_conflict",
                details={"order_id": prev["order_id"]},
            )
        return {**model.get_order(conn, order_id), "duplicate": True}
    order = model.get_order(conn, order_id)
    if order["status"] not in model.HANDED_OVER:
        raise Conflict(
            f"order {order['ref']} is {order['status']}; returns follow a handover",
            code="invalid_order_status",
            details={"status": order["status"]},
        )
    by_id = {ln["id"]: ln for ln in order["lines"]}
    if not lines:
        raise ValidationError("give at least one line to return", code="invalid_return")
    for n, rl in enumerate(lines):
        ln = by_id.get(rl.get("line_id"))
        if ln is None:
            raise ValidationError(f"line {rl.get('line_id')} is not in this order", code="invalid_return")
        qty = rl.get("qty")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise ValidationError("qty must be a whole number > 0 (grams for weighed items)", code="invalid_qty")
        returnable = ln["qty_picked"] - ln["qty_returned"]
        if qty > returnable:
            raise Unprocessable(
                f"only {returnable} of {ln['sku']} can be returned",
                code="too_many",
                details={"returnable": returnable, "remaining": returnable},
            )
        disposition = rl.get("disposition")
        if disposition not in DISPOSITIONS:
            raise ValidationError("disposition must be restock or writeoff", code="invalid_disposition")
        reason = str(rl.get("reason") or "").strip()
        if not reason:
            raise ValidationError("a return needs a reason", code="reason_required")
        loc = (
            rl.get("location_id")
            or conn.execute(
                "SELECT location_id FROM order_allocations WHERE line_id = ? AND qty_picked > 0 ORDER BY created_at LIMIT 1",
                (ln["id"],),
            ).fetchone()[0]
        )
        key = f"{client_key}:{n}"
        # goods coming back only to be written off never become available to back-orders
        with backorders.suppressed() if disposition == "writeoff" else nullcontext():
            ledger.post(
                conn,
                MovementRequest(
                    "return",
                    ln["item_id"],
                    loc,
                    qty,
                    f"order {order['ref']} return: {reason}",
                    actor,
                    f"order-return:{key}",
                    device,
                    order_id,
                ),
            )
        if disposition == "writeoff":
            ledger.post(
                conn,
                MovementRequest(
                    "writeoff",
                    ln["item_id"],
                    loc,
                    qty,
                    f"order {order['ref']} return written off: {reason}",
                    actor,
                    f"order-return-writeoff:{key}",
                    device,
                    order_id,
                ),
            )
        refund = model.line_amount(ln["unit"], ln["unit_price_minor"], qty)
        conn.execute(
            "INSERT INTO order_returns(id, client_key, order_id, line_id, qty, disposition, reason, location_id,"
            " refund_minor, actor, ts) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (new_id(), key, order_id, ln["id"], qty, disposition, reason, loc, refund, actor, now_iso()),
        )
        conn.execute("UPDATE order_lines SET qty_returned = qty_returned + ? WHERE id = ?", (qty, ln["id"]))
        ln["qty_returned"] += qty
        fact = {
            "order_id": order_id,
            "line_id": ln["id"],
            "item_id": ln["item_id"],
            "qty": qty,
            "disposition": disposition,
            "reason": reason,
            "location_id": loc,
            "refund_minor": refund,
        }
        outbox.record(conn, "order.return", fact)
        audit.log(conn, actor=actor, device=device, action=f"order.return.{disposition}", target=order_id, details=fact)
    model.refresh_money(conn, order_id)
    if all(ln["qty_returned"] >= ln["qty_picked"] for ln in by_id.values() if ln["qty_picked"] > 0):
        model.set_status(conn, order_id, "returned", actor=actor, device=device)
    return {**model.get_order(conn, order_id), "duplicate": False}

"""Order states, the state machine, money arithmetic and read helpers."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict, NotFound
from hub.protocol.timeutil import now_iso

CHANNELS = ("web", "app", "phone", "in_store")
FULFILMENTS = ("pickup", "delivery", "transfer")
ORDER_CODE_PREFIX = "SHO-"

STATUSES = (
    "new",
    "backordered",
    "allocated",
    "picking",
    "picked",
    "packed",
    "ready",
    "collected",
    "shipped",
    "cancelled",
    "returned",
)
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"allocated", "backordered", "cancelled"}),
    "backordered": frozenset({"allocated", "cancelled"}),
    "allocated": frozenset({"picking", "cancelled"}),
    "picking": frozenset({"picked", "allocated", "cancelled"}),  # back to allocated when its pick list is dropped
    "picked": frozenset({"packed", "cancelled"}),
    "packed": frozenset({"ready", "cancelled"}),
    "ready": frozenset({"collected", "shipped", "cancelled"}),
    "collected": frozenset({"returned"}),
    "shipped": frozenset({"returned"}),
    "cancelled": frozenset(),
    "returned": frozenset(),
}
OPEN_STATUSES = ("new", "backordered", "allocated", "picking", "picked", "packed", "ready")
HANDED_OVER = ("collected", "shipped")


def order_code(ref: str) -> str:
    return ORDER_CODE_PREFIX + ref


def line_amount(unit: str, unit_price_minor: int, qty: int) -> int:
    """Money for ``qty`` of an item: pieces × price, or grams × price-per-kg / 1000 rounded half up."""
    if unit == "kg":
        return (unit_price_minor * qty + 500) // 1000
    return unit_price_minor * qty


def next_ref(conn: sqlite3.Connection) -> str:
    conn.execute("UPDATE order_counter SET last = last + 1 WHERE id = 1")
    return str(conn.execute("SELECT last FROM order_counter WHERE id = 1").fetchone()[0])


def _order_row(conn: sqlite3.Connection, order_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    if row is None:
        raise NotFound(f"no order {order_id}", code="order_not_found")
    return row


def status_of(conn: sqlite3.Connection, order_id: str) -> str:
    return _order_row(conn, order_id)["status"]


def lines_of(conn: sqlite3.Connection, order_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT l.*, i.sku, i.name_en, i.name_zh, i.unit, i.category, i.variable_measure FROM order_lines l "
        "JOIN items i ON i.id = l.item_id WHERE l.order_id = ? ORDER BY l.line_no",
        (order_id,),
    ).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["allow_substitute"] = bool(d["allow_substitute"])
        d["variable_measure"] = bool(d["variable_measure"])
        eff = d["qty_picked"] if d["status"] in ("picked", "short") else d["qty"]
        d["amount_minor"] = 0 if d["status"] == "cancelled" else line_amount(d["unit"], d["unit_price_minor"], eff)
        d["reserved"] = conn.execute(
            "SELECT COALESCE(SUM(qty - qty_picked - qty_released), 0) FROM order_allocations WHERE line_id = ?",
            (d["id"],),
        ).fetchone()[0]
        out.append(d)
    return out


def get_order(conn: sqlite3.Connection, order_id: str, *, with_lines: bool = True) -> dict[str, Any]:
    d = dict(_order_row(conn, order_id))
    d["code"] = order_code(d["ref"])
    d["address"] = json.loads(d["address"]) if d["address"] else None
    d["review_reasons"] = json.loads(d["review_reasons"]) if d["review_reasons"] else []
    if with_lines:
        d["lines"] = lines_of(conn, order_id)
        d["children"] = [
            r[0]
            for r in conn.execute("SELECT id FROM orders WHERE parent_order_id = ? ORDER BY created_at", (order_id,))
        ]
    return d


def find_by_code(conn: sqlite3.Connection, code: str) -> dict[str, Any]:
    """An order by its scanned code ``SHO-<ref>`` (the bare ref is accepted too)."""
    text = str(code or "").strip()
    ref = text[len(ORDER_CODE_PREFIX) :] if text.upper().startswith(ORDER_CODE_PREFIX) else text
    row = conn.execute("SELECT id FROM orders WHERE ref = ?", (ref,)).fetchone()
    if row is None:
        raise NotFound(f"no order with code {text!r}", code="order_not_found", details={"code": text})
    return get_order(conn, row[0])


def set_status(
    conn: sqlite3.Connection,
    order_id: str,
    to: str,
    *,
    actor: str,
    device: str | None = None,
    details: dict[str, Any] | None = None,
) -> str:
    """Move an order to ``to`` if the state machine allows it; history, outbox and audit in the same transaction."""
    row = _order_row(conn, order_id)
    frm = row["status"]
    if to not in TRANSITIONS[frm]:
        raise Conflict(
            f"order {row['ref']} is {frm}; it cannot become {to}",
            code="invalid_order_status",
            details={"order_id": order_id, "status": frm, "wanted": to, "allowed": sorted(TRANSITIONS[frm])},
        )
    ts = now_iso()
    conn.execute("UPDATE orders SET status = ?, status_since = ?, updated_at = ? WHERE id = ?", (to, ts, ts, order_id))
    conn.execute(
        "INSERT INTO order_status_history(order_id, from_status, to_status, actor, device, ts) VALUES (?,?,?,?,?,?)",
        (order_id, frm, to, actor, device, ts),
    )
    fact = {"order_id": order_id, "ref": row["ref"], "from": frm, "to": to, "actor": actor, "ts": ts}
    if details:
        fact["details"] = details
    outbox.record(conn, "order.status", fact, ts=ts)
    audit.log(
        conn,
        actor=actor,
        device=device,
        action=f"order.{to}",
        target=order_id,
        details={"from": frm, **(details or {})},
    )
    return frm


def refresh_money(conn: sqlite3.Connection, order_id: str) -> dict[str, int]:
    """Recompute the total (picked quantities once picked) and the refund due."""
    row = _order_row(conn, order_id)
    total = sum(line["amount_minor"] for line in lines_of(conn, order_id))
    returned = conn.execute(
        "SELECT COALESCE(SUM(refund_minor), 0) FROM order_returns WHERE order_id = ?", (order_id,)
    ).fetchone()[0]
    if row["status"] == "cancelled":
        refund = row["paid_minor"]
    else:
        refund = max(0, row["paid_minor"] - total) + returned
        refund = min(refund, max(row["paid_minor"], total))
    if (total, refund) != (row["total_minor"], row["refund_due_minor"]):
        conn.execute(
            "UPDATE orders SET total_minor = ?, refund_due_minor = ?, updated_at = ? WHERE id = ?",
            (total, refund, now_iso(), order_id),
        )
        outbox.record(
            conn,
            "order.changed",
            {"order_id": order_id, "ref": row["ref"], "total_minor": total, "refund_due_minor": refund},
        )
    return {"total_minor": total, "refund_due_minor": refund}

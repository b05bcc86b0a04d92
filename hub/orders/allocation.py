"""Reserving stock for orders, line by line across locations in walk order (a lot-controlled item: the
location of the first-expiring good lot first, :func:`hub.purchasing.lots.fefo_locations`).

Reservations are ``reserve`` movements in the ledger (available = on hand −
reserved); the ledger refuses to reserve more than is available inside the
caller's IMMEDIATE transaction, so two allocators can never promise the same
piece twice. Orders that cannot be fully served are split (what is there goes
ahead, the rest becomes a back-order child) or held whole as back-ordered,
by the store's ``orders.partial_policy``."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict
from hub.orders import intake, model, policy
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.purchasing import lots


def _ref(conn: sqlite3.Connection, order_id: str) -> str:
    return conn.execute("SELECT ref FROM orders WHERE id = ?", (order_id,)).fetchone()[0]


def reserve_line(
    conn: sqlite3.Connection,
    order_id: str,
    line_id: str,
    item_id: str,
    need: int,
    *,
    actor: str,
    device: str | None = None,
    prefer_location: str | None = None,
    only_location: str | None = None,
    reason: str | None = None,
) -> int:
    """Reserve up to ``need`` of an item for a line, walking locations in walk order (or at
    ``only_location`` alone). Returns the qty reserved."""
    if need <= 0:
        return 0
    sql = (
        "SELECT s.location_id, s.on_hand - s.reserved AS avail FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE s.item_id = ? AND s.on_hand - s.reserved > 0"
    )
    args: list[Any] = [item_id]
    if only_location is not None:
        sql += " AND s.location_id = ?"
        args.append(only_location)
    rows = conn.execute(
        sql + " ORDER BY (s.location_id = ?) DESC, l.walk_seq, l.code", args + [prefer_location or ""]
    ).fetchall()
    rows = lots.fefo_locations(conn, item_id, rows, keep_first=prefer_location)  # lot-controlled: FEFO first
    got = 0
    ref = _ref(conn, order_id)
    for r in rows:
        take = min(r["avail"], need - got)
        if take <= 0:
            break
        alloc_id = new_id()
        ledger.post(
            conn,
            MovementRequest(
                "reserve",
                item_id,
                r["location_id"],
                take,
                reason or f"order {ref}",
                actor,
                f"order-alloc:{alloc_id}",
                device,
                order_id,
            ),
        )
        conn.execute(
            "INSERT INTO order_allocations(id, order_id, line_id, item_id, location_id, qty, created_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (alloc_id, order_id, line_id, item_id, r["location_id"], take, now_iso()),
        )
        got += take
    return got


def remaining(alloc: sqlite3.Row | dict) -> int:
    return alloc["qty"] - alloc["qty_picked"] - alloc["qty_released"]


def release_allocation(
    conn: sqlite3.Connection, alloc_id: str, qty: int, *, actor: str, reason: str, device: str | None = None
) -> None:
    a = conn.execute("SELECT * FROM order_allocations WHERE id = ?", (alloc_id,)).fetchone()
    qty = min(qty, remaining(a))
    if qty <= 0:
        return
    ledger.post(
        conn,
        MovementRequest(
            "release",
            a["item_id"],
            a["location_id"],
            qty,
            reason,
            actor,
            f"order-release:{alloc_id}:{a['qty_released']}",
            device,
            a["order_id"],
        ),
    )
    conn.execute("UPDATE order_allocations SET qty_released = qty_released + ? WHERE id = ?", (qty, alloc_id))


def release_order(
    conn: sqlite3.Connection,
    order_id: str,
    *,
    actor: str,
    reason: str,
    device: str | None = None,
    line_id: str | None = None,
) -> int:
    """Release every open reservation of an order (or of one line). Returns the qty released."""
    sql = "SELECT * FROM order_allocations WHERE order_id = ?"
    args: list[Any] = [order_id]
    if line_id:
        sql += " AND line_id = ?"
        args.append(line_id)
    total = 0
    for a in conn.execute(sql, args).fetchall():
        left = remaining(a)
        if left > 0:
            release_allocation(conn, a["id"], left, actor=actor, reason=reason, device=device)
            total += left
    return total


def reserved_for_line(conn: sqlite3.Connection, line_id: str) -> int:
    return conn.execute(
        "SELECT COALESCE(SUM(qty - qty_released), 0) FROM order_allocations WHERE line_id = ?", (line_id,)
    ).fetchone()[0]


def allocate(
    conn: sqlite3.Connection, order_id: str, *, actor: str, device: str | None = None, allow_split: bool = True
) -> dict[str, Any]:
    """Reserve stock for every open line of a new or back-ordered order and apply the partial policy."""
    order = model.get_order(conn, order_id, with_lines=False)
    if order["status"] not in ("new", "backordered"):
        raise Conflict(
            f"order {order['ref']} is {order['status']}; only new or back-ordered orders are allocated",
            code="invalid_order_status",
            details={"status": order["status"]},
        )
    if order["review_status"] in ("pending", "rejected"):
        raise Conflict(
            f"order {order['ref']} waits for review",
            code="order_in_review",
            details={"reasons": order["review_reasons"]},
        )
    lines = conn.execute(
        "SELECT * FROM order_lines WHERE order_id = ? AND status IN ('open','allocated') ORDER BY line_no", (order_id,)
    ).fetchall()
    shortages: dict[str, int] = {}
    for line in lines:
        need = line["qty"] - reserved_for_line(conn, line["id"])
        got = reserve_line(conn, order_id, line["id"], line["item_id"], need, actor=actor, device=device)
        if got < need:
            shortages[line["id"]] = need - got
    if not shortages:
        conn.execute("UPDATE order_lines SET status = 'allocated' WHERE order_id = ? AND status = 'open'", (order_id,))
        model.set_status(conn, order_id, "allocated", actor=actor, device=device)
        return {"order_id": order_id, "status": "allocated", "child_order_id": None, "short": {}}
    anything = any(reserved_for_line(conn, ln["id"]) > 0 for ln in lines)
    if allow_split and anything and policy.get(conn, "orders.partial_policy") == "split":
        child = split_off(conn, order_id, shortages, kind="split", actor=actor, device=device)
        conn.execute("UPDATE order_lines SET status = 'allocated' WHERE order_id = ? AND status = 'open'", (order_id,))
        model.set_status(conn, order_id, "allocated", actor=actor, device=device, details={"split_to": child})
        model.set_status(conn, child, "backordered", actor=actor, device=device, details={"split_from": order_id})
        return {"order_id": order_id, "status": "allocated", "child_order_id": child, "short": shortages}
    if order["status"] == "new":
        # policy "backorder" (or nothing at all in stock): the whole order waits and holds nothing yet;
        # stock arriving later is reserved for it oldest first (hub.orders.backorders)
        release_order(conn, order_id, actor=actor, device=device, reason=f"order {order['ref']} back-ordered")
        model.set_status(conn, order_id, "backordered", actor=actor, device=device, details={"short": shortages})
    # an order already back-ordered keeps what it holds and goes on waiting for the rest
    return {"order_id": order_id, "status": "backordered", "child_order_id": None, "short": shortages}


def split_off(
    conn: sqlite3.Connection,
    order_id: str,
    line_qtys: dict[str, int],
    *,
    kind: str,
    actor: str,
    device: str | None = None,
) -> str:
    """Move ``line_qtys`` (line id → qty) out of an order into a new child order (split or back-order).

    The parent keeps the rest; payment moves with the goods so nobody is charged twice."""
    parent = model.get_order(conn, order_id)
    by_id = {ln["id"]: ln for ln in parent["lines"]}
    n = conn.execute("SELECT COUNT(*) FROM orders WHERE parent_order_id = ?", (order_id,)).fetchone()[0] + 2
    clean = {
        "channel": parent["channel"],
        "external_id": None,
        "fulfilment": parent["fulfilment"],
        "customer_name": parent["customer_name"],
        "customer_phone": parent["customer_phone"],
        "customer_email": parent["customer_email"],
        "address": parent["address"],
        "pickup_at": parent["pickup_at"],
        "notes": parent["notes"],
        "paid_minor": 0,
        "lines": [],
    }
    child_total = 0
    for line_id, qty in line_qtys.items():
        ln = by_id[line_id]
        clean["lines"].append(
            {
                "item": {"id": ln["item_id"]},
                "qty": qty,
                "unit_price_minor": ln["unit_price_minor"],
                "allow_substitute": ln["allow_substitute"],
            }
        )
        child_total += model.line_amount(ln["unit"], ln["unit_price_minor"], qty)
        left = ln["qty"] - qty
        if left > 0:
            conn.execute("UPDATE order_lines SET qty = ? WHERE id = ?", (left, line_id))
        else:
            conn.execute("UPDATE order_lines SET status = 'cancelled' WHERE id = ?", (line_id,))
    child_paid = min(parent["paid_minor"], child_total)
    clean["paid_minor"] = child_paid
    child = intake.insert_order(
        conn,
        clean,
        actor=actor,
        ref=f"{parent['ref']}-{n}",
        parent_order_id=order_id,
        split_kind=kind,
        review_status="approved" if parent["review_status"] == "approved" else "none",
    )
    conn.execute("UPDATE orders SET paid_minor = paid_minor - ? WHERE id = ?", (child_paid, order_id))
    model.refresh_money(conn, order_id)
    fact = {
        "order_id": order_id,
        "ref": parent["ref"],
        "child_order_id": child,
        "kind": kind,
        "lines": [{"line_id": k, "qty": v} for k, v in line_qtys.items()],
        "paid_moved_minor": child_paid,
    }
    outbox.record(conn, "order.split", fact)
    audit.log(conn, actor=actor, device=device, action=f"order.{kind}", target=order_id, details=fact)
    return child

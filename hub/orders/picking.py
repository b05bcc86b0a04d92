"""Pick lists and picking by scan.

A pick list batches several allocated orders into one walk: one task per
reservation, sorted by the location's walk sequence. On the floor the picker
goes to the location shown, scans its label (``SHL-<code>``), scans the item
(a variable-measure label carries the weight) and confirms. A wrong location
or item is refused with 422 and a code. A short pick is resolved by a
substitute, a partial delivery or a back-order; the order follows (split when
needed). Every pick and short report carries a client key, so a handheld
replaying its offline queue changes nothing the second time."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.auth import users
from hub.inventory import catalog, ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict, NotFound, Unprocessable, ValidationError
from hub.orders import allocation, intake, model, policy, scanning
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.purchasing import lots

RESOLUTIONS = ("substitute", "partial", "backorder")


# ----------------------------------------------------------------------------- pick lists


def create_pick_list(
    conn: sqlite3.Connection,
    *,
    actor: str,
    order_ids: list[str] | None = None,
    max_orders: int | None = None,
    picker_id: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Batch allocated orders (the given ones, or the oldest waiting) into one walk."""
    if order_ids:
        order_ids = list(dict.fromkeys(order_ids))
        rows = conn.execute(
            f"SELECT id, ref, status FROM orders WHERE id IN ({','.join('?' * len(order_ids))})", order_ids
        ).fetchall()
        found = {r["id"]: r for r in rows}
        for oid in order_ids:
            if oid not in found:
                raise NotFound(f"no order {oid}", code="order_not_found")
            if found[oid]["status"] != "allocated":
                raise Conflict(
                    f"order {found[oid]['ref']} is {found[oid]['status']}, not allocated",
                    code="order_not_allocated",
                    details={"order_id": oid, "status": found[oid]["status"]},
                )
    else:
        limit = max_orders or policy.get(conn, "orders.pick_batch_size")
        order_ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM orders WHERE status = 'allocated' ORDER BY COALESCE(pickup_at, created_at), created_at LIMIT ?",
                (limit,),
            )
        ]
    if not order_ids:
        raise Unprocessable("no allocated orders are waiting to be picked", code="nothing_to_pick")
    if picker_id is not None:
        users.get(conn, picker_id)
    list_id = new_id()
    n = conn.execute("SELECT COUNT(*) FROM pick_lists").fetchone()[0] + 1
    ts = now_iso()
    conn.execute(
        "INSERT INTO pick_lists(id, ref, status, picker_id, created_by, created_at) VALUES (?,?,?,?,?,?)",
        (list_id, f"PL{n:05d}", "open", picker_id, actor, ts),
    )
    marks = ",".join("?" * len(order_ids))
    rows = conn.execute(
        "SELECT a.id, a.order_id, a.line_id, a.item_id, a.location_id, a.qty - a.qty_picked - a.qty_released AS left,"
        " l.walk_seq FROM order_allocations a JOIN locations l ON l.id = a.location_id JOIN items i ON i.id = a.item_id"
        " JOIN orders o ON o.id = a.order_id"
        f" WHERE a.order_id IN ({marks}) AND a.qty - a.qty_picked - a.qty_released > 0"
        " ORDER BY l.walk_seq, l.code, i.sku, o.created_at, a.id",
        order_ids,
    ).fetchall()
    conn.executemany(
        "INSERT INTO pick_tasks(id, pick_list_id, seq, order_id, line_id, allocation_id, item_id, location_id, walk_seq, qty)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                new_id(),
                list_id,
                seq,
                r["order_id"],
                r["line_id"],
                r["id"],
                r["item_id"],
                r["location_id"],
                r["walk_seq"],
                r["left"],
            )
            for seq, r in enumerate(rows, start=1)
        ],
    )
    for oid in order_ids:
        model.set_status(conn, oid, "picking", actor=actor, device=device, details={"pick_list_id": list_id})
    fact = {
        "pick_list_id": list_id,
        "ref": f"PL{n:05d}",
        "order_ids": order_ids,
        "tasks": len(rows),
        "picker_id": picker_id,
    }
    outbox.record(conn, "pick_list.created", fact, ts=ts)
    audit.log(conn, actor=actor, device=device, action="pick_list.create", target=list_id, details=fact)
    return {"id": list_id, "ref": f"PL{n:05d}", "orders": len(order_ids), "tasks": len(rows)}


def _list_row(conn: sqlite3.Connection, list_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM pick_lists WHERE id = ?", (list_id,)).fetchone()
    if row is None:
        raise NotFound(f"no pick list {list_id}", code="pick_list_not_found")
    return row


_TASK_SQL = (
    "SELECT t.*, l.code AS location_code, l.name AS location_name, i.sku, i.name_en, i.name_zh, i.unit,"
    " i.variable_measure, i.category, i.price_minor, o.ref AS order_ref, o.customer_name, ol.line_no,"
    " ol.allow_substitute FROM pick_tasks t JOIN locations l ON l.id = t.location_id JOIN items i ON i.id = t.item_id"
    " JOIN orders o ON o.id = t.order_id JOIN order_lines ol ON ol.id = t.line_id"
)


def _task_view(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    d["location_label"] = "SHL-" + d["location_code"]
    d["order_code"] = model.order_code(d["order_ref"])
    d["remaining"] = max(0, d["qty"] - d["qty_picked"]) if d["status"] == "pending" else 0
    d["variable_measure"] = bool(d["variable_measure"])
    d["allow_substitute"] = bool(d["allow_substitute"])
    return d


def _with_lot(conn: sqlite3.Connection, d: dict[str, Any]) -> dict[str, Any]:
    """A pending task of a lot-controlled item names the lot the picker takes there (first expiring first)."""
    nl = lots.next_lot(conn, d["item_id"], d["location_id"]) if d["status"] == "pending" else None
    d["lot"], d["lot_expiry"] = (nl["lot"] or None, nl["expiry"]) if nl else (None, None)
    return d


def get_task(conn: sqlite3.Connection, task_id: str) -> dict[str, Any]:
    row = conn.execute(_TASK_SQL + " WHERE t.id = ?", (task_id,)).fetchone()
    if row is None:
        raise NotFound(f"no pick task {task_id}", code="pick_task_not_found")
    return _with_lot(conn, _task_view(row))


def get_pick_list(conn: sqlite3.Connection, list_id: str) -> dict[str, Any]:
    d = dict(_list_row(conn, list_id))
    tasks = [
        _with_lot(conn, _task_view(r))
        for r in conn.execute(_TASK_SQL + " WHERE t.pick_list_id = ? ORDER BY t.walk_seq, t.seq", (list_id,))
    ]
    d["tasks"] = tasks
    d["orders"] = sorted({t["order_ref"] for t in tasks})
    # one tote per order on the picking cart, numbered in the order of ``orders``: each pick says where it goes
    tote = {ref: n for n, ref in enumerate(d["orders"], start=1)}
    d["totes"] = [{"tote": n, "order_ref": ref, "order_code": model.order_code(ref)} for ref, n in tote.items()]
    for t in tasks:
        t["tote"] = tote[t["order_ref"]]
    d["progress"] = {"total": len(tasks), "done": sum(t["status"] != "pending" for t in tasks)}
    nxt = next((t for t in tasks if t["status"] == "pending"), None)
    d["next_task_id"] = nxt["id"] if nxt else None
    return d


def list_pick_lists(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    picker_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    where, args = [], []
    if status:
        where.append("p.status = ?")
        args.append(status)
    if picker_id:
        where.append("(p.picker_id = ? OR p.picker_id IS NULL)")
        args.append(picker_id)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = conn.execute(f"SELECT COUNT(*) FROM pick_lists p{clause}", args).fetchone()[0]
    rows = conn.execute(
        "SELECT p.*, (SELECT COUNT(*) FROM pick_tasks t WHERE t.pick_list_id = p.id) AS tasks,"
        " (SELECT COUNT(*) FROM pick_tasks t WHERE t.pick_list_id = p.id AND t.status != 'pending') AS done,"
        " (SELECT COUNT(DISTINCT order_id) FROM pick_tasks t WHERE t.pick_list_id = p.id) AS orders"
        f" FROM pick_lists p{clause} ORDER BY p.created_at DESC LIMIT ? OFFSET ?",
        args + [limit, offset],
    ).fetchall()
    return [dict(r) for r in rows], total


def assign(
    conn: sqlite3.Connection, list_id: str, picker_id: str, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    row = _list_row(conn, list_id)
    if row["status"] in ("done", "cancelled"):
        raise Conflict(f"pick list {row['ref']} is {row['status']}", code="pick_list_closed")
    users.get(conn, picker_id)
    conn.execute("UPDATE pick_lists SET picker_id = ? WHERE id = ?", (picker_id, list_id))
    outbox.record(conn, "pick_list.assigned", {"pick_list_id": list_id, "picker_id": picker_id})
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="pick_list.assign",
        target=list_id,
        details={"picker_id": picker_id, "before": row["picker_id"]},
    )
    return get_pick_list(conn, list_id)


def start(conn: sqlite3.Connection, list_id: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    row = _list_row(conn, list_id)
    if row["status"] in ("done", "cancelled"):
        raise Conflict(f"pick list {row['ref']} is {row['status']}", code="pick_list_closed")
    if row["status"] == "open":
        conn.execute(
            "UPDATE pick_lists SET status = 'in_progress', started_at = ?, picker_id = COALESCE(picker_id, ?)"
            " WHERE id = ?",
            (now_iso(), actor, list_id),
        )
        outbox.record(conn, "pick_list.started", {"pick_list_id": list_id, "picker": actor})
        audit.log(conn, actor=actor, device=device, action="pick_list.start", target=list_id)
    return get_pick_list(conn, list_id)


def cancel_pick_list(
    conn: sqlite3.Connection, list_id: str, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Drop a walk (picker gone, list made by mistake): its pending tasks are cancelled and their orders go
    back to ``allocated`` with their reservations kept, so the next pick list takes up what is left."""
    row = _list_row(conn, list_id)
    if row["status"] in ("done", "cancelled"):
        raise Conflict(f"pick list {row['ref']} is {row['status']}", code="pick_list_closed")
    orders = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT order_id FROM pick_tasks WHERE pick_list_id = ? AND status = 'pending'", (list_id,)
        )
    ]
    conn.execute(
        "UPDATE pick_tasks SET status = 'cancelled', done_at = ?, done_by = ? WHERE pick_list_id = ?"
        " AND status = 'pending'",
        (now_iso(), actor, list_id),
    )
    conn.execute("UPDATE pick_lists SET status = 'cancelled', completed_at = ? WHERE id = ?", (now_iso(), list_id))
    for oid in orders:
        if model.status_of(conn, oid) == "picking":
            model.set_status(
                conn, oid, "allocated", actor=actor, device=device, details={"pick_list_cancelled": list_id}
            )
    fact = {"pick_list_id": list_id, "ref": row["ref"], "orders_back": orders}
    outbox.record(conn, "pick_list.cancelled", fact)
    audit.log(conn, actor=actor, device=device, action="pick_list.cancel", target=list_id, details=fact)
    return get_pick_list(conn, list_id)


# ----------------------------------------------------------------------------- scanning


def check_location(conn: sqlite3.Connection, task: dict[str, Any], code: str) -> None:
    scan = scanning.read(conn, code)
    expected = task["location_code"]
    if scan.kind != "location":
        raise Unprocessable(
            f"that is not a location label: scan the label SHL-{expected} at {task['location_name']}",
            code="not_a_location",
            details={"expected": expected, "scanned": code},
        )
    if scan.own_code != expected:
        raise Unprocessable(
            f"wrong location: you scanned {scan.own_code}, this pick is at {expected}",
            code="wrong_location",
            details={"expected": expected, "scanned": scan.own_code},
        )


def _replayed(conn: sqlite3.Connection, client_key: str, task_id: str) -> dict[str, Any] | None:
    if not client_key or len(client_key) > 200:
        raise ValidationError("client_key is required (at most 200 characters)", code="invalid_client_key")
    prev = conn.execute("SELECT task_id, result FROM picks WHERE client_key = ?", (client_key,)).fetchone()
    if prev is None:
        return None
    if prev["task_id"] != task_id:
        raise Conflict("client_key already used for another pick task", code="idempotency_conflict")
    return {**json.loads(prev["result"]), "duplicate": True}


def _pending_task(conn: sqlite3.Connection, task_id: str, actor: str, device: str | None) -> dict[str, Any]:
    task = get_task(conn, task_id)
    if task["status"] != "pending":
        raise Conflict(
            f"this pick is already {task['status']}", code="task_not_pending", details={"status": task["status"]}
        )
    lst = _list_row(conn, task["pick_list_id"])
    if lst["status"] == "cancelled":
        raise Conflict(f"pick list {lst['ref']} was cancelled", code="pick_list_closed")
    if lst["status"] == "open":
        start(conn, lst["id"], actor=actor, device=device)
    return task


def _tolerance(conn: sqlite3.Connection) -> int:
    return int(policy.get(conn, "orders.weight_tolerance_pct"))


def confirm_pick(
    conn: sqlite3.Connection,
    task_id: str,
    *,
    client_key: str,
    location_code: str,
    item_code: str,
    qty: int | None = None,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Confirm one pick: location label and item scanned, quantity (pieces) or weight (grams)."""
    replay = _replayed(conn, client_key, task_id)
    if replay is not None:
        return replay
    task = _pending_task(conn, task_id, actor, device)
    check_location(conn, task, location_code)
    scan = scanning.read(conn, item_code)
    if scan.kind != "item":
        raise Unprocessable(
            f"that is a {scan.kind} code, not an item: scan {task['sku']} {task['name_en']}",
            code="not_an_item",
            details={"expected_sku": task["sku"], "scanned": item_code},
        )
    if scan.item["id"] != task["item_id"]:
        raise Unprocessable(
            f"wrong item: you scanned {scanning.item_label(scan.item)}, this pick is {task['sku']} {task['name_en']}",
            code="wrong_item",
            details={"expected_sku": task["sku"], "scanned_sku": scan.item["sku"]},
        )
    left = task["qty"] - task["qty_picked"]
    tol = _tolerance(conn)
    if task["unit"] == "kg":
        grams = scan.weight_g if scan.weight_g is not None else qty
        if grams is None:
            raise Unprocessable("weigh it: scan the weight label or enter the grams", code="weight_required")
        if grams <= 0:
            raise Unprocessable("the weight must be more than 0 g", code="invalid_qty")
        most = task["qty"] * (100 + tol) // 100
        if task["qty_picked"] + grams > most:
            raise Unprocessable(
                f"too heavy: {task['qty_picked'] + grams} g, the order wants {task['qty']} g (at most {most} g)",
                code="over_weight",
                details={"ordered_g": task["qty"], "max_g": most, "got_g": task["qty_picked"] + grams},
            )
        qty = grams
        complete = task["qty_picked"] + qty >= task["qty"] * (100 - tol) / 100
    else:
        if qty is None:
            qty = scan.count or left
        if qty <= 0:
            raise Unprocessable("the quantity must be at least 1", code="invalid_qty")
        if qty > left:
            raise Unprocessable(
                f"too many: only {left} left to pick here", code="too_many", details={"remaining": left, "got": qty}
            )
        complete = task["qty_picked"] + qty == task["qty"]
    _take(conn, task, qty, actor=actor, device=device)
    if complete:
        conn.execute(
            "UPDATE pick_tasks SET status = 'picked', done_at = ?, done_by = ? WHERE id = ?",
            (now_iso(), actor, task_id),
        )
        leftover = allocation.remaining(
            conn.execute("SELECT * FROM order_allocations WHERE id = ?", (task["allocation_id"],)).fetchone()
        )
        if leftover > 0:  # a weighed pick a little under the ordered grams
            allocation.release_allocation(
                conn,
                task["allocation_id"],
                leftover,
                actor=actor,
                device=device,
                reason=f"order {task['order_ref']}: weighed pick under the ordered weight",
            )
    fact = {
        "task_id": task_id,
        "order_id": task["order_id"],
        "line_id": task["line_id"],
        "item_id": task["item_id"],
        "location_id": task["location_id"],
        "qty": qty,
        "picker": actor,
        "complete": complete,
    }
    outbox.record(conn, "order.pick", fact)
    audit.log(conn, actor=actor, device=device, action="order.pick", target=task["order_id"], details=fact)
    after = _after_task(conn, task, actor=actor, device=device) if complete else {}
    result = {"task": get_task(conn, task_id), "qty": qty, **after, "duplicate": False}
    _record(conn, client_key, task, "pick", qty, item_code, actor, device, result)
    return result


def _take(conn: sqlite3.Connection, task: dict[str, Any], qty: int, *, actor: str, device: str | None) -> None:
    """Stock leaves the shelf: a ``pick`` movement against the reservation (topped up for an over-weight bag)."""
    alloc = conn.execute("SELECT * FROM order_allocations WHERE id = ?", (task["allocation_id"],)).fetchone()
    reserved_left = allocation.remaining(alloc)
    key = f"order-pick:{task['id']}:{task['qty_picked']}"
    if qty > reserved_left:
        extra = qty - reserved_left
        try:
            ledger.post(
                conn,
                MovementRequest(
                    "reserve",
                    task["item_id"],
                    task["location_id"],
                    extra,
                    f"order {task['order_ref']}: weighed pick over the reservation",
                    actor,
                    key + ":top-up",
                    device,
                    task["order_id"],
                ),
            )
        except Conflict as exc:
            raise Unprocessable(
                "the books show no more of this item here to cover the extra weight",
                code="not_enough_stock",
                details=exc.details,
            ) from exc
        conn.execute("UPDATE order_allocations SET qty = qty + ? WHERE id = ?", (extra, alloc["id"]))
    ledger.post(
        conn,
        MovementRequest(
            "pick",
            task["item_id"],
            task["location_id"],
            qty,
            f"order {task['order_ref']}",
            actor,
            key,
            device,
            task["order_id"],
        ),
    )
    conn.execute("UPDATE order_allocations SET qty_picked = qty_picked + ? WHERE id = ?", (qty, alloc["id"]))
    conn.execute("UPDATE pick_tasks SET qty_picked = qty_picked + ? WHERE id = ?", (qty, task["id"]))
    conn.execute("UPDATE order_lines SET qty_picked = qty_picked + ? WHERE id = ?", (qty, task["line_id"]))


def _record(conn, client_key, task, kind, qty, code, actor, device, result) -> None:
    conn.execute(
        "INSERT INTO picks(id, client_key, task_id, order_id, line_id, item_id, location_id, kind, qty, item_code,"
        " picker, device, result, ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            new_id(),
            client_key,
            task["id"],
            task["order_id"],
            task["line_id"],
            task["item_id"],
            task["location_id"],
            kind,
            qty,
            code,
            actor,
            device,
            json.dumps(result, ensure_ascii=False),
            now_iso(),
        ),
    )


# ----------------------------------------------------------------------------- short picks


def substitutes(conn: sqlite3.Connection, item_id: str, *, limit: int = 5) -> list[dict[str, Any]]:
    """Suggested substitutes: same category and unit, similar price, available now (closest price first)."""
    item = catalog.get_item(conn, item_id)
    if not item["category"]:
        return []
    pct = int(policy.get(conn, "orders.substitute_price_pct"))
    lo, hi = item["price_minor"] * (100 - pct) // 100, item["price_minor"] * (100 + pct) // 100
    rows = conn.execute(
        "SELECT i.id, i.sku, i.name_en, i.name_zh, i.price_minor, i.unit, SUM(s.on_hand - s.reserved) AS available"
        " FROM items i JOIN stock s ON s.item_id = i.id WHERE i.category = ? AND i.unit = ? AND i.active = 1"
        " AND i.id != ? AND i.price_minor BETWEEN ? AND ? AND s.on_hand - s.reserved > 0 GROUP BY i.id"
        " ORDER BY ABS(i.price_minor - ?), available DESC, i.sku LIMIT ?",
        (item["category"], item["unit"], item_id, lo, hi, item["price_minor"], limit),
    ).fetchall()
    return [dict(r) for r in rows]


def report_short(
    conn: sqlite3.Connection,
    task_id: str,
    *,
    client_key: str,
    resolution: str,
    substitute_item_id: str | None = None,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """The shelf holds less than the task asks for: what is left of the task is short.

    ``substitute`` adds a line for another item (suggested or chosen) to this pick list, ``partial``
    delivers less, ``backorder`` moves the missing quantity into a back-order child order."""
    replay = _replayed(conn, client_key, task_id)
    if replay is not None:
        return replay
    if resolution not in RESOLUTIONS:
        raise ValidationError(f"resolution must be one of {', '.join(RESOLUTIONS)}", code="invalid_resolution")
    task = _pending_task(conn, task_id, actor, device)
    short = task["qty"] - task["qty_picked"]
    sub = None
    if resolution == "substitute":
        if not task["allow_substitute"]:
            raise Unprocessable("the customer does not accept substitutes for this line", code="substitute_not_allowed")
        if substitute_item_id is None:
            options = substitutes(conn, task["item_id"], limit=1)
            if not options:
                raise Unprocessable("no similar item is available", code="no_substitute")
            substitute_item_id = options[0]["id"]
        sub = catalog.get_item(conn, substitute_item_id)
        if sub["id"] == task["item_id"] or sub["unit"] != task["unit"] or not sub["active"]:
            raise Unprocessable(
                "a substitute must be another active item sold in the same unit", code="invalid_substitute"
            )
    allocation.release_allocation(
        conn,
        task["allocation_id"],
        short,
        actor=actor,
        device=device,
        reason=f"order {task['order_ref']}: short pick at {task['location_code']}",
    )
    conn.execute(
        "UPDATE pick_tasks SET status = 'short', resolution = ?, done_at = ?, done_by = ? WHERE id = ?",
        (resolution, now_iso(), actor, task_id),
    )
    extra: dict[str, Any] = {}
    if sub is not None:
        price = min(sub["price_minor"], task["price_minor"]) if task["unit"] == sub["unit"] else sub["price_minor"]
        price = min(
            price,
            conn.execute("SELECT unit_price_minor FROM order_lines WHERE id = ?", (task["line_id"],)).fetchone()[0],
        )
        line_id = intake.add_line(
            conn, task["order_id"], sub["id"], short, price, allow_substitute=False, substitute_for=task["line_id"]
        )
        got = allocation.reserve_line(conn, task["order_id"], line_id, sub["id"], short, actor=actor, device=device)
        if got == 0:
            raise Unprocessable(f"{sub['sku']} is not available any more", code="substitute_unavailable")
        conn.execute("UPDATE order_lines SET qty = ?, status = 'allocated' WHERE id = ?", (got, line_id))
        extra["substitute_line_id"] = line_id
        extra["new_task_ids"] = _add_tasks_for_line(conn, task["pick_list_id"], line_id)
    elif resolution == "backorder":
        child = allocation.split_off(
            conn, task["order_id"], {task["line_id"]: short}, kind="backorder", actor=actor, device=device
        )
        # The shelf just proved the books wrong here, so the child waits for stock (retry_backorders)
        # instead of re-reserving the same phantom pieces.
        model.set_status(
            conn, child, "backordered", actor=actor, device=device, details={"split_from": task["order_id"]}
        )
        extra["backorder_order_id"] = child
    model.refresh_money(conn, task["order_id"])
    fact = {
        "task_id": task_id,
        "order_id": task["order_id"],
        "line_id": task["line_id"],
        "item_id": task["item_id"],
        "location_id": task["location_id"],
        "short_qty": short,
        "resolution": resolution,
        "substitute_item_id": sub["id"] if sub else None,
        "picker": actor,
        **extra,
    }
    outbox.record(conn, "order.short", fact)
    audit.log(conn, actor=actor, device=device, action="order.short", target=task["order_id"], details=fact)
    after = _after_task(conn, task, actor=actor, device=device)
    result = {
        "task": get_task(conn, task_id),
        "short_qty": short,
        "resolution": resolution,
        **extra,
        **after,
        "duplicate": False,
    }
    _record(conn, client_key, task, "short", short, None, actor, device, result)
    return result


def _add_tasks_for_line(conn: sqlite3.Connection, list_id: str, line_id: str) -> list[str]:
    start_seq = conn.execute(
        "SELECT COALESCE(MAX(seq), 0) FROM pick_tasks WHERE pick_list_id = ?", (list_id,)
    ).fetchone()[0]
    rows = conn.execute(
        "SELECT a.*, l.walk_seq FROM order_allocations a JOIN locations l ON l.id = a.location_id WHERE a.line_id = ?"
        " AND a.qty - a.qty_picked - a.qty_released > 0 ORDER BY l.walk_seq, l.code",
        (line_id,),
    ).fetchall()
    ids = []
    for n, a in enumerate(rows, start=1):
        tid = new_id()
        conn.execute(
            "INSERT INTO pick_tasks(id, pick_list_id, seq, order_id, line_id, allocation_id, item_id, location_id,"
            " walk_seq, qty) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                tid,
                list_id,
                start_seq + n,
                a["order_id"],
                line_id,
                a["id"],
                a["item_id"],
                a["location_id"],
                a["walk_seq"],
                allocation.remaining(a),
            ),
        )
        ids.append(tid)
    return ids


# ----------------------------------------------------------------------------- completion


def _after_task(conn: sqlite3.Connection, task: dict[str, Any], *, actor: str, device: str | None) -> dict[str, Any]:
    out = {"order_done": False, "list_done": False}
    pending = conn.execute(
        "SELECT COUNT(*) FROM pick_tasks WHERE order_id = ? AND status = 'pending'", (task["order_id"],)
    ).fetchone()[0]
    if pending == 0 and model.status_of(conn, task["order_id"]) == "picking":
        finish_order(conn, task["order_id"], actor=actor, device=device)
        out["order_done"] = True
    out["order_status"] = model.status_of(conn, task["order_id"])
    out["list_done"] = finish_list_if_done(conn, task["pick_list_id"], actor=actor, device=device)
    return out


def finish_order(conn: sqlite3.Connection, order_id: str, *, actor: str, device: str | None = None) -> str:
    """Every task of the order is done: lines become picked or short; the order picked (or cancelled if empty)."""
    tol = _tolerance(conn)
    for ln in model.lines_of(conn, order_id):
        if ln["status"] == "cancelled":
            continue
        full = ln["qty_picked"] >= ln["qty"] or (
            ln["unit"] == "kg" and ln["qty_picked"] >= ln["qty"] * (100 - tol) / 100
        )
        conn.execute("UPDATE order_lines SET status = ? WHERE id = ?", ("picked" if full else "short", ln["id"]))
    ref = model.get_order(conn, order_id, with_lines=False)["ref"]
    allocation.release_order(conn, order_id, actor=actor, device=device, reason=f"order {ref}: picking finished")
    picked_any = conn.execute(
        "SELECT COALESCE(SUM(qty_picked), 0) FROM order_lines WHERE order_id = ? AND status != 'cancelled'", (order_id,)
    ).fetchone()[0]
    if picked_any == 0:
        conn.execute("UPDATE orders SET cancel_reason = ? WHERE id = ?", ("nothing could be picked", order_id))
        model.set_status(conn, order_id, "cancelled", actor=actor, device=device, details={"reason": "nothing picked"})
    else:
        model.set_status(conn, order_id, "picked", actor=actor, device=device)
    model.refresh_money(conn, order_id)
    return model.status_of(conn, order_id)


def finish_list_if_done(conn: sqlite3.Connection, list_id: str, *, actor: str, device: str | None = None) -> bool:
    row = _list_row(conn, list_id)
    if row["status"] in ("done", "cancelled"):
        return row["status"] == "done"
    pending = conn.execute(
        "SELECT COUNT(*) FROM pick_tasks WHERE pick_list_id = ? AND status = 'pending'", (list_id,)
    ).fetchone()[0]
    if pending:
        return False
    conn.execute("UPDATE pick_lists SET status = 'done', completed_at = ? WHERE id = ?", (now_iso(), list_id))
    outbox.record(conn, "pick_list.done", {"pick_list_id": list_id, "ref": row["ref"]})
    audit.log(conn, actor=actor, device=device, action="pick_list.done", target=list_id)
    return True

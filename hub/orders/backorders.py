"""Back-orders are served automatically when stock arrives.

``hub.inventory.ledger`` calls ``on_stock_in`` inside the very transaction that records a
movement adding stock on hand (receive, return, transfer in, adjust or count up).
The arrived quantity — never more, and never more than the item's available stock
in the whole store, so stock merely moved from a location whose pieces are
promised is not promised twice — is reserved at the location it arrived at for
the waiting back-ordered lines of that item, oldest original order first. Each
reservation is an ordinary ``reserve`` movement (immutable, with a reason naming
the arrival and the actor of the arrival) checked by the ledger inside the same
``BEGIN IMMEDIATE`` transaction, so two arrivals, allocators or pickers can never
promise the same piece twice, and nothing depends on which process or worker
recorded the arrival. A back-ordered order whose every open line is fully
reserved becomes ``allocated``; one still short keeps what it holds and waits.

Only stock on hand going up triggers it: a ``release`` (a cancelled order, a short
pick) frees stock that ``POST /orders/backorders/retry`` hands out on request.
Goods returned only to be written off (``fulfilment.record_return``) run with
``suppressed()``: they never were available."""

from __future__ import annotations

import contextvars
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hub.inventory import ledger
from hub.kernel import audit, outbox
from hub.orders import allocation, model

log = logging.getLogger("storehub.orders")

TRIGGER_KINDS = frozenset({"receive", "return", "transfer_in", "adjust", "count"})
_busy: contextvars.ContextVar[bool] = contextvars.ContextVar("storehub_backorder_hook", default=False)


@contextmanager
def suppressed() -> Iterator[None]:
    """Stock posted inside this block does not go to back-orders (e.g. a return about to be written off)."""
    token = _busy.set(True)
    try:
        yield
    finally:
        _busy.reset(token)


def waiting_lines(conn: sqlite3.Connection, item_id: str | None = None) -> list[dict[str, Any]]:
    """Open lines of back-ordered orders still short of reservations, oldest original order first
    (a split or back-order child ranks by its parent's time, so it keeps its place in the queue)."""
    sql = (
        "SELECT l.id AS line_id, l.order_id, l.item_id, l.qty, o.ref,"
        " l.qty - COALESCE((SELECT SUM(a.qty - a.qty_released) FROM order_allocations a WHERE a.line_id = l.id), 0)"
        " AS need FROM orders o JOIN order_lines l ON l.order_id = o.id"
        " LEFT JOIN orders p ON p.id = o.parent_order_id"
        " WHERE o.status = 'backordered' AND o.review_status NOT IN ('pending', 'rejected')"
        " AND l.status IN ('open', 'allocated')"
    )
    args: list[Any] = []
    if item_id is not None:
        sql += " AND l.item_id = ?"
        args.append(item_id)
    sql += " ORDER BY COALESCE(p.created_at, o.created_at), o.created_at, o.ref, l.line_no"
    return [dict(r) for r in conn.execute(sql, args) if r["need"] > 0]


def complete_if_reserved(
    conn: sqlite3.Connection, order_id: str, *, actor: str, device: str | None, details: dict[str, Any]
) -> bool:
    """A back-ordered order whose open lines are all fully reserved becomes allocated."""
    lines = conn.execute(
        "SELECT id, qty FROM order_lines WHERE order_id = ? AND status IN ('open','allocated')", (order_id,)
    ).fetchall()
    if not lines or any(allocation.reserved_for_line(conn, ln["id"]) < ln["qty"] for ln in lines):
        return False
    conn.execute("UPDATE order_lines SET status = 'allocated' WHERE order_id = ? AND status = 'open'", (order_id,))
    model.set_status(conn, order_id, "allocated", actor=actor, device=device, details=details)
    return True


def complete_from_stock(
    conn: sqlite3.Connection, order_id: str, *, served_item: str, actor: str, device: str | None, reason: str
) -> bool:
    """When only lines of other items keep a back-ordered order waiting and the store has all of
    those free now, reserve them (walk order) so the order can go ahead. All or nothing: an order
    that still cannot ship does not tie up more stock. The item being served only ever gets the
    arrived stock (elsewhere its books may be wrong: a short pick left them so)."""
    lines = conn.execute(
        "SELECT id, item_id, qty FROM order_lines WHERE order_id = ? AND status IN ('open','allocated')"
        " ORDER BY line_no",
        (order_id,),
    ).fetchall()
    need = {ln["id"]: ln["qty"] - allocation.reserved_for_line(conn, ln["id"]) for ln in lines}
    per_item: dict[str, int] = {}
    for ln in lines:
        per_item[ln["item_id"]] = per_item.get(ln["item_id"], 0) + max(0, need[ln["id"]])
    if (
        per_item.get(served_item)
        or not any(per_item.values())
        or any(_total_available(conn, i) < q for i, q in per_item.items() if q)
    ):
        return False
    for ln in lines:
        if need[ln["id"]] > 0:
            got = allocation.reserve_line(
                conn, order_id, ln["id"], ln["item_id"], need[ln["id"]], actor=actor, device=device, reason=reason
            )
            if got < need[ln["id"]]:  # cannot happen: free stock at positive locations >= the item's total
                raise RuntimeError(f"order {order_id}: reserved {got} of {need[ln['id']]} although the total was free")
    return True


def _total_available(conn: sqlite3.Connection, item_id: str) -> int:
    return ledger.on_hand_total(conn, item_id)["available"]


def serve(
    conn: sqlite3.Connection,
    item_id: str,
    *,
    budget: int,
    actor: str,
    device: str | None,
    location_id: str | None,
    reason: str,
    trigger: dict[str, Any],
) -> dict[str, Any]:
    """Reserve up to ``budget`` of an item for its waiting back-ordered lines, oldest first.

    With ``location_id`` only stock there is reserved; otherwise locations in walk order.
    Each order is served under its own savepoint: a failure leaves that order as it was
    (logged) and never breaks the movement that brought the stock."""
    out = {"reserved": 0, "orders": [], "allocated": []}
    if budget <= 0:
        return out
    for ln in waiting_lines(conn, item_id):
        if budget <= 0:
            break
        take = min(ln["need"], budget)
        conn.execute("SAVEPOINT backorder_line")
        try:
            got = allocation.reserve_line(
                conn,
                ln["order_id"],
                ln["line_id"],
                item_id,
                take,
                actor=actor,
                device=device,
                only_location=location_id,
                reason=f"order {ln['ref']}: {reason}",
            )
            if got:
                fact = {
                    "order_id": ln["order_id"],
                    "ref": ln["ref"],
                    "line_id": ln["line_id"],
                    "item_id": item_id,
                    "qty": got,
                    **trigger,
                }
                outbox.record(conn, "order.backorder_reserved", fact)
                audit.log(
                    conn,
                    actor=actor,
                    device=device,
                    action="order.backorder_reserved",
                    target=ln["order_id"],
                    details=fact,
                )
                ref_reason = f"order {ln['ref']}: {reason}"
                if complete_if_reserved(
                    conn, ln["order_id"], actor=actor, device=device, details={"backorder_served": True, **trigger}
                ) or (
                    complete_from_stock(
                        conn, ln["order_id"], served_item=item_id, actor=actor, device=device, reason=ref_reason
                    )
                    and complete_if_reserved(
                        conn, ln["order_id"], actor=actor, device=device, details={"backorder_served": True, **trigger}
                    )
                ):
                    out["allocated"].append(ln["order_id"])
            conn.execute("RELEASE backorder_line")
        except Exception:
            conn.execute("ROLLBACK TO backorder_line")
            conn.execute("RELEASE backorder_line")
            log.exception("back-order %s: could not reserve %s of item %s", ln["ref"], take, item_id)
            continue
        budget -= got
        out["reserved"] += got
        if got and ln["order_id"] not in out["orders"]:
            out["orders"].append(ln["order_id"])
    return out


def on_stock_in(conn: sqlite3.Connection, movement: dict[str, Any]) -> dict[str, Any] | None:
    """The ledger's stock-in hook (same transaction as the movement)."""
    if _busy.get() or movement["kind"] not in TRIGGER_KINDS or movement["qty_delta"] <= 0:
        return None
    try:
        if conn.execute("SELECT 1 FROM orders WHERE status = 'backordered' LIMIT 1").fetchone() is None:
            return None
    except sqlite3.OperationalError:  # a database migrated only part of the way (no orders tables)
        return None
    item, loc = movement["item_id"], movement["location_id"]
    here = ledger.stock_of(conn, item, loc)["available"]
    budget = min(movement["qty_delta"], here, _total_available(conn, item))
    if budget <= 0:
        return None
    token = _busy.set(True)
    try:
        return serve(
            conn,
            item,
            budget=budget,
            actor=movement["actor"],
            device=movement.get("device"),
            location_id=loc,
            reason=f"back-order served from {movement['kind']} {movement['id']}",
            trigger={"trigger_movement_id": movement["id"], "trigger_kind": movement["kind"]},
        )
    finally:
        _busy.reset(token)


def retry(conn: sqlite3.Connection, *, actor: str, device: str | None = None) -> list[str]:
    """On request: hand whatever is available now (any location, walk order) to the waiting
    back-ordered lines, oldest first. Returns the orders that became allocated."""
    done: list[str] = []
    token = _busy.set(True)
    try:
        items = list(dict.fromkeys(ln["item_id"] for ln in waiting_lines(conn)))
        for item in items:
            res = serve(
                conn,
                item,
                budget=_total_available(conn, item),
                actor=actor,
                device=device,
                location_id=None,
                reason="back-order retried",
                trigger={"trigger": "retry"},
            )
            done += [o for o in res["allocated"] if o not in done]
        for (oid,) in conn.execute(
            "SELECT id FROM orders WHERE status = 'backordered'"
            " AND review_status NOT IN ('pending','rejected') ORDER BY created_at"
        ).fetchall():
            if complete_if_reserved(
                conn, oid, actor=actor, device=device, details={"backorder_served": True, "trigger": "retry"}
            ):
                done.append(oid)
    finally:
        _busy.reset(token)
    return done

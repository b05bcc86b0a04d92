"""The order workflow: the one place that chains the steps of an order's life.

The step modules never call each other up this chain (and never import this module):

* ``create_order``: intake (validate, create) → review (the store's rules) → allocation (reserve stock),
  unless the order waits for a person or the store does not allocate on arrival;
* ``decide``: a supervisor's review decision → allocation (approved) or cancellation (rejected; the
  cancellation releases the order's reservations, ``fulfilment.cancel``);
* ``retry_backorders``: stock freed by releases (cancelled orders, short picks) is handed to the waiting
  back-orders on request (``backorders.retry``); stock arriving reaches them by itself through the ledger's
  stock-in hook (``backorders.on_stock_in``).

Each takes an open connection inside the caller's write transaction and never commits.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.orders import allocation, backorders, fulfilment, intake, model, policy, review


def create_order(
    conn: sqlite3.Connection,
    data: dict[str, Any],
    *,
    actor: str,
    device: str | None = None,
    auto_allocate: bool | None = None,
) -> dict[str, Any]:
    """Take one order in, review it and, when it passes and the store allocates on arrival (or
    ``auto_allocate``), reserve its stock. Duplicates raise Conflict ``duplicate_order`` (``intake.receive``)."""
    order_id = intake.receive(conn, data, actor=actor, device=device)
    reasons = review.run(conn, order_id)
    if not reasons and (policy.get(conn, "orders.auto_allocate") if auto_allocate is None else auto_allocate):
        allocation.allocate(conn, order_id, actor=actor, device=device)
    return model.get_order(conn, order_id)


def decide(
    conn: sqlite3.Connection, order_id: str, *, approve: bool, note: str, actor: str, device: str | None = None
) -> dict[str, Any]:
    """A supervisor's decision on an order in the review queue. Approval allocates; rejection cancels."""
    review.record_decision(conn, order_id, approve=approve, note=note, actor=actor, device=device)
    if approve:
        allocation.allocate(conn, order_id, actor=actor, device=device)
    else:
        fulfilment.cancel(conn, order_id, reason=f"rejected in review: {note}", actor=actor, device=device)
    return model.get_order(conn, order_id)


def retry_backorders(conn: sqlite3.Connection, *, actor: str, device: str | None = None) -> list[str]:
    """Hand the stock available now to back-ordered lines, oldest first (``backorders.retry``).
    Returns the orders that became allocated."""
    return backorders.retry(conn, actor=actor, device=device)

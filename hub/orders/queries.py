"""Read side of orders for the API and the handheld: the order view, the order list and search,
substitutes for a pick, and the analytics window."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from hub.kernel.errors import ValidationError
from hub.kernel.sqllike import like_contains
from hub.orders import analytics, fulfilment, model, picking, printing
from hub.protocol.timeutil import iso, parse_iso, utcnow

# Without ``since``, analytics look back this far from ``until``.
DEFAULT_WINDOW = timedelta(days=1)


def order_view(conn: sqlite3.Connection, order_id: str) -> dict[str, Any]:
    """One order with its lines, children, print jobs and pack state."""
    o = model.get_order(conn, order_id)
    o["print_jobs"] = printing.jobs_for(conn, order_id)
    o["pack"] = fulfilment.pack_state(conn, order_id)
    return o


def list_orders(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    channel: str | None = None,
    q: str | None = None,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Orders newest first (without lines) and how many match. ``q`` finds a reference (a scanned ``SHO-`` code
    included), an external id, a customer name or phone; ``open_only`` keeps orders not yet handed over or
    cancelled (the handheld's "Open" list, paged and counted by the hub)."""
    where, args = [], []
    if open_only:
        where.append(f"status IN ({','.join('?' * len(model.OPEN_STATUSES))})")
        args += list(model.OPEN_STATUSES)
    for col, value in (("status", status), ("channel", channel)):
        if value:
            where.append(f"{col} = ?")
            args.append(value)
    if q:
        text = q.strip()
        if text.upper().startswith(model.ORDER_CODE_PREFIX):
            text = text[len(model.ORDER_CODE_PREFIX) :]
        where.append(
            "(ref LIKE ? ESCAPE '!' OR external_id LIKE ? ESCAPE '!' OR customer_name LIKE ? ESCAPE '!'"
            " OR customer_phone LIKE ? ESCAPE '!')"
        )
        args += [like_contains(text)] * 4  # a typed % or _ is text, not a wildcard
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = conn.execute(f"SELECT COUNT(*) FROM orders{clause}", args).fetchone()[0]
    ids = [
        r[0]
        for r in conn.execute(
            f"SELECT id FROM orders{clause} ORDER BY created_at DESC LIMIT ? OFFSET ?", args + [limit, offset]
        )
    ]
    return [model.get_order(conn, i, with_lines=False) for i in ids], total


def task_substitutes(conn: sqlite3.Connection, task_id: str) -> list[dict[str, Any]]:
    """Suggested substitutes for a pick task; none when its order line does not allow a substitute."""
    task = picking.get_task(conn, task_id)
    return picking.substitutes(conn, task["item_id"]) if task["allow_substitute"] else []


def analytics_window(since: str | None = None, until: str | None = None) -> tuple[str, str]:
    """The (since, until) of an analytics request as ISO-8601 UTC: ``until`` defaults to now (+1 s, so what
    happened this second is in), ``since`` to one day before ``until``. Times need an offset (400 otherwise)."""
    try:
        end = iso(parse_iso(until)) if until else iso(utcnow() + timedelta(seconds=1))
        start = iso(parse_iso(since)) if since else iso(parse_iso(end) - DEFAULT_WINDOW)
    except ValueError as exc:
        raise ValidationError("since/until: ISO-8601 times with an offset", details={"error": str(exc)}) from exc
    return start, end


def analytics_summary(
    conn: sqlite3.Connection, *, since: str | None = None, until: str | None = None
) -> dict[str, Any]:
    """Lines per hour per picker, time per state and the short-pick rate over a window (see
    :func:`analytics_window`)."""
    start, end = analytics_window(since, until)
    return analytics.summary(conn, start, end)

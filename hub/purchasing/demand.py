"""Daily demand per item: net units sold per store-local day (sales minus customer returns).

Kept by a stock hook (declared in ``Domain.stock_in`` / ``stock_out``) in the transaction of every sale and
return, so replenishment reads one small row per item and day instead of every sale in the ledger; a day
without a row sold nothing. :func:`rebuild` recomputes it from the ledger (history from before the domain was
installed, or a check that the hook kept up)."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.purchasing import days

DEMAND_KINDS = {"sale": 1, "return": -1}


def on_stock(conn: sqlite3.Connection, movement: dict[str, Any]) -> None:
    """Stock hook: a sale adds to its day's demand, a customer return takes from it."""
    sign = DEMAND_KINDS.get(movement["kind"])
    if sign is None:
        return
    qty = abs(movement["qty_delta"]) * sign
    day = days.day_of(movement["ts"], days.zone(conn))
    conn.execute(
        "INSERT INTO daily_sales(item_id, day, qty) VALUES (?,?,?) "
        "ON CONFLICT(item_id, day) DO UPDATE SET qty = qty + excluded.qty",
        (movement["item_id"], day, qty),
    )


def rebuild(conn: sqlite3.Connection) -> int:
    """Recompute the whole table from the ledger's sale and return movements (inside a write transaction)."""
    tz = days.zone(conn)
    totals: dict[tuple[str, str], int] = {}
    for item_id, kind, qty_delta, ts in conn.execute(
        "SELECT item_id, kind, qty_delta, ts FROM movements WHERE kind IN ('sale', 'return')"
    ):
        key = (item_id, days.day_of(ts, tz))
        totals[key] = totals.get(key, 0) + abs(qty_delta) * DEMAND_KINDS[kind]
    conn.execute("DELETE FROM daily_sales")
    conn.executemany(
        "INSERT INTO daily_sales(item_id, day, qty) VALUES (?,?,?)", [(i, d, q) for (i, d), q in totals.items()]
    )
    return len(totals)


def history(conn: sqlite3.Connection, item_id: str, *, since: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT day, qty FROM daily_sales WHERE item_id = ? AND day >= ? ORDER BY day", (item_id, since)
        )
    ]

"""Moving-average cost per item, updated by every confirmed receipt at the order's unit cost.

Finance reads ``purchasing_items.avg_cost_minor`` (per piece, or per kg for kg items) and the trail in
``item_cost_history``; each change is an ``item.cost`` fact. The catalog's ``cost_minor`` stays what people
set (the list cost); the average starts from it when an item has no average yet and stock on hand."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.kernel import outbox
from hub.purchasing import rules


def average(conn: sqlite3.Connection, item_id: str) -> int | None:
    row = conn.execute("SELECT avg_cost_minor FROM purchasing_items WHERE item_id = ?", (item_id,)).fetchone()
    return row[0] if row else None


def on_receipt(
    conn: sqlite3.Connection, movement: dict[str, Any], *, on_hand_before: int, unit_cost_minor: int
) -> dict[str, Any]:
    """Fold a receipt (``movement``: the posted ``receive``) into the item's moving average."""
    item_id = movement["item_id"]
    before = average(conn, item_id)
    if before is None and on_hand_before > 0:
        before = conn.execute("SELECT cost_minor FROM items WHERE id = ?", (item_id,)).fetchone()[0]
    qty = movement["qty_delta"]
    after = rules.moving_average(on_hand_before, before, qty, unit_cost_minor)
    conn.execute(
        "INSERT INTO purchasing_items(item_id, avg_cost_minor, avg_cost_updated_at) VALUES (?,?,?) "
        "ON CONFLICT(item_id) DO UPDATE SET avg_cost_minor = excluded.avg_cost_minor, "
        "avg_cost_updated_at = excluded.avg_cost_updated_at",
        (item_id, after, movement["ts"]),
    )
    row = {
        "movement_id": movement["id"],
        "item_id": item_id,
        "qty": qty,
        "unit_cost_minor": unit_cost_minor,
        "on_hand_before": on_hand_before,
        "avg_before_minor": before,
        "avg_after_minor": after,
        "ts": movement["ts"],
    }
    conn.execute(
        "INSERT INTO item_cost_history(movement_id, item_id, qty, unit_cost_minor, on_hand_before,"
        " avg_before_minor, avg_after_minor, ts) VALUES (:movement_id, :item_id, :qty, :unit_cost_minor,"
        " :on_hand_before, :avg_before_minor, :avg_after_minor, :ts)",
        row,
    )
    outbox.record(conn, "item.cost", row, ts=movement["ts"])
    return row

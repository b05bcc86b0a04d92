"""Read views of the catalog and the store's locations: an item with its stock and last movements,
a location with its path and the stock held there."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.inventory import catalog, ledger, locations

# A location view lists at most this many items held there.
LOCATION_STOCK_LIMIT = 500


def item_detail(conn: sqlite3.Connection, item_id: str, *, movements: int = 10) -> dict[str, Any]:
    """One item with its stock per location, on-hand totals and its latest ``movements`` ledger entries."""
    item = catalog.get_item(conn, item_id)
    item["stock"] = ledger.stock_for_item(conn, item_id)
    item["totals"] = ledger.on_hand_total(conn, item_id)
    item["movements"] = ledger.movements_for(conn, item_id=item_id, limit=movements)
    return item


def with_totals(conn: sqlite3.Connection, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` (a search page) each with ``totals``: on hand, reserved and available over every location, so a
    lookup result shows stock without opening the item (one query for the page)."""
    ids = [it["id"] for it in items]
    sums = (
        {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                f"SELECT item_id, SUM(on_hand), SUM(reserved) FROM stock WHERE item_id IN ({','.join('?' * len(ids))})"
                " GROUP BY item_id",
                ids,
            )
        }
        if ids
        else {}
    )
    for it in items:
        on_hand, reserved = sums.get(it["id"], (0, 0))
        it["totals"] = {"on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved}
    return items


def stock_at(conn: sqlite3.Connection, location_id: str, *, limit: int = LOCATION_STOCK_LIMIT) -> list[dict[str, Any]]:
    """Items with stock on hand or reserved at a location, by SKU."""
    rows = conn.execute(
        "SELECT s.item_id, i.sku, i.name_en, i.name_zh, s.on_hand, s.reserved FROM stock s JOIN items i ON i.id = s.item_id"
        " WHERE s.location_id = ? AND (s.on_hand != 0 OR s.reserved != 0) ORDER BY i.sku LIMIT ?",
        (location_id, limit),
    )
    return [dict(r) for r in rows]


def location_detail(conn: sqlite3.Connection, location_id: str) -> dict[str, Any]:
    """A location with its path from the store down (id, code, name, kind of each) and the stock held there."""
    loc = locations.get(conn, location_id)
    loc["path"] = [
        {"id": p["id"], "code": p["code"], "name": p["name"], "kind": p["kind"]}
        for p in locations.path(conn, location_id)
    ]
    loc["stock"] = stock_at(conn, location_id)
    return loc

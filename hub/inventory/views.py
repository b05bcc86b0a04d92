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


def stock_at(conn: sqlite3.Connection, location_id: str, *, limit: int = LOCATION_STOCK_LIMIT) -> list[dict[str, Any]]:
    """Items with stock on hand or reserved at a location, by SKU."""
    rows = conn.execute(
        "SELECT s.item_id, i.sku, i.name_en, i.name_zh, s.on_hand, s.reserved FROM stock s JOIN items i ON i.id = s.item_id"
        " WHERE s.location_id = ? AND (s.on_hand != 0 OR s.reserved != 0) ORDER BY i.sku LIMIT ?", (location_id, limit))
    return [dict(r) for r in rows]


def location_detail(conn: sqlite3.Connection, location_id: str) -> dict[str, Any]:
    """A location with its path from the store down (id, code, name, kind of each) and the stock held there."""
    loc = locations.get(conn, location_id)
    loc["path"] = [{"id": p["id"], "code": p["code"], "name": p["name"], "kind": p["kind"]}
                   for p in locations.path(conn, location_id)]
    loc["stock"] = stock_at(conn, location_id)
    return loc

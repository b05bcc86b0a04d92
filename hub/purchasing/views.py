"""Read-only views the screens ask for, composed from the purchasing modules (one query path each)."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.inventory import catalog
from hub.purchasing import costing, days, lots, suppliers


def item(conn: sqlite3.Connection, item_id: str) -> dict[str, Any]:
    """An item's purchasing view: lot control and stock per lot, moving-average cost, its suppliers with case
    packs and today's costs, and the last replenishment figures."""
    it = catalog.get_item(conn, item_id)
    today = days.today(conn).isoformat()
    params = conn.execute("SELECT * FROM replenishment_params WHERE item_id = ?", (item_id,)).fetchone()
    return {
        "item_id": item_id,
        "sku": it["sku"],
        "unit": it["unit"],
        "lot_controlled": lots.is_lot_controlled(conn, item_id),
        "lots": lots.stock_by_lot(conn, item_id),
        "avg_cost_minor": costing.average(conn, item_id),
        "catalog_cost_minor": it["cost_minor"],
        "suppliers": [
            suppliers.supplier_item(conn, r[0], item_id, today=today)
            for r in conn.execute(
                "SELECT supplier_id FROM supplier_items WHERE item_id = ? ORDER BY preferred DESC", (item_id,)
            )
        ],
        "replenishment": dict(params) if params else None,
    }

"""Stock alerts: an item whose stock on hand (all locations) falls to its reorder point or below its safety stock
raises a hub alert; stock coming back clears it.

Run by the ledger inside the movement's own transaction (declared as this domain's ``stock_out`` and
``stock_in`` hooks), so the alert, its ``alert.raised`` fact (live to handhelds, synced to the central) and the
movement land together. Only items with a threshold set (> 0) are watched; the subject is ``item:<id>``."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.bus import alerts
from hub.inventory import ledger


def subject_of(item_id: str) -> str:
    return f"item:{item_id}"


def on_stock_change(conn: sqlite3.Connection, movement: dict[str, Any]) -> None:
    item = conn.execute(
        "SELECT id, sku, name_en, name_zh, unit, safety_stock, reorder_point FROM items WHERE id = ?",
        (movement["item_id"],),
    ).fetchone()
    if item is None or (item["safety_stock"] <= 0 and item["reorder_point"] <= 0):
        return
    on_hand = ledger.on_hand_total(conn, item["id"])["on_hand"]
    subject = subject_of(item["id"])
    details = {
        "item_id": item["id"],
        "sku": item["sku"],
        "name_en": item["name_en"],
        "name_zh": item["name_zh"],
        "unit": item["unit"],
        "on_hand": on_hand,
        "safety_stock": item["safety_stock"],
        "reorder_point": item["reorder_point"],
        "movement_id": movement["id"],
    }
    name = item["name_en"] or item["name_zh"] or item["sku"]
    if item["safety_stock"] > 0 and on_hand < item["safety_stock"]:
        alerts.raise_alert(
            conn,
            "below_safety_stock",
            subject,
            f"{item['sku']} {name}: {on_hand} on hand, below its safety stock of {item['safety_stock']}",
            severity="critical",
            details=details,
            now=movement["ts"],
        )
    else:
        alerts.clear(conn, "below_safety_stock", subject, now=movement["ts"])
    if item["reorder_point"] > 0 and on_hand <= item["reorder_point"]:
        alerts.raise_alert(
            conn,
            "below_reorder_point",
            subject,
            f"{item['sku']} {name}: {on_hand} on hand, at or below its reorder point of {item['reorder_point']}",
            severity="warning",
            details=details,
            now=movement["ts"],
        )
    else:
        alerts.clear(conn, "below_reorder_point", subject, now=movement["ts"])

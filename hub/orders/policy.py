"""Configurable order policies, stored in the settings table under ``orders.*``.

Defaults live here; a store overrides any key with ``settings.put``."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.kernel import settings

DEFAULTS: dict[str, Any] = {
    # Automatic review rules; an order breaking any of them waits in the manual review queue.
    "orders.review": {
        "max_amount_minor": 200_000,        # orders above this need a person to look
        "max_lines": 60,
        "require_phone": True,              # pickup and delivery need a phone number
        "postcode_pattern": r"^[0-9]{6}$",  # delivery address postcode format (CN)
        "blocked_postcodes": [],
        "pickup_max_days_ahead": 14,
        "review_channels": [],              # channels always reviewed by a person (e.g. ["phone"])
    },
    # When an order cannot be fully reserved: "split" ships what is there and back-orders the rest
    # in a child order; "backorder" holds the whole order until everything is available.
    "orders.partial_policy": "split",
    "orders.auto_allocate": True,
    # Minutes an order may wait in each state before an alert (critical at twice as long).
    "orders.sla_minutes": {
        "new": 15, "backordered": 24 * 60, "allocated": 30, "picking": 45, "picked": 20, "packed": 15,
        "ready": 48 * 60,
    },
    # A weighed (kg) pick is complete within this tolerance of the ordered grams.
    "orders.weight_tolerance_pct": 10,
    # Substitutes are suggested within this price band around the original.
    "orders.substitute_price_pct": 30,
    "orders.pick_batch_size": 8,
    # Printer device used for pack labels and receipts when the request names none.
    "orders.printer_device": "printer-1",
}


def get(conn: sqlite3.Connection, key: str) -> Any:
    value = settings.get(conn, key)
    default = DEFAULTS[key]
    if value is None:
        return default
    if isinstance(default, dict) and isinstance(value, dict):
        return {**default, **value}
    return value

"""Store settings (key → JSON value) with defaults.

The store id, currency, language and barcode region live here; ``storehub init``
writes them, the central may later push new values down."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.kernel.errors import ValidationError
from hub.protocol.timeutil import now_iso

DEFAULTS: dict[str, Any] = {
    "store_id": "store-001",
    "store_name": "StoreHub Store",
    "currency": "CNY",
    "currency_exponent": 2,
    "language": "zh-CN",
    "timezone": "Asia/Shanghai",
    "barcode_region": "CN",
    # Printable substitute a scanner may send for FNC1/GS (0x1D).
    "gs_substitute": "|",
    # Layouts for variable-measure (restricted circulation) labels biip has no rules for.
    "rcn_layouts": [],
}


def get(conn: sqlite3.Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    if row is None:
        return DEFAULTS.get(key)
    return json.loads(row[0])


def get_all(conn: sqlite3.Connection) -> dict[str, Any]:
    out = dict(DEFAULTS)
    for r in conn.execute("SELECT key, value FROM settings"):
        out[r[0]] = json.loads(r[1])
    return out


def validate(key: str, value: Any) -> None:
    """Refuse a value of a shape the hub relies on: ``timezone`` must be an IANA zone this machine knows
    (the central folds the store's daily figures on its local day)."""
    if key == "timezone":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValidationError(f"timezone {value!r} is not an IANA zone name (e.g. Asia/Shanghai)",
                                  code="invalid_setting") from None


def put(conn: sqlite3.Connection, key: str, value: Any) -> None:
    if not conn.in_transaction:
        raise RuntimeError("settings.put outside a write transaction")
    validate(key, value)
    conn.execute(
        "INSERT INTO settings(key, value, updated_at) VALUES (?,?,?) "
        "ON CONFLICT(key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
        (key, json.dumps(value, ensure_ascii=False), now_iso()),
    )

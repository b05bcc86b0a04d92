"""The hub's sync bookkeeping (table ``sync_state``, migration 0050) and its
credential file ``sync.json`` in the data directory (mode 0600: central URL,
store secret, optional CA bundle)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from hub.protocol.timeutil import now_iso

CREDENTIAL_FILE = "sync.json"


def get(conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


def put(conn: sqlite3.Connection, key: str, value: Any) -> None:
    if not conn.in_transaction:
        raise RuntimeError("sync_state.put outside a write transaction")
    conn.execute(
        "INSERT INTO sync_state(key, value, updated_at) VALUES (?,?,?) "
        "ON CONFLICT(key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
        (key, json.dumps(value), now_iso()))


def all_state(conn: sqlite3.Connection) -> dict[str, Any]:
    return {r[0]: json.loads(r[1]) for r in conn.execute("SELECT key, value FROM sync_state")}


def write_credentials(data_dir: Path, *, central_url: str, store_id: str, secret: str,
                      ca_bundle: str | None = None) -> Path:
    p = Path(data_dir) / CREDENTIAL_FILE
    tmp = p.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"central_url": central_url.rstrip("/"), "store_id": store_id, "secret": secret,
                   "ca_bundle": ca_bundle}, f)
    os.replace(tmp, p)
    return p


def read_credentials(data_dir: Path) -> dict[str, Any] | None:
    p = Path(data_dir) / CREDENTIAL_FILE
    if not p.exists():
        return None
    return json.loads(p.read_text())

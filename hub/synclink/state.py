"""The hub's sync bookkeeping (table ``sync_state``, migration 0050) and its
credential file ``sync.json`` in the data directory (mode 0600: central URL,
store secret, optional CA bundle)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from hub.kernel import outbox
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
        (key, json.dumps(value), now_iso()),
    )


def all_state(conn: sqlite3.Connection) -> dict[str, Any]:
    return {r[0]: json.loads(r[1]) for r in conn.execute("SELECT key, value FROM sync_state")}


def write_credentials(
    data_dir: Path, *, central_url: str, store_id: str, secret: str, ca_bundle: str | None = None
) -> Path:
    p = Path(data_dir) / CREDENTIAL_FILE
    tmp = p.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(
            {"central_url": central_url.rstrip("/"), "store_id": store_id, "secret": secret, "ca_bundle": ca_bundle}, f
        )
    os.replace(tmp, p)
    return p


def read_credentials(data_dir: Path) -> dict[str, Any] | None:
    p = Path(data_dir) / CREDENTIAL_FILE
    if not p.exists():
        return None
    return json.loads(p.read_text())


def status(conn: sqlite3.Connection) -> dict[str, Any]:
    """Uplink cursor, what is still to push, the last acknowledgement and error, the downlink version and the
    events the central refused (the newest 20). ``outbox_max_seq`` is the last seq ever recorded (pruned
    rows included), so ``uplink_cursor == outbox_max_seq`` means caught up even after a prune;
    ``outbox_rows`` is what the retention left on disk."""
    st = all_state(conn)
    cur = int(st.get("uplink_cursor", 0))
    row = conn.execute("SELECT COUNT(*), MIN(ts) FROM outbox WHERE seq > ?", (cur,)).fetchone()
    return {
        "uplink_cursor": cur,
        "pending": row[0],
        "oldest_pending_ts": row[1],
        "last_ack_at": st.get("last_ack_at"),
        "last_error": st.get("last_error"),
        "downlink_version": int(st.get("downlink_version", 0)),
        "rejected_total": int(st.get("uplink_rejected_total", 0)),
        "rejected": [
            {"seq": int(k), **v}
            for k, v in sorted((st.get("uplink_rejected") or {}).items(), key=lambda kv: int(kv[0]))
        ][-20:],
        "outbox_max_seq": outbox.last_seq(conn),
        "outbox_rows": conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0],
    }

"""Dead letters: every message the bus rejects, with the reason, kept for people to read.

A rejected message is stored as it arrived (UTF-8 text, or base64 when it is not
text), counted against its device when the topic names a valid one, and never
stops the bus."""

from __future__ import annotations

import base64
import sqlite3
from typing import Any

from hub.protocol.contract import DEVICE_ID_RE
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

MAX_STORED_BYTES = 64 * 1024


def record(
    conn: sqlite3.Connection,
    topic: str,
    payload: bytes,
    reason: str,
    *,
    device_id: str | None = None,
    now: str | None = None,
) -> str:
    now = now or now_iso()
    if device_id is not None and not DEVICE_ID_RE.fullmatch(device_id):
        device_id = None
    stored = payload[:MAX_STORED_BYTES]
    text = b64 = None
    try:
        text = stored.decode("utf-8")
        if "\x00" in text:
            raise UnicodeDecodeError("utf-8", stored, 0, 1, "NUL")
    except UnicodeDecodeError:
        text, b64 = None, base64.b64encode(stored).decode("ascii")
    dl_id = new_id()
    conn.execute(
        "INSERT INTO dead_letters(id, received_at, topic, device_id, reason, payload_text, payload_b64, payload_size)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (dl_id, now, topic[:1024], device_id, reason[:1000], text, b64, len(payload)),
    )
    if device_id is not None:
        conn.execute("INSERT OR IGNORE INTO devices(id, first_seen) VALUES (?, ?)", (device_id, now))
        conn.execute(
            "UPDATE devices SET rejected_total = rejected_total + 1, last_seen = ? WHERE id = ?", (now, device_id)
        )
    return dl_id


def list_dead_letters(
    conn: sqlite3.Connection, *, device_id: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    where, args = "", []
    if device_id:
        where, args = " WHERE device_id = ?", [device_id]
    total = conn.execute(f"SELECT COUNT(*) FROM dead_letters{where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT seq, id, received_at, topic, device_id, reason, payload_text, payload_b64, payload_size"
        f" FROM dead_letters{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [dict(r) for r in rows], total


def counts_by_device(conn: sqlite3.Connection) -> dict[str | None, int]:
    return {r[0]: r[1] for r in conn.execute("SELECT device_id, COUNT(*) FROM dead_letters GROUP BY device_id")}

"""Store certificates: the enrolment records. Every function takes an open connection; changes run inside the
caller's ``db.write()`` transaction and never commit, so the row and its fact land together."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.kernel import outbox


def is_enrolled(conn: sqlite3.Connection, device_id: str, ca_fingerprint: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM pki_enrolments WHERE device_id = ? AND ca_fingerprint = ?", (device_id, ca_fingerprint)
        ).fetchone()
        is not None
    )


def record_enrolment(
    conn: sqlite3.Connection,
    *,
    device_id: str,
    ca_fingerprint: str,
    now: str,
    user_agent: str | None = None,
    address: str | None = None,
) -> dict[str, Any] | None:
    """Record that ``device_id`` reached the hub over HTTPS under this CA; returns the new row, or None when it
    was already recorded (two workers seeing a device's first requests at once record it once)."""
    row = {
        "device_id": device_id,
        "ca_fingerprint": ca_fingerprint,
        "enrolled_at": now,
        "user_agent": (user_agent or "")[:300] or None,
        "address": address,
    }
    cur = conn.execute(
        "INSERT OR IGNORE INTO pki_enrolments(device_id, ca_fingerprint, enrolled_at, user_agent,"
        " address) VALUES (:device_id, :ca_fingerprint, :enrolled_at, :user_agent, :address)",
        row,
    )
    if cur.rowcount == 0:
        return None
    outbox.record(
        conn, "pki.enrolled", {k: row[k] for k in ("device_id", "ca_fingerprint", "enrolled_at", "user_agent")}, ts=now
    )
    return row


def list_enrolments(
    conn: sqlite3.Connection, *, ca_fingerprint: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Enrolled devices, newest first; with ``ca_fingerprint``, only those enrolled with that CA (the current
    one: a device enrolled only with a replaced CA must be enrolled again)."""
    where, args = ("WHERE ca_fingerprint = ?", [ca_fingerprint]) if ca_fingerprint else ("", [])
    total = conn.execute(f"SELECT COUNT(*) FROM pki_enrolments {where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM pki_enrolments {where} ORDER BY enrolled_at DESC, device_id LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [dict(r) for r in rows], total

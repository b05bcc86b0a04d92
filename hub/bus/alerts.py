"""Alerts of the store: devices dropping off or going silent, device errors, a reader's antenna disconnected or
its clock far from the hub's, low-stock and empty shelves, and
items at their reorder point or below their safety stock (``hub.bus.stockalerts``).

At most one open alert exists per (kind, subject); raising an open one again is a
no-op and clearing a closed one too, so the bus can call these on every reading.
Raising and clearing are facts: both go to the outbox."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.kernel import outbox
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

KINDS = (
    "device_offline",
    "device_silent",
    "device_error",
    "paper_out",
    "low_battery",
    "antenna_disconnected",
    "clock_skew",
    "low_stock",
    "empty_shelf",
    "below_reorder_point",
    "below_safety_stock",
    "near_expiry",
    "expired_stock",
    "po_late",
)
SEVERITIES = ("info", "warning", "critical")


def _row(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    d["details"] = json.loads(d["details"]) if d.get("details") else None
    d["open"] = d["cleared_at"] is None
    return d


def raise_alert(
    conn: sqlite3.Connection,
    kind: str,
    subject: str,
    message: str,
    *,
    severity: str = "warning",
    details: dict | None = None,
    now: str | None = None,
) -> dict | None:
    """Open an alert unless one of this kind is already open for the subject. Returns the new alert or None."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity}")
    now = now or now_iso()
    aid = new_id()
    cur = conn.execute(
        "INSERT OR IGNORE INTO alerts(id, kind, subject, severity, message, details, raised_at) VALUES (?,?,?,?,?,?,?)",
        (aid, kind, subject, severity, message, json.dumps(details, ensure_ascii=False) if details else None, now),
    )
    if cur.rowcount == 0:
        return None
    outbox.record(
        conn,
        "alert.raised",
        {"id": aid, "kind": kind, "subject": subject, "severity": severity, "message": message, "details": details},
        ts=now,
    )
    return get(conn, aid)


def clear(conn: sqlite3.Connection, kind: str, subject: str, *, now: str | None = None) -> bool:
    now = now or now_iso()
    row = conn.execute(
        "SELECT id FROM alerts WHERE kind = ? AND subject = ? AND cleared_at IS NULL", (kind, subject)
    ).fetchone()
    if row is None:
        return False
    conn.execute("UPDATE alerts SET cleared_at = ? WHERE id = ?", (now, row["id"]))
    outbox.record(conn, "alert.cleared", {"id": row["id"], "kind": kind, "subject": subject}, ts=now)
    return True


def acknowledge(conn: sqlite3.Connection, alert_id: str, *, actor: str) -> dict:
    from hub.kernel.errors import NotFound

    if conn.execute("SELECT 1 FROM alerts WHERE id = ?", (alert_id,)).fetchone() is None:
        raise NotFound(f"no alert {alert_id}")
    conn.execute(
        "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL",
        (actor, now_iso(), alert_id),
    )
    return get(conn, alert_id)


def get(conn: sqlite3.Connection, alert_id: str) -> dict | None:
    r = conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    return _row(r) if r else None


def open_for(conn: sqlite3.Connection, subject: str) -> list[dict]:
    return [
        _row(r)
        for r in conn.execute(
            "SELECT * FROM alerts WHERE subject = ? AND cleared_at IS NULL ORDER BY raised_at", (subject,)
        )
    ]


def list_alerts(
    conn: sqlite3.Connection,
    *,
    open_only: bool = True,
    kind: str | None = None,
    subject: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict], int]:
    where, args = [], []
    if open_only:
        where.append("cleared_at IS NULL")
    if kind:
        where.append("kind = ?")
        args.append(kind)
    if subject:
        where.append("subject = ?")
        args.append(subject)
    w = (" WHERE " + " AND ".join(where)) if where else ""
    total = conn.execute(f"SELECT COUNT(*) FROM alerts{w}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM alerts{w} ORDER BY raised_at DESC, id DESC LIMIT ? OFFSET ?", [*args, limit, offset]
    ).fetchall()
    return [_row(r) for r in rows], total

"""Heartbeats of the hub's long-running processes beside the web workers (the bus process).

A web page that keeps serving while the bus child is dead looks healthy and is not: scans, weights and reader
sweeps silently stop. So the bus writes its row every :data:`INTERVAL_S` seconds (``hub.bus.runner``) and
``/api/v1/health`` reads it: ``up`` while fresh (younger than :data:`STALE_S`), ``down`` when stale or
cleanly stopped, ``not_configured`` when no such process was ever started for this hub and none is expected.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import timedelta
from typing import Any

from hub.protocol.timeutil import now_iso, parse_iso

BUS = "bus"
INTERVAL_S = 5.0
STALE_S = 20.0  # four missed beats: the process is gone or hung


def beat(
    conn: sqlite3.Connection,
    name: str,
    *,
    started_at: str,
    now: str | None = None,
    details: dict[str, Any] | None = None,
    pid: int | None = None,
) -> None:
    """Record that ``name`` is alive now (inside the caller's write transaction)."""
    conn.execute(
        "INSERT INTO process_heartbeats(name, pid, started_at, last_seen, stopped_at, details) VALUES (?,?,?,?,NULL,?)"
        " ON CONFLICT(name) DO UPDATE SET pid=excluded.pid, started_at=excluded.started_at,"
        " last_seen=excluded.last_seen, stopped_at=NULL, details=excluded.details",
        (name, pid or os.getpid(), started_at, now or now_iso(), json.dumps(details) if details else None),
    )


def stopped(conn: sqlite3.Connection, name: str, *, now: str | None = None) -> None:
    """A clean stop: health says ``down`` at once instead of after :data:`STALE_S`."""
    conn.execute("UPDATE process_heartbeats SET stopped_at = ? WHERE name = ?", (now or now_iso(), name))


def status(conn: sqlite3.Connection, name: str, *, expected: bool, now: str | None = None) -> dict[str, Any]:
    """``{status: up|down|not_configured, last_seen, …details}`` of one process; ``expected`` when this hub is
    configured to run it (a missing row is then ``down``, not ``not_configured``)."""
    row = conn.execute(
        "SELECT last_seen, stopped_at, details FROM process_heartbeats WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        return {"status": "down" if expected else "not_configured", "last_seen": None}
    fresh = parse_iso(row["last_seen"]) >= parse_iso(now or now_iso()) - timedelta(seconds=STALE_S)
    out = {"status": "up" if fresh and row["stopped_at"] is None else "down", "last_seen": row["last_seen"]}
    if row["details"]:
        out.update({k: v for k, v in json.loads(row["details"]).items() if k not in out})
    return out

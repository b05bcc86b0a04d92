"""RFID sweeps: a reader's reads go to the count session it is sweeping for, at a location, and the map of
reader antennas to the locations they face (a tag's zone is where its strongest antenna points)."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.bus import commands, registry
from hub.inventory import locations
from hub.kernel import audit
from hub.kernel.errors import Conflict, NotFound, Unprocessable
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.stocktake import sessions
from hub.stocktake.scope import Scope


def _registered_reader(conn: sqlite3.Connection, reader: str) -> bool:
    """Whether ``reader`` is an RFID reader in the device registry (a sweep may also name a reader that feeds the
    hub another way, e.g. the HTTP ingest; those get no commands)."""
    try:
        return registry.get(conn, reader)["kind"] == "rfid"
    except NotFound:
        return False


def _inventory(
    conn: sqlite3.Connection, reader: str, action: str, session_id: str, actor: str, device: str | None
) -> None:
    """Tell a registered reader to start or stop reading (queued in this transaction, published by the bus):
    a stopped sweep must not leave the radio reading tags into nothing."""
    if _registered_reader(conn, reader):
        commands.send_command(conn, reader, action, {"session_id": session_id}, actor=actor, device=device)


def start_sweep(
    conn: sqlite3.Connection, session_id: str, *, reader: str, location_id: str, actor: str, device: str | None = None
) -> dict[str, Any]:
    s = sessions.get(conn, session_id)
    sessions.require_status(s, "open")
    loc = locations.get(conn, location_id)
    scope = Scope(conn, s["scope"])
    # the sweep's location must lie in the scope, or contain part of it (an aisle over in-scope bins)
    if not any(scope.has_location(x) for x in locations.subtree_ids(conn, location_id)):
        raise Unprocessable(f"{loc['code']} is outside this count", code="location_out_of_scope")
    active = conn.execute("SELECT * FROM rfid_sweeps WHERE reader = ? AND ended_at IS NULL", (reader,)).fetchone()
    if active is not None:
        if active["session_id"] == session_id and active["location_id"] == location_id:
            return dict(active)
        if active["session_id"] != session_id:
            raise Conflict(
                f"reader {reader} is sweeping for another count",
                code="reader_busy",
                details={"session_id": active["session_id"]},
            )
        conn.execute("UPDATE rfid_sweeps SET ended_at = ? WHERE id = ?", (now_iso(), active["id"]))
    sid = new_id()
    conn.execute(
        "INSERT INTO rfid_sweeps(id, session_id, reader, location_id, started_by, started_at) VALUES (?,?,?,?,?,?)",
        (sid, session_id, reader, location_id, actor, now_iso()),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="count.sweep_start",
        target=session_id,
        details={"reader": reader, "location_id": location_id},
    )
    _inventory(conn, reader, "start_inventory", session_id, actor, device)
    return dict(conn.execute("SELECT * FROM rfid_sweeps WHERE id = ?", (sid,)).fetchone())


def stop_sweep(
    conn: sqlite3.Connection, session_id: str, *, reader: str, actor: str, device: str | None = None
) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM rfid_sweeps WHERE reader = ? AND session_id = ? AND ended_at IS NULL", (reader, session_id)
    ).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE rfid_sweeps SET ended_at = ? WHERE id = ?", (now_iso(), row["id"]))
    audit.log(
        conn, actor=actor, device=device, action="count.sweep_stop", target=session_id, details={"reader": reader}
    )
    _inventory(conn, reader, "stop_inventory", session_id, actor, device)
    return dict(conn.execute("SELECT * FROM rfid_sweeps WHERE id = ?", (row["id"],)).fetchone())


def set_antenna(conn: sqlite3.Connection, *, reader: str, antenna: int, location_id: str, actor: str) -> dict:
    locations.get(conn, location_id)
    if not 0 <= antenna <= 255:
        raise Unprocessable("antenna is 0..255", code="invalid_antenna")
    conn.execute(
        "INSERT INTO rfid_antennas(reader, antenna, location_id) VALUES (?,?,?)"
        " ON CONFLICT(reader, antenna) DO UPDATE SET location_id = excluded.location_id",
        (reader, antenna, location_id),
    )
    audit.log(
        conn,
        actor=actor,
        action="rfid.antenna_map",
        target=reader,
        details={"antenna": antenna, "location_id": location_id},
    )
    return {"reader": reader, "antenna": antenna, "location_id": location_id}


def antenna_map(conn: sqlite3.Connection, reader: str | None = None) -> list[dict]:
    sql = "SELECT a.reader, a.antenna, a.location_id, l.code AS location_code FROM rfid_antennas a JOIN locations l ON l.id = a.location_id"
    args: list = []
    if reader:
        sql += " WHERE a.reader = ?"
        args.append(reader)
    return [dict(r) for r in conn.execute(sql + " ORDER BY a.reader, a.antenna", args)]

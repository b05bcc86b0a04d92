"""Count sessions: creation, scope, counters and zones, the state machine.

States::

    open ──close──▶ review ──approve──▶ approved
      │  ◀─reopen──┘   │
      └──cancel──▶ cancelled ◀──cancel─┘

Counting (scans, RFID sweeps) happens while ``open``; recounts of selected lines
while in ``review``; only ``approve`` posts to the ledger, once (see approval.py).

Safe defaults, because a count is started on the floor: a count leaves the lines nobody
counted out of the approval (``uncounted = exclude``) unless a manager explicitly asks
for ``zero`` (403 ``zeroing_needs_manager`` for anyone else) — counting one shelf must
never write off the rest of the store. A count is cancelled with a reason, by a
supervisor or by whoever started it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.auth import users
from hub.inventory import locations
from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict, Forbidden, NotFound, Unprocessable, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.stocktake.expected import snapshot_uncounted
from hub.stocktake.scope import Scope, clean_scope, describe

KINDS = ("full", "cycle")
MODES = ("blind", "guided")
UNCOUNTED = ("zero", "exclude")
DEFAULT_UNCOUNTED = "exclude"  # zeroing is a manager's explicit choice, never a default
STATUSES = ("open", "review", "approved", "cancelled")

DEFAULT_RSSI_FLOOR_DBM = -65.0
DEFAULT_MIN_READS = 2


def _session_row(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM count_sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFound(f"no count session {session_id}", code="count_session_not_found")
    return row


def get(conn: sqlite3.Connection, session_id: str) -> dict[str, Any]:
    d = dict(_session_row(conn, session_id))
    d["scope"] = json.loads(d["scope"])
    d["task_ids"] = json.loads(d["task_ids"]) if d["task_ids"] else []
    d["summary"] = json.loads(d["summary"]) if d["summary"] else None
    d.pop("create_key", None)
    d.pop("approve_key", None)
    d["scope_summary"] = describe(conn, d["scope"])
    d["zones_done"] = zones_done(conn, session_id)
    d["counters"] = users.decrypt_rows(
        conn,
        conn.execute(
            "SELECT c.user_id, u.display_name, c.zone_location_id, z.code AS zone_code, c.current_location_id,"
            " l.code AS current_location_code, c.joined_at FROM count_counters c"
            " LEFT JOIN users u ON u.id = c.user_id LEFT JOIN locations z ON z.id = c.zone_location_id"
            " LEFT JOIN locations l ON l.id = c.current_location_id WHERE c.session_id = ? ORDER BY c.joined_at",
            (session_id,),
        ),
        id_key="user_id",
    )
    return d


def list_sessions(
    conn: sqlite3.Connection, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[dict], int]:
    where, args = "", []
    if status:
        where, args = " WHERE status = ?", [status]
    total = conn.execute(f"SELECT COUNT(*) FROM count_sessions{where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT id, name, kind, mode, status, uncounted, scope, created_by, created_at, closed_at, approved_at"
        f" FROM count_sessions{where} ORDER BY created_at DESC LIMIT ? OFFSET ?",
        args + [limit, offset],
    ).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["scope_summary"] = describe(conn, json.loads(d.pop("scope")))
        out.append(d)
    return out, total


def require_status(session: dict | sqlite3.Row, *allowed: str) -> None:
    if session["status"] not in allowed:
        raise Conflict(
            f"count session is {session['status']}, needs {' or '.join(allowed)}",
            code="count_session_state",
            details={"status": session["status"], "allowed": list(allowed)},
        )


# ---------------------------------------------------------------------------------------------- lifecycle


def create(
    conn: sqlite3.Connection,
    *,
    name: str,
    kind: str = "full",
    mode: str = "blind",
    uncounted: str | None = None,
    scope: dict | None = None,
    rssi_floor_dbm: float | None = None,
    min_reads: int | None = None,
    task_ids: list[str] | None = None,
    actor: str,
    role: str = "associate",
    device: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Open a count session. Returns (session, created); the same key returns the first session.

    ``uncounted`` left out means ``exclude``. ``zero`` — every in-scope line nobody counted becomes a loss at
    approval — is only for someone of ``role`` manager or above (403 ``zeroing_needs_manager``): it is what a
    whole-store count means, and what wrote off a store when a count of one shelf defaulted to it."""
    if idempotency_key:
        row = conn.execute("SELECT id FROM count_sessions WHERE create_key = ?", (idempotency_key,)).fetchone()
        if row:
            return get(conn, row[0]), False
    uncounted = DEFAULT_UNCOUNTED if uncounted is None else uncounted
    if kind not in KINDS or mode not in MODES or uncounted not in UNCOUNTED:
        raise ValidationError(
            "kind, mode or uncounted policy not recognised",
            code="invalid_count_session",
            details={"kind": KINDS, "mode": MODES, "uncounted": UNCOUNTED},
        )
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError("a count needs a name (at most 120 characters)", code="invalid_count_session")
    floor = DEFAULT_RSSI_FLOOR_DBM if rssi_floor_dbm is None else float(rssi_floor_dbm)
    if not -128 <= floor <= 20:
        raise ValidationError("rssi_floor_dbm must be between -128 and 20", code="invalid_count_session")
    reads = DEFAULT_MIN_READS if min_reads is None else int(min_reads)
    if reads < 1:
        raise ValidationError("min_reads must be at least 1", code="invalid_count_session")
    clean = clean_scope(conn, scope)
    if uncounted == "zero" and not users.has_role(role, "manager"):
        raise Forbidden(
            "only a manager may count uncounted lines as zero",
            code="zeroing_needs_manager",
            details={"needed": "manager", "uncounted": uncounted},
        )
    sid = new_id()
    ts = now_iso()
    conn.execute(
        "INSERT INTO count_sessions(id, name, kind, mode, status, uncounted, scope, rssi_floor_dbm, min_reads, task_ids,"
        " create_key, created_by, created_at) VALUES (?,?,?,?,'open',?,?,?,?,?,?,?,?)",
        (
            sid,
            name,
            kind,
            mode,
            uncounted,
            json.dumps(clean),
            floor,
            reads,
            json.dumps(task_ids) if task_ids else None,
            idempotency_key,
            actor,
            ts,
        ),
    )
    if task_ids:
        conn.executemany(
            "UPDATE count_tasks SET status = 'in_session', session_id = ? WHERE id = ? AND status = 'open'",
            [(sid, t) for t in task_ids],
        )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="count.create",
        target=sid,
        details={"name": name, "kind": kind, "mode": mode, "uncounted": uncounted, "scope": clean},
    )
    outbox.record(conn, "count.session", {"id": sid, "status": "open", "name": name, "kind": kind, "ts": ts})
    return get(conn, sid), True


def join(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    user_id: str,
    zone_location_id: str | None = None,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """A counter joins (or changes zone). Zones must lie inside the session's scope."""
    s = _session_row(conn, session_id)
    require_status(s, "open", "review")
    if zone_location_id is not None:
        locations.get(conn, zone_location_id)
        if not Scope(conn, json.loads(s["scope"])).has_location(zone_location_id):
            raise Unprocessable("that zone is outside this count's scope", code="location_out_of_scope")
    conn.execute(
        "INSERT INTO count_counters(session_id, user_id, zone_location_id, joined_at) VALUES (?,?,?,?)"
        " ON CONFLICT(session_id, user_id) DO UPDATE SET zone_location_id = excluded.zone_location_id",
        (session_id, user_id, zone_location_id, now_iso()),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="count.join",
        target=session_id,
        details={"user_id": user_id, "zone_location_id": zone_location_id},
    )
    return get(conn, session_id)


def counter_of(conn: sqlite3.Connection, session_id: str, user_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT * FROM count_counters WHERE session_id = ? AND user_id = ?", (session_id, user_id)
    ).fetchone()
    return dict(row) if row else None


def close(conn: sqlite3.Connection, session_id: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    """Stop counting and move to review. Lines for in-scope stock nobody counted get their snapshot now."""
    s = _session_row(conn, session_id)
    if s["status"] == "review":
        return get(conn, session_id)
    require_status(s, "open")
    added = snapshot_uncounted(conn, session_id)
    ts = now_iso()
    conn.execute(
        "UPDATE count_sessions SET status = 'review', closed_by = ?, closed_at = ? WHERE id = ?",
        (actor, ts, session_id),
    )
    conn.execute("UPDATE rfid_sweeps SET ended_at = ? WHERE session_id = ? AND ended_at IS NULL", (ts, session_id))
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="count.close",
        target=session_id,
        details={"uncounted_lines_added": added},
    )
    outbox.record(conn, "count.session", {"id": session_id, "status": "review", "ts": ts})
    return get(conn, session_id)


def reopen(conn: sqlite3.Connection, session_id: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    s = _session_row(conn, session_id)
    require_status(s, "review")
    conn.execute(
        "UPDATE count_sessions SET status = 'open', closed_by = NULL, closed_at = NULL WHERE id = ?", (session_id,)
    )
    audit.log(conn, actor=actor, device=device, action="count.reopen", target=session_id)
    outbox.record(conn, "count.session", {"id": session_id, "status": "open", "ts": now_iso()})
    return get(conn, session_id)


def cancel(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    actor: str,
    reason: str,
    role: str = "associate",
    device: str | None = None,
) -> dict[str, Any]:
    """Call a count off before approval: nothing is posted, its cycle tasks are open again. Needs a reason
    (422 ``cancel_reason_required``); a supervisor may cancel any count, anyone else only one they started
    (403 ``wrong_role``). Cancelling a cancelled count again changes nothing."""
    s = _session_row(conn, session_id)
    if s["status"] == "cancelled":
        return get(conn, session_id)
    require_status(s, "open", "review")
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ValidationError("say why the count is cancelled (at most 200 characters)", code="cancel_reason_required")
    if s["created_by"] != actor and not users.has_role(role, "supervisor"):
        raise Forbidden(
            "only a supervisor or whoever started the count may cancel it",
            code="wrong_role",
            details={"needed": "supervisor"},
        )
    ts = now_iso()
    conn.execute(
        "UPDATE count_sessions SET status = 'cancelled', cancelled_by = ?, cancelled_at = ?, cancel_reason = ?"
        " WHERE id = ?",
        (actor, ts, reason, session_id),
    )
    conn.execute("UPDATE rfid_sweeps SET ended_at = ? WHERE session_id = ? AND ended_at IS NULL", (ts, session_id))
    conn.execute(
        "UPDATE count_tasks SET status = 'open', session_id = NULL WHERE session_id = ? AND status = 'in_session'",
        (session_id,),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="count.cancel",
        target=session_id,
        details={"reason": reason, "status_before": s["status"]},
    )
    outbox.record(conn, "count.session", {"id": session_id, "status": "cancelled", "reason": reason, "ts": ts})
    return get(conn, session_id)


# ---------------------------------------------------------------------------------------------- zones done


def zones_done(conn: sqlite3.Connection, session_id: str) -> list[dict[str, Any]]:
    """Who signed off which location of a count, in walk order."""
    return users.decrypt_rows(
        conn,
        conn.execute(
            "SELECT z.user_id, u.display_name, z.location_id, l.code AS location_code, z.done_at FROM count_zone_done z"
            " LEFT JOIN users u ON u.id = z.user_id JOIN locations l ON l.id = z.location_id WHERE z.session_id = ?"
            " ORDER BY l.walk_seq, l.code, z.done_at",
            (session_id,),
        ),
        id_key="user_id",
    )


def mark_zone_done(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    user_id: str,
    location_id: str | None = None,
    done: bool = True,
    device: str | None = None,
) -> dict[str, Any]:
    """A counter says they have finished a location (default: their zone, else the bin they are at), or takes
    that back (``done=False``). Per counter per location: two counters sharing an aisle each sign off their part.
    Only while counting; the location must be in the count's scope."""
    s = _session_row(conn, session_id)
    require_status(s, "open")
    me = counter_of(conn, session_id, user_id)
    if location_id is None:
        location_id = (me or {}).get("zone_location_id") or (me or {}).get("current_location_id")
        if location_id is None:
            raise Unprocessable("scan a location label first", code="scan_location_first")
    locations.get(conn, location_id)
    if not Scope(conn, json.loads(s["scope"])).has_location(location_id):
        raise Unprocessable("that location is outside this count", code="location_out_of_scope")
    if me is None:
        join(conn, session_id, user_id=user_id, actor=user_id, device=device)
    if done:
        conn.execute(
            "INSERT OR IGNORE INTO count_zone_done(session_id, user_id, location_id, done_at) VALUES (?,?,?,?)",
            (session_id, user_id, location_id, now_iso()),
        )
    else:
        conn.execute(
            "DELETE FROM count_zone_done WHERE session_id = ? AND user_id = ? AND location_id = ?",
            (session_id, user_id, location_id),
        )
    audit.log(
        conn,
        actor=user_id,
        device=device,
        action="count.zone_done" if done else "count.zone_reopened",
        target=session_id,
        details={"location_id": location_id},
    )
    return {"location_id": location_id, "done": done, "zones_done": zones_done(conn, session_id)}

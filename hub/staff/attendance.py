"""Attendance: punches, work sessions, breaks, a supervisor closing a missing clock-out, corrections and the
exceptions against the roster.

Every change runs in the caller's ``db.write()`` transaction and records its facts and audit entries there. A
punch is kept even when it does not count (a repeat within the window), so nothing a person did is lost; a
session's every change bumps its revision and records ``staff.attendance`` with the whole session, which is what
the payroll export adds up. A pay period that was approved is locked: nothing that would change its hours is
accepted (409 ``period_locked``)."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.auth import users
from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict, Forbidden, NotFound, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import iso, parse_iso, utcnow
from hub.staff import rules

ACTIONS = ("in", "out", "break_start", "break_end")


def zone(conn: sqlite3.Connection) -> ZoneInfo:
    return ZoneInfo(settings.get(conn, "timezone"))


def local_day(conn: sqlite3.Connection, ts: str, tz: ZoneInfo | None = None) -> date:
    return parse_iso(ts).astimezone(tz or zone(conn)).date()


def parse_day(text: str, field: str = "day") -> date:
    """A local date from the API (``YYYY-MM-DD``): a clear 400 for a date that does not exist."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValidationError(
            f"{field} is not a date (YYYY-MM-DD)", code="invalid_date", details={"field": field}
        ) from None


def parse_time(text: str, field: str = "time") -> str:
    """A time with its UTC offset, as stored: UTC ``Z``, whole seconds (attendance is paid by the second, and
    whole seconds make every sum of parts equal its whole); a clear 400 otherwise."""
    try:
        return iso(parse_iso(text).replace(microsecond=0))
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(
            f"{field} is not a time with a UTC offset", code="invalid_time", details={"field": field}
        ) from None


def actor_role(conn: sqlite3.Connection, user_id: str) -> str:
    row = conn.execute("SELECT role FROM users WHERE id = ?", (user_id,)).fetchone()
    return row["role"] if row else "associate"


def require_supervisor(conn: sqlite3.Connection, actor: str, needed: str = "supervisor") -> None:
    """Staff decisions (a roster, someone else's times, leave, a pay period) are a supervisor's or above."""
    role = actor_role(conn, actor)
    if not users.has_role(role, needed):
        raise Forbidden(
            f"needs the {needed} role or higher", code="wrong_role", details={"needed": needed, "have": role}
        )


# ---------------------------------------------------------------- reading


def open_session(conn: sqlite3.Connection, user_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM staff_sessions WHERE user_id = ? AND ended_at IS NULL", (user_id,)).fetchone()
    return dict(row) if row else None


def open_break(conn: sqlite3.Connection, session_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM staff_breaks WHERE session_id = ? AND ended_at IS NULL", (session_id,)).fetchone()
    return dict(row) if row else None


def session(conn: sqlite3.Connection, session_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM staff_sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFound(f"no work session {session_id}", code="session_not_found")
    out = dict(row)
    out["breaks"] = [
        dict(b)
        for b in conn.execute(
            "SELECT id, started_at, ended_at FROM staff_breaks WHERE session_id = ? ORDER BY started_at", (session_id,)
        )
    ]
    out["break_s"], out["worked_s"] = _seconds(out)
    return out


def _seconds(s: dict[str, Any]) -> tuple[int, int]:
    """(break seconds, worked seconds) of a closed session; 0 worked while it is open."""
    if s["ended_at"] is None:
        return 0, 0
    end = parse_iso(s["ended_at"])
    brk = 0
    for b in s["breaks"]:
        b_end = parse_iso(b["ended_at"]) if b["ended_at"] else end
        brk += max(0, int((min(b_end, end) - parse_iso(b["started_at"])).total_seconds()))
    total = int((end - parse_iso(s["started_at"])).total_seconds())
    return brk, max(0, total - brk)


def state(conn: sqlite3.Connection, user_id: str) -> dict[str, Any]:
    """Whether a person is clocked in and on a break, and their last punch (what the clock screen shows)."""
    s = open_session(conn, user_id)
    last = conn.execute(
        "SELECT action, at, source, device_id, counted FROM staff_punches WHERE user_id = ?"
        " ORDER BY at DESC, id DESC LIMIT 1",
        (user_id,),
    ).fetchone()
    return {
        "user_id": user_id,
        "clocked_in": s is not None,
        "session_id": s["id"] if s else None,
        "since": s["started_at"] if s else None,
        "on_break": bool(s and open_break(conn, s["id"])),
        "last_punch": dict(last) if last else None,
    }


# ---------------------------------------------------------------- punching


def _locked(conn: sqlite3.Connection, day: date) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT first_day, last_day FROM staff_pay_periods WHERE first_day <= ? AND last_day >= ?",
        (day.isoformat(), day.isoformat()),
    ).fetchone()
    return dict(row) if row else None


def assert_unlocked(conn: sqlite3.Connection, *times: str) -> None:
    tz = zone(conn)
    for ts in times:
        period = _locked(conn, local_day(conn, ts, tz))
        if period:
            raise Conflict(
                f"the pay period {period['first_day']} to {period['last_day']} is approved and locked",
                code="period_locked",
                details=period,
            )


def _attendance_fact(conn: sqlite3.Connection, session_id: str) -> dict[str, Any]:
    s = session(conn, session_id)
    outbox.record(
        conn,
        "staff.attendance",
        {
            "session_id": s["id"],
            "user_id": s["user_id"],
            "revision": s["revision"],
            "started_at": s["started_at"],
            "ended_at": s["ended_at"],
            "break_s": s["break_s"],
            "worked_s": s["worked_s"],
            "ended_by": s["ended_by"],
            "reason": s["close_reason"],
        },
    )
    return s


def punch(
    conn: sqlite3.Connection,
    user_id: str,
    action: str,
    *,
    source: str,
    at: str | None = None,
    device_id: str | None = None,
    event_id: str | None = None,
    actor: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Record one punch and apply it to the person's session.

    A repeat of the person's last counted punch (same action) within ``staff.repeat_window_s`` is kept with
    ``counted`` false and changes nothing — two clock-ins within a minute are one. A punch that does not fit the
    person's state (out or a break without a clock-in, in while clocked in) is refused with a code saying why."""
    if action not in ACTIONS:
        raise ValidationError(f"action is one of {', '.join(ACTIONS)}", code="invalid_action")
    when = parse_time(at, "at") if at else iso(utcnow().replace(microsecond=0))
    user = conn.execute("SELECT id, active FROM users WHERE id = ?", (user_id,)).fetchone()
    if user is None or not user["active"]:
        raise Forbidden("this person cannot clock (no such user, or disabled)", code="user_disabled")
    window = settings.get(conn, "staff.repeat_window_s")
    last = conn.execute(
        "SELECT action, at FROM staff_punches WHERE user_id = ? AND counted = 1 ORDER BY at DESC, id DESC LIMIT 1",
        (user_id,),
    ).fetchone()
    repeat = (
        last is not None
        and last["action"] == action
        and abs((parse_iso(when) - parse_iso(last["at"])).total_seconds()) < window
    )
    s = open_session(conn, user_id)
    sid = s["id"] if s else None
    if not repeat:
        assert_unlocked(conn, when)
        if action == "in":
            if s is not None:
                raise Conflict("already clocked in", code="already_clocked_in", details={"session_id": sid})
            sid = new_id()
            conn.execute("INSERT INTO staff_sessions(id, user_id, started_at) VALUES (?,?,?)", (sid, user_id, when))
        else:
            if s is None:
                raise Conflict("not clocked in", code="not_clocked_in")
            brk = open_break(conn, s["id"])
            if action == "break_start":
                if brk:
                    raise Conflict("already on a break", code="already_on_break")
                conn.execute(
                    "INSERT INTO staff_breaks(id, session_id, started_at) VALUES (?,?,?)", (new_id(), s["id"], when)
                )
            elif action == "break_end":
                if not brk:
                    raise Conflict("not on a break", code="not_on_break")
                conn.execute("UPDATE staff_breaks SET ended_at = ? WHERE id = ?", (when, brk["id"]))
            else:
                if when < s["started_at"]:
                    raise Conflict("a clock-out before the clock-in", code="out_before_in")
                if brk:
                    conn.execute("UPDATE staff_breaks SET ended_at = ? WHERE id = ?", (when, brk["id"]))
                conn.execute(
                    "UPDATE staff_sessions SET ended_at = ?, ended_by = 'clock', revision = revision + 1 WHERE id = ?",
                    (when, s["id"]),
                )
    row = {
        "id": new_id(),
        "user_id": user_id,
        "action": action,
        "at": when,
        "source": source,
        "device_id": device_id,
        "event_id": event_id,
        "counted": not repeat,
        "session_id": sid,
    }
    conn.execute(
        "INSERT INTO staff_punches(id, user_id, action, at, source, device_id, event_id, counted, session_id)"
        " VALUES (:id, :user_id, :action, :at, :source, :device_id, :event_id, :counted, :session_id)",
        {**row, "counted": int(not repeat)},
    )
    outbox.record(conn, "staff.punch", row, ts=when)
    if not repeat and sid is not None and action in ("in", "out"):
        _attendance_fact(conn, sid)
    if source == "pin":
        audit.log(
            conn,
            actor=actor or user_id,
            device=device,
            action=f"staff.clock_{action}",
            target=sid,
            details={"counted": not repeat},
        )
    return {**row, "state": state(conn, user_id)}


def toggle_action(conn: sqlite3.Connection, user_id: str, mode: str, at: str) -> str:
    """The action a badge scan at a clock point stands for: its mode (toggle, in, out, break) and the person's
    state. A scan within the repeat window of the person's last punch repeats that punch (a badge held twice to
    the scanner must not clock in and straight out again)."""
    if mode in ("in", "out"):
        return mode
    last = conn.execute(
        "SELECT action, at FROM staff_punches WHERE user_id = ? AND counted = 1 ORDER BY at DESC, id DESC LIMIT 1",
        (user_id,),
    ).fetchone()
    window = settings.get(conn, "staff.repeat_window_s")
    if last is not None and abs((parse_iso(at) - parse_iso(last["at"])).total_seconds()) < window:
        if (mode == "break") == (last["action"] in ("break_start", "break_end")):
            return str(last["action"])
    s = open_session(conn, user_id)
    if mode == "break":
        return "break_end" if s and open_break(conn, s["id"]) else "break_start"
    return "out" if s else "in"


# ---------------------------------------------------------------- supervisor's close and corrections


def close_missing(
    conn: sqlite3.Connection, session_id: str, *, ended_at: str, reason: str, actor: str, device: str | None = None
) -> dict[str, Any]:
    """A supervisor closes a session nobody clocked out of, at the time they establish, with a reason."""
    require_supervisor(conn, actor)
    s = session(conn, session_id)
    if s["user_id"] == actor:
        raise Forbidden("a supervisor cannot close their own missing clock-out", code="own_correction")
    if s["ended_at"] is not None:
        raise Conflict("this session is already closed", code="session_closed")
    end = parse_time(ended_at, "ended_at")
    if end < s["started_at"] or parse_iso(end) > utcnow() + timedelta(minutes=1):
        raise ValidationError("the end must be after the clock-in and not in the future", code="invalid_end")
    assert_unlocked(conn, s["started_at"], end)
    conn.execute("UPDATE staff_breaks SET ended_at = ? WHERE session_id = ? AND ended_at IS NULL", (end, session_id))
    conn.execute(
        "UPDATE staff_sessions SET ended_at = ?, ended_by = 'supervisor', close_reason = ?, closed_by = ?,"
        " revision = revision + 1 WHERE id = ?",
        (end, reason, actor, session_id),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="staff.close_missing",
        target=session_id,
        details={"user_id": s["user_id"], "ended_at": end, "reason": reason},
    )
    return _attendance_fact(conn, session_id)


def _correction(conn: sqlite3.Connection, correction_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM staff_corrections WHERE id = ?", (correction_id,)).fetchone()
    if row is None:
        raise NotFound(f"no correction {correction_id}", code="correction_not_found")
    return dict(row)


def _correction_fact(conn: sqlite3.Connection, c: dict[str, Any]) -> None:
    outbox.record(
        conn,
        "staff.correction",
        {
            k: c[k]
            for k in (
                "id",
                "session_id",
                "user_id",
                "status",
                "started_at",
                "ended_at",
                "reason",
                "requested_by",
                "decided_by",
            )
        },
    )


def request_correction(
    conn: sqlite3.Connection,
    *,
    user_id: str,
    started_at: str,
    ended_at: str,
    reason: str,
    actor: str,
    session_id: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Ask for a session's times to be set (or a forgotten one added). A person asks for themselves; a
    supervisor may ask for anyone. It changes nothing until another supervisor approves it."""
    if actor != user_id:
        require_supervisor(conn, actor)
    start, end = parse_time(started_at, "started_at"), parse_time(ended_at, "ended_at")
    if end <= start or parse_iso(end) - parse_iso(start) > timedelta(hours=24):
        raise ValidationError("a session ends after it starts, within 24 hours", code="invalid_times")
    if parse_iso(end) > utcnow() + timedelta(minutes=1):
        raise ValidationError("a correction cannot be in the future", code="invalid_times")
    if session_id is not None and session(conn, session_id)["user_id"] != user_id:
        raise ValidationError("that session is someone else's", code="session_of_other_user")
    assert_unlocked(conn, start, end)
    c = {
        "id": new_id(),
        "session_id": session_id,
        "user_id": user_id,
        "started_at": start,
        "ended_at": end,
        "reason": reason,
        "status": "pending",
        "requested_by": actor,
        "requested_at": iso(utcnow()),
        "decided_by": None,
        "decided_at": None,
        "decision_note": None,
    }
    conn.execute(
        "INSERT INTO staff_corrections VALUES (:id, :session_id, :user_id, :started_at, :ended_at, :reason,"
        " :status, :requested_by, :requested_at, :decided_by, :decided_at, :decision_note)",
        c,
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="staff.correction_requested",
        target=c["id"],
        details={"user_id": user_id, "session_id": session_id, "started_at": start, "ended_at": end, "reason": reason},
    )
    _correction_fact(conn, c)
    return c


def decide_correction(
    conn: sqlite3.Connection,
    correction_id: str,
    *,
    approve: bool,
    actor: str,
    note: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """A supervisor approves or rejects a correction — never their own, nor one of their own attendance."""
    require_supervisor(conn, actor)
    c = _correction(conn, correction_id)
    if actor in (c["user_id"], c["requested_by"]):
        raise Forbidden(
            "a correction is approved by another supervisor than the person or the requester", code="own_correction"
        )
    if c["status"] != "pending":
        raise Conflict(f"this correction is already {c['status']}", code="correction_decided")
    assert_unlocked(conn, c["started_at"], c["ended_at"])
    c.update(
        status="approved" if approve else "rejected", decided_by=actor, decided_at=iso(utcnow()), decision_note=note
    )
    conn.execute(
        "UPDATE staff_corrections SET status = ?, decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ?",
        (c["status"], actor, c["decided_at"], note, correction_id),
    )
    if approve:
        sid = c["session_id"]
        if sid is None:
            sid = new_id()
            conn.execute(
                "INSERT INTO staff_sessions(id, user_id, started_at, ended_at, ended_by, close_reason,"
                " closed_by) VALUES (?,?,?,?, 'correction', ?, ?)",
                (sid, c["user_id"], c["started_at"], c["ended_at"], c["reason"], actor),
            )
            conn.execute("UPDATE staff_corrections SET session_id = ? WHERE id = ?", (sid, correction_id))
            c["session_id"] = sid
        else:
            old = session(conn, sid)
            assert_unlocked(conn, old["started_at"], *([old["ended_at"]] if old["ended_at"] else []))
            conn.execute(
                "UPDATE staff_breaks SET ended_at = ? WHERE session_id = ? AND ended_at IS NULL", (c["ended_at"], sid)
            )
            conn.execute(
                "UPDATE staff_sessions SET started_at = ?, ended_at = ?, ended_by = 'correction',"
                " close_reason = ?, closed_by = ?, revision = revision + 1 WHERE id = ?",
                (c["started_at"], c["ended_at"], c["reason"], actor, sid),
            )
        _attendance_fact(conn, sid)
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="staff.correction_" + c["status"],
        target=correction_id,
        details={"user_id": c["user_id"], "session_id": c["session_id"], "note": note},
    )
    _correction_fact(conn, c)
    return c


def corrections(
    conn: sqlite3.Connection, *, status: str | None = None, user_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM staff_corrections WHERE 1 = 1", []
    if status:
        sql += " AND status = ?"
        args.append(status)
    if user_id:
        sql += " AND user_id = ?"
        args.append(user_id)
    return [dict(r) for r in conn.execute(sql + " ORDER BY requested_at DESC LIMIT ?", (*args, limit))]


# ---------------------------------------------------------------- records and exceptions


def _range_utc(conn: sqlite3.Connection, first_day: date, last_day: date) -> tuple[str, str]:
    tz = zone(conn)
    return (iso(rules.local_at(first_day, 0, tz)), iso(rules.local_at(last_day + timedelta(days=1), 0, tz)))


def sessions_between(
    conn: sqlite3.Connection, first_day: date, last_day: date, *, user_id: str | None = None
) -> list[dict[str, Any]]:
    """Sessions that started on the local dates given, with breaks and seconds, oldest first."""
    lo, hi = _range_utc(conn, first_day, last_day)
    sql = "SELECT id FROM staff_sessions WHERE started_at >= ? AND started_at < ?"
    args: list[Any] = [lo, hi]
    if user_id:
        sql += " AND user_id = ?"
        args.append(user_id)
    return [session(conn, r["id"]) for r in conn.execute(sql + " ORDER BY started_at, id", args)]


def my_record(conn: sqlite3.Connection, user_id: str, first_day: date, last_day: date) -> dict[str, Any]:
    """What a person sees of their own attendance: sessions, hours, exceptions and corrections."""
    if last_day < first_day or (last_day - first_day).days > 62:
        raise ValidationError("a record covers 1 to 63 days", code="invalid_range")
    ss = sessions_between(conn, first_day, last_day, user_id=user_id)
    return {
        "user_id": user_id,
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "sessions": ss,
        "worked_s": sum(s["worked_s"] for s in ss),
        "state": state(conn, user_id),
        "exceptions": exceptions_between(conn, first_day, last_day, user_id=user_id),
        "corrections": corrections(conn, user_id=user_id),
    }


def exceptions_between(
    conn: sqlite3.Connection,
    first_day: date,
    last_day: date,
    *,
    user_id: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Late, early leave, absent, missing clock-out and unrostered work between two local dates, against the
    published roster (a draft is not yet anyone's duty)."""
    if last_day < first_day or (last_day - first_day).days > 62:
        raise ValidationError("exceptions cover 1 to 63 days", code="invalid_range")
    lo, hi = _range_utc(conn, first_day, last_day)
    sql = (
        "SELECT s.id, s.user_id, s.starts_at, s.ends_at, s.skill FROM staff_shifts s JOIN staff_weeks w"
        " ON w.week_start = s.week_start AND w.status = 'published' WHERE s.starts_at >= ? AND s.starts_at < ?"
    )
    args: list[Any] = [lo, hi]
    if user_id:
        sql += " AND s.user_id = ?"
        args.append(user_id)
    shifts = [
        rules.Shift(r["id"], r["user_id"], parse_iso(r["starts_at"]), parse_iso(r["ends_at"]), r["skill"])
        for r in conn.execute(sql, args)
    ]
    sql = "SELECT id, user_id, started_at, ended_at FROM staff_sessions WHERE started_at >= ? AND started_at < ?"
    args = [iso(parse_iso(lo) - timedelta(hours=24)), hi]
    if user_id:
        sql += " AND user_id = ?"
        args.append(user_id)
    worked = [
        rules.Worked(
            r["id"], r["user_id"], parse_iso(r["started_at"]), parse_iso(r["ended_at"]) if r["ended_at"] else None
        )
        for r in conn.execute(sql, args)
    ]
    found = rules.exceptions(
        shifts,
        worked,
        now=now or utcnow(),
        grace_min=settings.get(conn, "staff.late_grace_min"),
        missing_after_h=settings.get(conn, "staff.missing_clock_out_h"),
    )
    in_range = {w.id for w in worked if w.start >= parse_iso(lo)}
    return [e for e in found if e["shift_id"] is not None or e["session_id"] in in_range]

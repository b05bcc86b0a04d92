"""The weekly roster: shifts by role and area, people's skills, availability and leave, copy last week, publish.

Every change is checked against the roster rules (``staff.roster_rules``; skills, leave, availability and double
booking) with :func:`hub.staff.rules.check_roster`, and a change that breaks one is refused —
409 ``roster_rule_broken`` naming the rule — so the roster a supervisor sees is always within the rules, except
where the rules or someone's leave changed after the shift was placed (those show as violations on the week).
A week is a draft until published; a person sees only published shifts, and every change to a published week
records a live ``staff.roster.changed`` fact naming the people it touches."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta
from typing import Any

from hub.auth import users
from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict, Forbidden, NotFound, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import iso, parse_iso, utcnow
from hub.staff import attendance, calendar, rules


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week(week_start: date) -> date:
    if week_start.weekday() != 0:
        raise ValidationError(
            "a roster week starts on a Monday",
            code="week_not_monday",
            details={"monday": monday(week_start).isoformat()},
        )
    return week_start


def _week_row(conn: sqlite3.Connection, week_start: date) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM staff_weeks WHERE week_start = ?", (week_start.isoformat(),)).fetchone()
    return (
        dict(row)
        if row
        else {
            "week_start": week_start.isoformat(),
            "status": "draft",
            "version": 0,
            "published_at": None,
            "published_by": None,
        }
    )


def _shift_dict(r: sqlite3.Row) -> dict[str, Any]:
    return {k: r[k] for k in ("id", "week_start", "user_id", "starts_at", "ends_at", "role", "area", "skill")}


def _rule_shifts(
    conn: sqlite3.Connection, lo: datetime, hi: datetime, user_ids: list[str] | None = None
) -> list[rules.Shift]:
    sql, args = (
        "SELECT id, user_id, starts_at, ends_at, skill FROM staff_shifts WHERE starts_at >= ? AND starts_at < ?",
        [iso(lo), iso(hi)],
    )
    if user_ids is not None:
        sql += f" AND user_id IN ({','.join('?' * len(user_ids))})"
        args += user_ids
    return [
        rules.Shift(r["id"], r["user_id"], parse_iso(r["starts_at"]), parse_iso(r["ends_at"]), r["skill"])
        for r in conn.execute(sql, args)
    ]


def people(conn: sqlite3.Connection, user_ids: set[str], first: date, last: date) -> rules.People:
    """Skills, approved leave days between two dates and weekly availability of the people named."""
    ids = sorted(user_ids)
    marks = ",".join("?" * len(ids))
    skills = {
        r["user_id"]: frozenset(json.loads(r["skills"]))
        for r in conn.execute(f"SELECT user_id, skills FROM staff_profiles WHERE user_id IN ({marks})", ids)
    }
    leave: dict[str, set[date]] = {}
    for r in conn.execute(
        f"SELECT user_id, first_day, last_day FROM staff_leave WHERE status = 'approved'"
        f" AND last_day >= ? AND first_day <= ? AND user_id IN ({marks})",
        [first.isoformat(), last.isoformat(), *ids],
    ):
        d, end = date.fromisoformat(r["first_day"]), date.fromisoformat(r["last_day"])
        while d <= end:
            leave.setdefault(r["user_id"], set()).add(d)
            d += timedelta(days=1)
    avail: dict[str, dict[int, tuple[int, int]]] = {}
    for r in conn.execute(f"SELECT * FROM staff_availability WHERE user_id IN ({marks})", ids):
        avail.setdefault(r["user_id"], {})[r["weekday"]] = (r["from_min"], r["to_min"])
    return rules.People(skills, {k: frozenset(v) for k, v in leave.items()}, avail)


def violations(
    conn: sqlite3.Connection, week_start: date, *, user_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """Every rule the week's shifts break (the days either side are read too: rest crosses a week's edge)."""
    tz = attendance.zone(conn)
    lo, hi = (
        rules.local_at(week_start - timedelta(days=1), 0, tz),
        rules.local_at(week_start + timedelta(days=8), 0, tz),
    )
    shifts = _rule_shifts(conn, lo, hi, user_ids)
    if not shifts:
        return []
    found = rules.check_roster(
        shifts,
        people(conn, {s.user_id for s in shifts}, week_start - timedelta(days=1), week_start + timedelta(days=8)),
        settings.get(conn, "staff.roster_rules"),
        tz,
    )
    week_lo, week_hi = rules.local_at(week_start, 0, tz), rules.local_at(week_start + timedelta(days=7), 0, tz)
    inside = {s.id for s in shifts if week_lo <= s.start < week_hi}
    return [v.to_dict() for v in found if inside.intersection(v.shift_ids)]


def _refuse_if_broken(conn: sqlite3.Connection, shift_id: str, user_id: str, week_start: date) -> None:
    found = [v for v in violations(conn, week_start, user_ids=[user_id]) if shift_id in v["shift_ids"]]
    if found:
        rule_names = sorted({v["rule"] for v in found})
        raise Conflict(
            f"this shift breaks the roster rule {', '.join(rule_names)}",
            code="roster_rule_broken",
            details={"rules": rule_names, "violations": found},
        )


def week(conn: sqlite3.Connection, week_start: date) -> dict[str, Any]:
    """A week for the supervisor: its status, every shift, the violations, leave and the kind of each day."""
    week_start = _week(week_start)
    out = _week_row(conn, week_start)
    out["shifts"] = [
        _shift_dict(r)
        for r in conn.execute(
            "SELECT * FROM staff_shifts WHERE week_start = ? ORDER BY starts_at, user_id", (week_start.isoformat(),)
        )
    ]
    out["violations"] = violations(conn, week_start)
    out["days"] = _days(conn, week_start)
    last = week_start + timedelta(days=6)
    out["leave"] = [
        dict(r)
        for r in conn.execute(
            "SELECT id, user_id, first_day, last_day, kind, status FROM staff_leave WHERE status != 'rejected'"
            " AND last_day >= ? AND first_day <= ? ORDER BY first_day",
            (week_start.isoformat(), last.isoformat()),
        )
    ]
    return out


def _days(conn: sqlite3.Connection, week_start: date) -> list[dict[str, Any]]:
    statutory = settings.get(conn, "staff.statutory_days")
    mult = settings.get(conn, "staff.pay_multipliers")
    out = []
    for i in range(7):
        d = week_start + timedelta(days=i)
        kind = calendar.day_kind(d, statutory)
        out.append(
            {
                "day": d.isoformat(),
                "kind": kind,
                "holiday": calendar.holiday_name(d),
                "multiplier": mult["regular" if kind == "workday" else kind],
            }
        )
    return out


def _times(conn: sqlite3.Connection, day: date, start: str, end: str) -> tuple[str, str]:
    """UTC start and end of a shift given as a local day and HH:MM times; an end not after the start is the next
    day (a night shift)."""
    tz = attendance.zone(conn)
    s_min, e_min = rules.parse_hhmm(start), rules.parse_hhmm(end)
    if e_min <= s_min:
        e_min += 1440
    return iso(rules.local_at(day, s_min, tz)), iso(rules.local_at(day, e_min, tz))


def _active_user(conn: sqlite3.Connection, user_id: str) -> None:
    row = conn.execute("SELECT active FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise NotFound(f"no user {user_id}", code="user_not_found")
    if not row["active"]:
        raise Conflict("this person is disabled", code="user_disabled")


def _changed(conn: sqlite3.Connection, week_start: date, change: str, shift_id: str, user_ids: list[str]) -> None:
    w = _week_row(conn, week_start)
    if w["status"] != "published":
        return
    conn.execute("UPDATE staff_weeks SET version = version + 1 WHERE week_start = ?", (week_start.isoformat(),))
    outbox.record(
        conn,
        "staff.roster.changed",
        {
            "week_start": week_start.isoformat(),
            "version": w["version"] + 1,
            "change": change,
            "shift_id": shift_id,
            "user_ids": sorted(set(user_ids)),
        },
    )


def add_shift(
    conn: sqlite3.Connection,
    *,
    user_id: str,
    day: date,
    start: str,
    end: str,
    role: str,
    area: str,
    skill: str | None = None,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    attendance.require_supervisor(conn, actor)
    _active_user(conn, user_id)
    starts_at, ends_at = _times(conn, day, start, end)
    wk = monday(day)
    row = {
        "id": new_id(),
        "week_start": wk.isoformat(),
        "user_id": user_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "role": role,
        "area": area,
        "skill": skill,
    }
    conn.execute(
        "INSERT INTO staff_shifts(id, week_start, user_id, starts_at, ends_at, role, area, skill, created_by,"
        " updated_at) VALUES (:id, :week_start, :user_id, :starts_at, :ends_at, :role, :area, :skill,"
        " :actor, :now)",
        {**row, "actor": actor, "now": iso(utcnow())},
    )
    _refuse_if_broken(conn, str(row["id"]), user_id, wk)
    _changed(conn, wk, "added", str(row["id"]), [user_id])
    audit.log(conn, actor=actor, device=device, action="staff.shift_added", target=row["id"], details=row)
    return row


def _shift(conn: sqlite3.Connection, shift_id: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM staff_shifts WHERE id = ?", (shift_id,)).fetchone()
    if r is None:
        raise NotFound(f"no shift {shift_id}", code="shift_not_found")
    return _shift_dict(r)


def update_shift(
    conn: sqlite3.Connection,
    shift_id: str,
    *,
    actor: str,
    device: str | None = None,
    user_id: str | None = None,
    day: date | None = None,
    start: str | None = None,
    end: str | None = None,
    role: str | None = None,
    area: str | None = None,
    skill: str | None = None,
    clear_skill: bool = False,
) -> dict[str, Any]:
    """Move, reassign or change a shift; the changed shift is checked like a new one."""
    attendance.require_supervisor(conn, actor)
    old = _shift(conn, shift_id)
    tz = attendance.zone(conn)
    old_start, old_end = parse_iso(old["starts_at"]).astimezone(tz), parse_iso(old["ends_at"]).astimezone(tz)
    new = dict(old)
    if user_id is not None:
        _active_user(conn, user_id)
        new["user_id"] = user_id
    if day is not None or start is not None or end is not None:
        d = day or old_start.date()
        new["starts_at"], new["ends_at"] = _times(
            conn, d, start or old_start.strftime("%H:%M"), end or old_end.strftime("%H:%M")
        )
        new["week_start"] = monday(d).isoformat()
    for k, v in (("role", role), ("area", area), ("skill", skill)):
        if v is not None:
            new[k] = v
    if clear_skill:
        new["skill"] = None
    conn.execute(
        "UPDATE staff_shifts SET week_start = :week_start, user_id = :user_id, starts_at = :starts_at,"
        " ends_at = :ends_at, role = :role, area = :area, skill = :skill, updated_at = :now WHERE id = :id",
        {**new, "now": iso(utcnow())},
    )
    _refuse_if_broken(conn, shift_id, new["user_id"], date.fromisoformat(new["week_start"]))
    for wk in {old["week_start"], new["week_start"]}:
        _changed(conn, date.fromisoformat(wk), "updated", shift_id, [old["user_id"], new["user_id"]])
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="staff.shift_updated",
        target=shift_id,
        details={"before": old, "after": new},
    )
    return new


def remove_shift(conn: sqlite3.Connection, shift_id: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    attendance.require_supervisor(conn, actor)
    old = _shift(conn, shift_id)
    conn.execute("DELETE FROM staff_shifts WHERE id = ?", (shift_id,))
    _changed(conn, date.fromisoformat(old["week_start"]), "removed", shift_id, [old["user_id"]])
    audit.log(conn, actor=actor, device=device, action="staff.shift_removed", target=shift_id, details=old)
    return old


def copy_previous(
    conn: sqlite3.Connection, week_start: date, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Copy last week's shifts into this week, seven days later. Each copy is checked like a new shift; one that
    breaks a rule now (someone's leave, a changed limit, a shift already there) is left out and listed with the
    rule, the others are copied."""
    attendance.require_supervisor(conn, actor)
    week_start = _week(week_start)
    prev = week_start - timedelta(days=7)
    tz = attendance.zone(conn)
    copied, refused = [], []
    for r in conn.execute(
        "SELECT * FROM staff_shifts WHERE week_start = ? ORDER BY starts_at", (prev.isoformat(),)
    ).fetchall():
        start, end = parse_iso(r["starts_at"]).astimezone(tz), parse_iso(r["ends_at"]).astimezone(tz)
        conn.execute("SAVEPOINT staff_copy")
        try:
            s = add_shift(
                conn,
                user_id=r["user_id"],
                day=start.date() + timedelta(days=7),
                start=start.strftime("%H:%M"),
                end=end.strftime("%H:%M"),
                role=r["role"],
                area=r["area"],
                skill=r["skill"],
                actor=actor,
                device=device,
            )
            conn.execute("RELEASE staff_copy")
            copied.append(s)
        except (Conflict, NotFound) as exc:
            conn.execute("ROLLBACK TO staff_copy")
            conn.execute("RELEASE staff_copy")
            refused.append(
                {
                    "from_shift": r["id"],
                    "user_id": r["user_id"],
                    "code": exc.code,
                    "rules": (exc.details or {}).get("rules", []) if isinstance(exc.details, dict) else [],
                }
            )
    return {"week_start": week_start.isoformat(), "copied": copied, "refused": refused}


def publish(conn: sqlite3.Connection, week_start: date, *, actor: str, device: str | None = None) -> dict[str, Any]:
    """Publish a week: its people see their shifts. A week that breaks a rule is not published."""
    attendance.require_supervisor(conn, actor)
    week_start = _week(week_start)
    found = violations(conn, week_start)
    if found:
        names = sorted({v["rule"] for v in found})
        raise Conflict(
            f"the week breaks the roster rule {', '.join(names)}",
            code="roster_rule_broken",
            details={"rules": names, "violations": found},
        )
    w = _week_row(conn, week_start)
    version = w["version"] + 1
    now = iso(utcnow())
    conn.execute(
        "INSERT INTO staff_weeks(week_start, status, version, published_at, published_by)"
        " VALUES (?, 'published', ?, ?, ?) ON CONFLICT(week_start) DO UPDATE SET status = 'published',"
        " version = excluded.version, published_at = excluded.published_at,"
        " published_by = excluded.published_by",
        (week_start.isoformat(), version, now, actor),
    )
    shifts = [
        _shift_dict(r)
        for r in conn.execute(
            "SELECT * FROM staff_shifts WHERE week_start = ? ORDER BY starts_at, id", (week_start.isoformat(),)
        )
    ]
    outbox.record(
        conn,
        "staff.roster.published",
        {
            "week_start": week_start.isoformat(),
            "version": version,
            "user_ids": sorted({s["user_id"] for s in shifts}),
            "shifts": [
                {k: s[k] for k in ("id", "user_id", "starts_at", "ends_at", "role", "area", "skill")} for s in shifts
            ],
        },
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="staff.roster_published",
        target=week_start.isoformat(),
        details={"version": version, "shifts": len(shifts)},
    )
    return week(conn, week_start)


def my_shifts(conn: sqlite3.Connection, user_id: str, week_start: date) -> dict[str, Any]:
    """A person's own shifts of a published week (a draft shows nothing yet) and the kind of each day."""
    week_start = _week(week_start)
    w = _week_row(conn, week_start)
    shifts = (
        []
        if w["status"] != "published"
        else [
            _shift_dict(r)
            for r in conn.execute(
                "SELECT * FROM staff_shifts WHERE week_start = ? AND user_id = ? ORDER BY starts_at",
                (week_start.isoformat(), user_id),
            )
        ]
    )
    return {
        "week_start": week_start.isoformat(),
        "status": w["status"],
        "version": w["version"],
        "shifts": shifts,
        "days": _days(conn, week_start),
    }


# ---------------------------------------------------------------- people: skills, availability, leave


def set_profile(
    conn: sqlite3.Connection,
    user_id: str,
    *,
    skills: list[str],
    employee_no: str | None,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    attendance.require_supervisor(conn, actor)
    _active_user(conn, user_id)
    clean = sorted({s.strip() for s in skills if s.strip()})
    conn.execute(
        "INSERT INTO staff_profiles(user_id, employee_no, skills, updated_at) VALUES (?,?,?,?)"
        " ON CONFLICT(user_id) DO UPDATE SET employee_no = excluded.employee_no, skills = excluded.skills,"
        " updated_at = excluded.updated_at",
        (user_id, employee_no, json.dumps(clean), iso(utcnow())),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="staff.profile",
        target=user_id,
        details={"skills": clean, "employee_no": employee_no},
    )
    return {"user_id": user_id, "skills": clean, "employee_no": employee_no}


def directory(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Active people with their roles, skills and payroll numbers (the roster screen's list), by name (the name
    is stored encrypted, so they are sorted here, not in SQL)."""
    out = [
        {
            "user_id": r["id"],
            "username": r["username"],
            "display_name": users.display_name(conn, r["id"], r["display_name"]),
            "role": r["role"],
            "employee_no": r["employee_no"],
            "skills": json.loads(r["skills"] or "[]"),
        }
        for r in conn.execute(
            "SELECT u.id, u.username, u.display_name, u.role, p.employee_no, p.skills"
            " FROM users u LEFT JOIN staff_profiles p ON p.user_id = u.id"
            " WHERE u.active = 1"
        )
    ]
    return sorted(out, key=lambda p: (p["display_name"], p["username"]))


def set_availability(
    conn: sqlite3.Connection, user_id: str, windows: list[dict[str, Any]], *, actor: str, device: str | None = None
) -> list[dict[str, Any]]:
    """A person's weekly availability (their own, or anyone's by a supervisor). None listed: no restriction."""
    if actor != user_id:
        attendance.require_supervisor(conn, actor)
    _active_user(conn, user_id)
    days = [w["weekday"] for w in windows]
    if len(days) != len(set(days)):
        raise ValidationError("one window per weekday", code="duplicate_weekday")
    rows = []
    for w in windows:
        lo, hi = rules.parse_hhmm(w["from"]), 1440 if w["to"] == "24:00" else rules.parse_hhmm(w["to"])
        if hi <= lo:
            raise ValidationError("a window ends after it starts", code="invalid_window", details=w)
        rows.append((user_id, w["weekday"], lo, hi))
    conn.execute("DELETE FROM staff_availability WHERE user_id = ?", (user_id,))
    conn.executemany("INSERT INTO staff_availability(user_id, weekday, from_min, to_min) VALUES (?,?,?,?)", rows)
    audit.log(
        conn, actor=actor, device=device, action="staff.availability", target=user_id, details={"windows": windows}
    )
    return windows


def request_leave(
    conn: sqlite3.Connection,
    *,
    user_id: str,
    first_day: date,
    last_day: date,
    kind: str,
    note: str | None,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    if actor != user_id:
        attendance.require_supervisor(conn, actor)
    _active_user(conn, user_id)
    if last_day < first_day or (last_day - first_day).days > 90:
        raise ValidationError("leave covers 1 to 91 days", code="invalid_range")
    row = {
        "id": new_id(),
        "user_id": user_id,
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "kind": kind,
        "note": note,
        "status": "pending",
        "requested_at": iso(utcnow()),
        "decided_by": None,
        "decided_at": None,
    }
    conn.execute(
        "INSERT INTO staff_leave VALUES (:id, :user_id, :first_day, :last_day, :kind, :note, :status,"
        " :requested_at, :decided_by, :decided_at)",
        row,
    )
    outbox.record(
        conn,
        "staff.leave",
        {k: row[k] for k in ("id", "user_id", "first_day", "last_day", "kind", "status", "decided_by")},
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="staff.leave_requested",
        target=row["id"],
        details={"user_id": user_id, "first_day": row["first_day"], "last_day": row["last_day"]},
    )
    return row


def decide_leave(
    conn: sqlite3.Connection, leave_id: str, *, approve: bool, actor: str, device: str | None = None
) -> dict[str, Any]:
    """A supervisor approves or rejects someone else's leave. Approved leave makes their shifts on those days
    violations (``on_leave``) on the roster, for the supervisor to move."""
    attendance.require_supervisor(conn, actor)
    r = conn.execute("SELECT * FROM staff_leave WHERE id = ?", (leave_id,)).fetchone()
    if r is None:
        raise NotFound(f"no leave request {leave_id}", code="leave_not_found")
    row = dict(r)
    if row["user_id"] == actor:
        raise Forbidden("a supervisor does not approve their own leave", code="own_leave")
    if row["status"] != "pending":
        raise Conflict(f"this request is already {row['status']}", code="leave_decided")
    row.update(status="approved" if approve else "rejected", decided_by=actor, decided_at=iso(utcnow()))
    conn.execute(
        "UPDATE staff_leave SET status = ?, decided_by = ?, decided_at = ? WHERE id = ?",
        (row["status"], actor, row["decided_at"], leave_id),
    )
    outbox.record(
        conn,
        "staff.leave",
        {k: row[k] for k in ("id", "user_id", "first_day", "last_day", "kind", "status", "decided_by")},
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="staff.leave_" + row["status"],
        target=leave_id,
        details={"user_id": row["user_id"]},
    )
    return row


def leave_requests(
    conn: sqlite3.Connection, *, user_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM staff_leave WHERE 1 = 1", []
    if user_id:
        sql += " AND user_id = ?"
        args.append(user_id)
    if status:
        sql += " AND status = ?"
        args.append(status)
    return [dict(r) for r in conn.execute(sql + " ORDER BY first_day DESC LIMIT ?", (*args, limit))]

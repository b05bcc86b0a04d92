"""Staff: pure decisions (no database, no I/O) — the roster's rules, attendance exceptions and how worked time
splits into pay categories. Every rule reads its numbers from data (the store's settings), so a store changes a
limit without a release; each function is tested on its own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

ROSTER_RULES = ("double_booking", "min_rest", "max_hours_day", "max_hours_week", "skill", "on_leave", "unavailable")
EXCEPTIONS = ("late", "early_leave", "absent", "missing_clock_out", "unrostered")
CATEGORIES = ("regular", "overtime", "rest_day", "holiday")


@dataclass(frozen=True)
class Shift:
    id: str
    user_id: str
    start: datetime  # aware (any zone); compared as instants
    end: datetime
    skill: str | None = None


@dataclass(frozen=True)
class Violation:
    rule: str
    user_id: str
    shift_ids: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "user_id": self.user_id, "shift_ids": list(self.shift_ids), "details": self.details}


@dataclass(frozen=True)
class People:
    """What the roster rules know about the people: skills, approved leave days, weekly availability."""

    skills: dict[str, frozenset[str]] = field(default_factory=dict)
    leave_days: dict[str, frozenset[date]] = field(default_factory=dict)
    availability: dict[str, dict[int, tuple[int, int]]] = field(default_factory=dict)  # weekday → (from, to) min


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def check_roster(shifts: Iterable[Shift], people: People, rules: dict[str, Any], zone: tzinfo) -> list[Violation]:
    """Every rule the shifts break, per person. ``rules``: ``min_rest_hours``, ``max_hours_day``,
    ``max_hours_week``. Days and weeks (Monday to Sunday) are the store's local ones; a shift counts on the day
    it starts. Pass the neighbouring days' shifts too: rest is checked across a week's edge."""
    by_user: dict[str, list[Shift]] = defaultdict(list)
    for s in shifts:
        by_user[s.user_id].append(s)
    out: list[Violation] = []
    min_rest = timedelta(hours=rules["min_rest_hours"])
    max_day, max_week = rules["max_hours_day"] * 3600, rules["max_hours_week"] * 3600
    for uid, mine in by_user.items():
        mine.sort(key=lambda s: (s.start, s.id))
        skills = people.skills.get(uid, frozenset())
        leave = people.leave_days.get(uid, frozenset())
        avail = people.availability.get(uid)
        day_s: dict[date, list[Shift]] = defaultdict(list)
        week_s: dict[date, list[Shift]] = defaultdict(list)
        for i, s in enumerate(mine):
            local_start, local_end = s.start.astimezone(zone), s.end.astimezone(zone)
            day = local_start.date()
            day_s[day].append(s)
            week_s[day - timedelta(days=day.weekday())].append(s)
            if s.skill and s.skill not in skills:
                out.append(Violation("skill", uid, (s.id,), {"skill": s.skill}))
            if day in leave or local_end.date() in leave:
                out.append(Violation("on_leave", uid, (s.id,), {"day": day.isoformat()}))
            if avail is not None and not _within(avail, local_start, local_end):
                window = avail.get(day.weekday())
                out.append(
                    Violation(
                        "unavailable",
                        uid,
                        (s.id,),
                        {"weekday": day.weekday(), "available": list(window) if window else None},
                    )
                )
            # every earlier shift still running when this one starts is a double booking; else check the rest
            j = i - 1
            while j >= 0:
                prev = mine[j]
                if prev.end > s.start:
                    out.append(Violation("double_booking", uid, (prev.id, s.id), {}))
                j -= 1
                if prev.end <= s.start or j < 0:
                    break
            if i > 0 and mine[i - 1].end <= s.start < mine[i - 1].end + min_rest:
                rest = (s.start - mine[i - 1].end).total_seconds()
                out.append(
                    Violation(
                        "min_rest",
                        uid,
                        (mine[i - 1].id, s.id),
                        {"rest_hours": _hours(rest), "min_rest_hours": rules["min_rest_hours"]},
                    )
                )
        for day, group in day_s.items():
            total = sum((s.end - s.start).total_seconds() for s in group)
            if total > max_day:
                out.append(
                    Violation(
                        "max_hours_day",
                        uid,
                        tuple(s.id for s in group),
                        {"day": day.isoformat(), "hours": _hours(total), "max_hours_day": rules["max_hours_day"]},
                    )
                )
        for week, group in week_s.items():
            total = sum((s.end - s.start).total_seconds() for s in group)
            if total > max_week:
                out.append(
                    Violation(
                        "max_hours_week",
                        uid,
                        tuple(s.id for s in group),
                        {
                            "week_start": week.isoformat(),
                            "hours": _hours(total),
                            "max_hours_week": rules["max_hours_week"],
                        },
                    )
                )
    return out


def _within(avail: dict[int, tuple[int, int]], start: datetime, end: datetime) -> bool:
    """A shift is inside a person's availability when its start day's window holds it (an overnight shift
    needs a window to 24:00 and the next day's from 00:00)."""
    window = avail.get(start.weekday())
    if window is None:
        return False
    start_min = start.hour * 60 + start.minute
    if end.date() == start.date():
        return window[0] <= start_min and end.hour * 60 + end.minute <= window[1]
    nxt = avail.get(end.weekday())
    return (
        window[0] <= start_min
        and window[1] == 1440
        and nxt is not None
        and nxt[0] == 0
        and end.hour * 60 + end.minute <= nxt[1]
    )


# ---------------------------------------------------------------- attendance exceptions


@dataclass(frozen=True)
class Worked:
    """A session of work: clock-in to clock-out (``end`` None while still clocked in)."""

    id: str
    user_id: str
    start: datetime
    end: datetime | None


def exceptions(
    shifts: Iterable[Shift], sessions: Iterable[Worked], *, now: datetime, grace_min: int, missing_after_h: float
) -> list[dict[str, Any]]:
    """Late, early leave, absent, missing clock-out and unrostered work, comparing sessions with the roster.

    A session belongs to a shift of the same person when they overlap (the grace widened); a shift with no
    session is ``absent`` once it has ended and ``late`` while it runs; an open session older than
    ``missing_after_h`` is a ``missing_clock_out`` (a supervisor closes it with a reason)."""
    grace = timedelta(minutes=grace_min)
    by_user: dict[str, list[Worked]] = defaultdict(list)
    for w in sessions:
        by_user[w.user_id].append(w)
    matched: set[str] = set()
    out: list[dict[str, Any]] = []
    for s in sorted(shifts, key=lambda x: (x.start, x.user_id, x.id)):
        mine = [w for w in by_user.get(s.user_id, ()) if w.start < s.end + grace and (w.end or now) > s.start - grace]
        base = {"user_id": s.user_id, "shift_id": s.id, "session_id": None}
        if not mine:
            if now >= s.end:
                out.append({**base, "kind": "absent", "minutes": int((s.end - s.start).total_seconds() // 60)})
            elif now > s.start + grace:
                out.append({**base, "kind": "late", "minutes": int((now - s.start).total_seconds() // 60)})
            continue
        mine.sort(key=lambda w: w.start)
        matched.update(w.id for w in mine)
        first, last = mine[0], mine[-1]
        if first.start > s.start + grace:
            out.append(
                {
                    **base,
                    "session_id": first.id,
                    "kind": "late",
                    "minutes": int((first.start - s.start).total_seconds() // 60),
                }
            )
        if last.end is not None and last.end < s.end - grace:
            out.append(
                {
                    **base,
                    "session_id": last.id,
                    "kind": "early_leave",
                    "minutes": int((s.end - last.end).total_seconds() // 60),
                }
            )
    for uid, ws in by_user.items():
        for w in ws:
            if w.end is None and now - w.start > timedelta(hours=missing_after_h):
                out.append(
                    {
                        "user_id": uid,
                        "shift_id": None,
                        "session_id": w.id,
                        "kind": "missing_clock_out",
                        "minutes": int((now - w.start).total_seconds() // 60),
                    }
                )
            if w.id not in matched:
                end = w.end or now
                out.append(
                    {
                        "user_id": uid,
                        "shift_id": None,
                        "session_id": w.id,
                        "kind": "unrostered",
                        "minutes": int((end - w.start).total_seconds() // 60),
                    }
                )
    return out


# ---------------------------------------------------------------- worked time into pay categories


def local_at(day: date, minutes: int, zone: tzinfo) -> datetime:
    """The instant of ``minutes`` after local midnight of ``day`` in ``zone``."""
    return datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minutes)


def parse_hhmm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def split_worked(
    intervals: Iterable[tuple[datetime, datetime]],
    *,
    zone: tzinfo,
    first_day: date,
    last_day: date,
    day_kind: Callable[[date], str],
    overtime: dict[str, Any],
    night: dict[str, str],
) -> dict[str, int]:
    """Seconds of ``regular``, ``overtime``, ``rest_day``, ``holiday`` and ``night`` work of one person between
    two local dates (inclusive).

    Work is cut at local midnight and at the night window's edges; each piece counts on its local date. On a
    working day the first ``daily_after_hours`` are regular, and so are a week's (Monday to Sunday) first
    ``weekly_after_hours``; the rest is overtime. Work on a rest day or a statutory holiday is its own category
    (paid at its own multiplier, never also overtime). ``night`` counts the pieces inside the night window on top
    of their category (it is a premium). Pass the work of the days since the Monday before ``first_day`` so the
    week's regular hours are counted from its start; only pieces from ``first_day`` to ``last_day`` are
    reported."""
    n_from, n_to = parse_hhmm(night["from"]), parse_hhmm(night["to"])
    daily_cap = int(overtime["daily_after_hours"] * 3600)
    weekly_cap = int(overtime["weekly_after_hours"] * 3600)
    pieces: list[tuple[datetime, int, date, bool]] = []
    for start, end in intervals:
        cur = start
        while cur < end:
            local = cur.astimezone(zone)
            day = local.date()
            cuts = [local_at(day, m, zone) for m in sorted({n_to, n_from, 1440})]
            nxt = min([c for c in cuts if c > cur] + [end])
            minute = local.hour * 60 + local.minute
            in_night = (n_from <= minute or minute < n_to) if n_from > n_to else (n_from <= minute < n_to)
            secs = int((nxt - cur).total_seconds())
            if secs > 0:
                pieces.append((cur, secs, day, in_night))
            cur = nxt
    pieces.sort(key=lambda p: p[0])
    out = {"regular": 0, "overtime": 0, "rest_day": 0, "holiday": 0, "night": 0}
    day_reg: dict[date, int] = defaultdict(int)
    week_reg: dict[date, int] = defaultdict(int)
    for _at, secs, day, in_night in pieces:
        report = first_day <= day <= last_day
        kind = day_kind(day) if report or day < first_day else "workday"
        week = day - timedelta(days=day.weekday())
        if kind == "workday":
            room = max(0, min(daily_cap - day_reg[day], weekly_cap - week_reg[week]))
            reg = min(secs, room)
            day_reg[day] += reg
            week_reg[week] += reg
            if report:
                out["regular"] += reg
                out["overtime"] += secs - reg
        elif report:
            out[kind] += secs
        if report and in_night:
            out["night"] += secs
    return out

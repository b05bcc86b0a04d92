"""Demand-based rosters: staff needed per hour from the store's own sales history, and a suggested week that
covers it within the roster rules.

The need for an hour of a weekday is the average number of items sold in that hour over the last weeks (from the
checkout's sale records, ``checkout_sales`` / ``checkout_sale_lines``, in the store's local time) divided by the
productivity target at the till (``staff.demand_targets``: items per hour), rounded up, and never below the
minimum crew during opening hours. The suggestion places shifts greedily hour by hour where coverage falls short,
offering each hour to the person with the fewest suggested hours who has the skill, and keeps a shift only when
``hub.staff.rules.check_roster`` finds nothing wrong with it beside that person's other shifts — so a suggestion
never breaks a rule. It is only shown: the manager accepts all or part of it (each shift goes through
``hub.staff.roster.add_shift``, the same check as a shift placed by hand) or edits it first.

The pure part (``average_items``, ``staff_needed``, ``coverage``, ``suggest``) takes plain values and is tested on a
known week; ``plan`` and ``accept`` read and write the database."""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from hub.kernel import settings
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.protocol.timeutil import iso, parse_iso
from hub.staff import attendance, roster, rules

Slot = tuple[int, int]  # (day of the week 0 = Monday, local hour 0-23)


def average_items(sales: Iterable[tuple[datetime, int]], weeks: int, zone: tzinfo) -> dict[Slot, float]:
    """Average items sold per (weekday, local hour) over ``weeks`` weeks, from (instant, items) of each sale."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    total: dict[Slot, int] = defaultdict(int)
    for at, items in sales:
        local = at.astimezone(zone)
        total[(local.weekday(), local.hour)] += items
    return {slot: n / weeks for slot, n in total.items()}


def staff_needed(avg_items: dict[Slot, float], targets: dict[str, Any]) -> dict[Slot, int]:
    """People needed per (weekday, hour): items ÷ the till's items per hour, rounded up; the minimum crew in every
    opening hour (``open``–``close``, local), nobody outside them."""
    per_hour = targets["till_items_per_hour"]
    opens, closes = rules.parse_hhmm(targets["open"]) // 60, math.ceil(rules.parse_hhmm(targets["close"]) / 60)
    need: dict[Slot, int] = {}
    for day in range(7):
        for hour in range(opens, closes):
            need[(day, hour)] = max(targets["min_staff"], math.ceil(round(avg_items.get((day, hour), 0) / per_hour, 6)))
    return need


@dataclass(frozen=True)
class Suggested:
    user_id: str
    day: date
    start_hour: int
    end_hour: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "day": self.day.isoformat(),
            "start": f"{self.start_hour:02d}:00",
            "end": f"{self.end_hour % 24:02d}:00",  # 00:00 is midnight at the day's end
        }


def coverage(shifts: Iterable[rules.Shift], week_start: date, zone: tzinfo) -> dict[Slot, int]:
    """People on a shift for the whole of each local hour of the week."""
    out: dict[Slot, int] = defaultdict(int)
    for s in shifts:
        for d in range(7):
            day = week_start + timedelta(days=d)
            for hour in range(24):
                lo = rules.local_at(day, hour * 60, zone)
                if s.start <= lo and s.end >= lo + timedelta(hours=1):
                    out[(d, hour)] += 1
    return dict(out)


def suggest(
    need: dict[Slot, int],
    *,
    week_start: date,
    candidates: list[str],
    people: rules.People,
    existing: list[rules.Shift],
    roster_rules: dict[str, Any],
    zone: tzinfo,
    shift_hours: int,
    close_hour: int,
    skill: str | None = "till",
) -> tuple[list[Suggested], dict[Slot, int]]:
    """Shifts that bring coverage up to the need, none breaking a rule, and what stays uncovered per slot.

    Hours are taken in order; where an hour is short, the person with the fewest hours (suggested and already
    rostered) who has ``skill`` gets a shift from that hour for ``shift_hours`` (cut at closing), if the rules allow
    it beside their other shifts; else the next person is tried."""
    have = coverage(existing, week_start, zone)
    shifts = list(existing)
    hours: dict[str, float] = defaultdict(float)
    for s in existing:
        hours[s.user_id] += (s.end - s.start).total_seconds() / 3600
    able = [u for u in candidates if skill is None or skill in people.skills.get(u, frozenset())]
    out: list[Suggested] = []
    uncovered: dict[Slot, int] = {}
    for slot in sorted(need):
        d, hour = slot
        while have.get(slot, 0) < need[slot]:
            day = week_start + timedelta(days=d)
            end_hour = min(hour + shift_hours, close_hour)
            start, end = rules.local_at(day, hour * 60, zone), rules.local_at(day, end_hour * 60, zone)
            placed = False
            for uid in sorted(able, key=lambda u: (hours[u], u)):
                trial = rules.Shift(f"suggested-{len(out)}", uid, start, end, skill)
                mine = [s for s in shifts if s.user_id == uid] + [trial]
                if rules.check_roster(mine, people, roster_rules, zone):
                    continue
                shifts.append(trial)
                hours[uid] += end_hour - hour
                out.append(Suggested(uid, day, hour, end_hour))
                for h in range(hour, end_hour):
                    have[(d, h)] = have.get((d, h), 0) + 1
                placed = True
                break
            if not placed:
                uncovered[slot] = need[slot] - have.get(slot, 0)
                break
    return out, uncovered


def _sales_items(conn: sqlite3.Connection, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """(time, items) of each sale between two instants: a weighed line is one item, else its quantity."""
    return [
        (parse_iso(r["ts"]), int(r["items"]))
        for r in conn.execute(
            "SELECT s.ts, SUM(CASE WHEN l.weighed THEN 1 ELSE l.qty END) AS items FROM checkout_sales s"
            " JOIN checkout_sale_lines l ON l.sale_id = s.id"
            " WHERE s.kind = 'sale' AND s.ts >= ? AND s.ts < ? GROUP BY s.id",
            (iso(lo), iso(hi)),
        )
    ]


def _slots(values: dict[Slot, Any]) -> list[dict[str, Any]]:
    return [{"weekday": d, "hour": h, "value": v} for (d, h), v in sorted(values.items())]


def plan(conn: sqlite3.Connection, week_start: date, *, weeks: int | None = None) -> dict[str, Any]:
    """For the roster screen: items, need and coverage per hour of the week, and the suggested shifts (not saved)."""
    week_start = roster._week(week_start)
    targets = settings.get(conn, "staff.demand_targets")
    weeks = weeks or targets["history_weeks"]
    if not 1 <= weeks <= 26:
        raise ValidationError("history covers 1 to 26 weeks", code="invalid_history_weeks")
    tz = attendance.zone(conn)
    lo, hi = rules.local_at(week_start - timedelta(weeks=weeks), 0, tz), rules.local_at(week_start, 0, tz)
    avg = average_items(_sales_items(conn, lo, hi), weeks, tz)
    need = staff_needed(avg, targets)
    week_lo, week_hi = rules.local_at(week_start, 0, tz), rules.local_at(week_start + timedelta(days=7), 0, tz)
    # the days either side too: rest between shifts is checked across the week's edge
    existing = roster._rule_shifts(conn, week_lo - timedelta(days=1), week_hi + timedelta(days=1))
    candidates = [p["user_id"] for p in roster.directory(conn)]
    people = roster.people(conn, set(candidates), week_start - timedelta(days=1), week_start + timedelta(days=8))
    close_hour = math.ceil(rules.parse_hhmm(targets["close"]) / 60)
    suggested, uncovered = suggest(
        need,
        week_start=week_start,
        candidates=candidates,
        people=people,
        existing=existing,
        roster_rules=settings.get(conn, "staff.roster_rules"),
        zone=tz,
        shift_hours=targets["shift_hours"],
        close_hour=close_hour,
        skill=targets["skill"],
    )
    inside = [s for s in existing if week_lo <= s.start < week_hi]
    return {
        "week_start": week_start.isoformat(),
        "history_weeks": weeks,
        "targets": targets,
        "items": _slots({k: round(v, 2) for k, v in avg.items()}),
        "need": _slots(need),
        "coverage": _slots(coverage(inside, week_start, tz)),
        "suggested": [s.to_dict() for s in suggested],
        "uncovered": _slots(uncovered),
    }


def accept(
    conn: sqlite3.Connection,
    week_start: date,
    shifts: list[dict[str, Any]],
    *,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Place the accepted (perhaps edited) suggestions, each through the roster's own check: the ones a rule
    refuses are listed with the rules, the others are added."""
    week_start = roster._week(week_start)
    attendance.require_supervisor(conn, actor)
    skill = settings.get(conn, "staff.demand_targets")["skill"]
    added, refused = [], []
    for s in shifts:
        day = attendance.parse_day(s["day"])
        if roster.monday(day) != week_start:
            raise ValidationError(
                "a suggested shift lies outside the week", code="shift_outside_week", details={"day": s["day"]}
            )
        conn.execute("SAVEPOINT staff_suggestion")
        try:
            row = roster.add_shift(
                conn,
                user_id=s["user_id"],
                day=day,
                start=s["start"],
                end=s["end"],
                role=s.get("role") or "associate",
                area=s.get("area") or "till",
                skill=skill,
                actor=actor,
                device=device,
            )
            conn.execute("RELEASE staff_suggestion")
            added.append(row)
        except (Conflict, NotFound) as exc:
            conn.execute("ROLLBACK TO staff_suggestion")
            conn.execute("RELEASE staff_suggestion")
            rule_names = (exc.details or {}).get("rules", []) if isinstance(exc.details, dict) else []
            refused.append({**s, "code": exc.code, "rules": rule_names})
    return {"added": added, "refused": refused}

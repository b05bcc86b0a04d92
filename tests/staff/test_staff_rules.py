"""The staff domain's pure rules: day kinds from chinese-calendar (a holiday week with its working-day swap),
worked time split into pay categories with multipliers, the roster rules and attendance exceptions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.kernel.errors import Unprocessable
from hub.staff import calendar, rules

SH = ZoneInfo("Asia/Shanghai")
RULES = {"min_rest_hours": 11, "max_hours_day": 10, "max_hours_week": 44}
OVERTIME = {"daily_after_hours": 8, "weekly_after_hours": 40}
NIGHT = {"from": "22:00", "to": "06:00"}


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SH)


def shift(id_, day, start_h, end_h, user="u1", skill=None):
    start = at(day, start_h)
    end = at(day, end_h) if end_h > start_h else at(day + timedelta(days=1), end_h)
    return rules.Shift(id_, user, start, end, skill)


def test_national_day_2025_day_kinds_with_the_working_sunday():
    kinds = {
        date(2025, 9, 28) + timedelta(days=i): calendar.day_kind(date(2025, 9, 28) + timedelta(days=i))
        for i in range(12)
    }
    assert kinds[date(2025, 9, 28)] == "workday"  # a Sunday swapped into a working day (调休)
    assert kinds[date(2025, 9, 29)] == "workday"
    assert [kinds[date(2025, 10, d)] for d in (1, 2, 3)] == ["holiday"] * 3  # statutory, 300%
    assert kinds[date(2025, 10, 4)] == kinds[date(2025, 10, 5)] == "rest_day"  # weekend inside the period
    assert kinds[date(2025, 10, 6)] == "holiday"  # Mid-Autumn Festival
    assert kinds[date(2025, 10, 7)] == kinds[date(2025, 10, 8)] == "rest_day"  # days off in lieu
    assert kinds[date(2025, 10, 9)] == "workday"
    assert calendar.day_kind(date(2025, 10, 11)) == "workday"  # Saturday worked in exchange
    assert calendar.day_kind(date(2025, 10, 12)) == "rest_day"  # an ordinary Sunday


def test_a_store_lists_statutory_days_that_fall_on_a_weekend():
    assert calendar.day_kind(date(2024, 2, 10)) == "rest_day"  # Spring Festival's first day, a Saturday
    listed = ["2024-02-10", "2024-02-11", "2024-02-12"]
    assert calendar.day_kind(date(2024, 2, 10), listed) == "holiday"
    assert calendar.day_kind(date(2024, 2, 13), listed) == "rest_day"  # in the period, not listed
    assert calendar.day_kind(date(2024, 2, 18), listed) == "workday"  # the swapped Sunday stays a working day


def test_a_year_the_calendar_does_not_know_is_refused_clearly():
    with pytest.raises(Unprocessable) as e:
        calendar.day_kind(date(2099, 1, 1))
    assert e.value.code == "holiday_calendar_missing"


def test_holiday_week_hours_and_multipliers():
    """The week of National Day 2025: 9 hours each day (08:00-17:00) from the working Sunday to the Sunday after."""
    mult = {"regular": 1, "overtime": 1.5, "rest_day": 2, "holiday": 3, "night": 0.2}
    first, last = date(2025, 9, 29), date(2025, 10, 5)
    ivs = [(at(first + timedelta(days=i), 8), at(first + timedelta(days=i), 17)) for i in range(7)]
    got = rules.split_worked(
        ivs, zone=SH, first_day=first, last_day=last, day_kind=calendar.day_kind, overtime=OVERTIME, night=NIGHT
    )
    h = {k: v / 3600 for k, v in got.items()}
    # Mon 29, Tue 30: working days, 8 regular + 1 overtime each; Wed 1 - Fri 3 statutory; Sat 4, Sun 5 rest days
    assert h == {"regular": 16, "overtime": 2, "holiday": 27, "rest_day": 18, "night": 0}
    weighted = sum(h[k] * mult[k] for k in ("regular", "overtime", "rest_day", "holiday", "night"))
    assert weighted == 16 + 3 + 81 + 36


def test_weekly_overtime_counts_from_the_monday_and_night_is_a_premium():
    first = date(2025, 11, 10)  # a Monday; an ordinary week
    ivs = [(at(first + timedelta(days=i), 9), at(first + timedelta(days=i), 17)) for i in range(5)]  # 40 h
    ivs.append((at(first + timedelta(days=5), 22), at(first + timedelta(days=6), 2)))  # Sat night into Sunday
    got = rules.split_worked(
        ivs,
        zone=SH,
        first_day=first,
        last_day=first + timedelta(days=6),
        day_kind=calendar.day_kind,
        overtime=OVERTIME,
        night=NIGHT,
    )
    assert got == {"regular": 40 * 3600, "overtime": 0, "rest_day": 4 * 3600, "holiday": 0, "night": 4 * 3600}
    # the same week reported from Wednesday on: Monday and Tuesday still fill the week's regular hours
    ivs2 = ivs[:5] + [(at(first + timedelta(days=2), 17), at(first + timedelta(days=2), 19))]
    got2 = rules.split_worked(
        ivs2,
        zone=SH,
        first_day=first + timedelta(days=2),
        last_day=first + timedelta(days=6),
        day_kind=calendar.day_kind,
        overtime=OVERTIME,
        night=NIGHT,
    )
    assert got2["regular"] == 24 * 3600 and got2["overtime"] == 2 * 3600


def test_roster_rules_min_rest_hours_and_double_booking():
    mon = date(2025, 11, 10)
    ok = [shift("a", mon, 8, 16), shift("b", mon + timedelta(days=1), 8, 16)]
    assert rules.check_roster(ok, rules.People(), RULES, SH) == []
    late_then_early = [shift("a", mon, 14, 23), shift("b", mon + timedelta(days=1), 7, 15)]
    v = rules.check_roster(late_then_early, rules.People(), RULES, SH)
    assert [(x.rule, x.shift_ids, x.details["rest_hours"]) for x in v] == [("min_rest", ("a", "b"), 8.0)]
    long_day = [shift("a", mon, 6, 17)]
    assert [x.rule for x in rules.check_roster(long_day, rules.People(), RULES, SH)] == ["max_hours_day"]
    week = [shift(str(i), mon + timedelta(days=i), 8, 17) for i in range(6)]  # 6 x 9 h = 54 h
    v = rules.check_roster(week, rules.People(), RULES, SH)
    assert [x.rule for x in v] == ["max_hours_week"] and v[0].details["hours"] == 54.0
    double = [shift("a", mon, 8, 16), shift("b", mon, 12, 20, skill="till")]
    v = rules.check_roster(double, rules.People(skills={"u1": frozenset({"till"})}), RULES, SH)
    assert {x.rule for x in v} == {"double_booking", "max_hours_day"}
    other_person = [shift("a", mon, 8, 16), shift("b", mon, 8, 16, user="u2")]
    assert rules.check_roster(other_person, rules.People(), RULES, SH) == []


def test_roster_rules_skills_leave_and_availability():
    mon = date(2025, 11, 10)
    till = [shift("a", mon, 8, 16, skill="till")]
    assert [x.rule for x in rules.check_roster(till, rules.People(), RULES, SH)] == ["skill"]
    trained = rules.People(skills={"u1": frozenset({"till"})})
    assert rules.check_roster(till, trained, RULES, SH) == []
    on_leave = rules.People(leave_days={"u1": frozenset({mon})})
    assert [x.rule for x in rules.check_roster([shift("a", mon, 8, 16)], on_leave, RULES, SH)] == ["on_leave"]
    mornings = rules.People(availability={"u1": {0: (7 * 60, 13 * 60)}})
    assert [x.rule for x in rules.check_roster([shift("a", mon, 8, 16)], mornings, RULES, SH)] == ["unavailable"]
    assert rules.check_roster([shift("a", mon, 8, 12)], mornings, RULES, SH) == []


def test_exceptions_against_the_roster():
    mon = date(2025, 11, 10)
    shifts = [
        shift("s1", mon, 9, 17, user="late"),
        shift("s2", mon, 9, 17, user="early"),
        shift("s3", mon, 9, 17, user="absent"),
        shift("s4", mon, 9, 17, user="open"),
    ]
    worked = [
        rules.Worked("w1", "late", at(mon, 9, 20), at(mon, 17)),
        rules.Worked("w2", "early", at(mon, 9), at(mon, 15)),
        rules.Worked("w4", "open", at(mon, 9), None),
        rules.Worked("w5", "extra", at(mon, 10), at(mon, 12)),
    ]
    now = at(mon + timedelta(days=1), 8)
    got = {
        (e["user_id"], e["kind"], e["minutes"])
        for e in rules.exceptions(shifts, worked, now=now, grace_min=5, missing_after_h=14)
    }
    assert got == {
        ("late", "late", 20),
        ("early", "early_leave", 120),
        ("absent", "absent", 480),
        ("open", "missing_clock_out", 23 * 60),
        ("extra", "unrostered", 120),
    }
    assert rules.exceptions(shifts[:1], worked[:1], now=now, grace_min=30, missing_after_h=14) == []
    running = rules.exceptions(
        [shift("s1", mon, 9, 17, user="x")], [], now=at(mon, 10), grace_min=5, missing_after_h=14
    )
    assert running == [{"user_id": "x", "shift_id": "s1", "session_id": None, "kind": "late", "minutes": 60}]


def test_night_window_within_a_day():
    day = date(2025, 11, 12)
    got = rules.split_worked(
        [(at(day, 4), at(day, 8))],
        zone=SH,
        first_day=day,
        last_day=day,
        day_kind=calendar.day_kind,
        overtime=OVERTIME,
        night=NIGHT,
    )
    assert got["night"] == 2 * 3600 and got["regular"] == 4 * 3600
    utc = datetime(2025, 11, 11, 20, 0, tzinfo=UTC)  # 04:00 in Shanghai
    again = rules.split_worked(
        [(utc, utc + timedelta(hours=4))],
        zone=SH,
        first_day=day,
        last_day=day,
        day_kind=calendar.day_kind,
        overtime=OVERTIME,
        night=NIGHT,
    )
    assert again == got

"""What kind of day a store-local date is for pay: a working day, a rest day or a statutory holiday.

China's calendar is not "weekends off": the State Council moves working days every year (调休 — a Sunday
before National Day is a working day, a Tuesday inside it a day off in lieu). ``chinese-calendar`` carries the
published schedule. Pay law distinguishes the statutory holiday days themselves (法定节假日, paid 300%) from the
other days off of a holiday period (weekends and days in lieu, paid as rest days, 200%). chinese-calendar names
the festival of every day in a holiday period and marks days in lieu; a named day that is not in lieu and falls
on a weekday is statutory. A statutory day falling on a weekend (Spring Festival 2024 began on a Saturday) cannot
be told from a weekend inside the period, so a store lists such dates itself in the ``staff.statutory_days``
setting — when it lists any date of a year, its list is that year's statutory days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import chinese_calendar

from hub.kernel.errors import Unprocessable

KINDS = ("workday", "rest_day", "holiday")


def day_kind(day: date, statutory_days: Iterable[str] = ()) -> str:
    """``workday``, ``rest_day`` or ``holiday`` (statutory) for a local date."""
    listed = {d for d in statutory_days if d[:4] == str(day.year)}
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
        in_lieu = chinese_calendar.is_in_lieu(day)
    except NotImplementedError:
        raise Unprocessable(
            f"the holiday calendar has no data for {day.year}; update chinese-calendar",
            code="holiday_calendar_missing",
            details={"year": day.year},
        ) from None
    if listed:
        if day.isoformat() in listed:
            return "holiday"
        return "rest_day" if off else "workday"
    if not off:
        return "workday"
    if name and not in_lieu and day.weekday() < 5:
        return "holiday"
    return "rest_day"


def holiday_name(day: date) -> str | None:
    """The festival a date belongs to (a holiday period or a swapped working day), for screens and exports."""
    try:
        return chinese_calendar.get_holiday_detail(day)[1]
    except NotImplementedError:
        return None

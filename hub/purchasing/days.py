"""The store's calendar for purchasing: days (expiry, price validity, expected delivery, daily demand) are the
store's local days, not UTC ones — a sale at 07:30 in Shanghai is that day's demand, not yesterday's."""

from __future__ import annotations

import functools
import sqlite3
from datetime import date, datetime
from zoneinfo import ZoneInfo

from hub.kernel import settings
from hub.protocol.timeutil import parse_iso


@functools.lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone(conn: sqlite3.Connection) -> ZoneInfo:
    return _zone(settings.get(conn, "timezone"))


def today(conn: sqlite3.Connection) -> date:
    return datetime.now(zone(conn)).date()


def day_of(ts: str, tz: ZoneInfo) -> str:
    """The store-local day (YYYY-MM-DD) of a stored UTC time."""
    return parse_iso(ts).astimezone(tz).date().isoformat()

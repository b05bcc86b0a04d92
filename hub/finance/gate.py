"""The one question other domains ask finance: may something still post into this business day?

Imported by the till (hub.checkout.tills) before it sells, returns or opens a shift on a day; it reads only the
finance_days row, so it imports nothing of the rest of finance."""

from __future__ import annotations

import sqlite3

from hub.kernel.errors import Conflict


def state_of(conn: sqlite3.Connection, business_date: str) -> str:
    row = conn.execute("SELECT state FROM finance_days WHERE business_date = ?", (business_date,)).fetchone()
    return row[0] if row else "open"


def require_postable(conn: sqlite3.Connection, business_date: str) -> None:
    """``Conflict(day_locked)`` for a locked day, ``Conflict(business_day_closed)`` for a closed or reconciled one: a
    correction goes into the next open day with a reference to this one (docs/finance.md)."""
    state = state_of(conn, business_date)
    if state == "locked":
        raise Conflict(
            f"the business day {business_date} is locked: nothing posts into it; post a correction into an open day",
            code="day_locked",
            details={"business_date": business_date, "state": state},
        )
    if state in ("closed", "reconciled"):
        raise Conflict(
            f"the business day {business_date} is {state} by finance: reopen it first, or post into an open day",
            code="business_day_closed",
            details={"business_date": business_date, "state": state},
        )

"""Head office's payroll across stores (issue 17, docs/staff.md "Central payroll export").

Each hub approves and locks its own pay periods (``hub.staff.payroll.approve``); the ``staff.payroll.approved``
fact carries the period's rows — per person: employee number, seconds per category, net sales, refunds taken back
and commission — and reaches the central exactly once. They are folded into ``staff_payroll`` (migration 0010,
one row per store × period × person, ``ON CONFLICT DO NOTHING``: an approved period never changes), and the
central exports a pay period across every store as CSV: the same approved figures the stores' own exports hold,
so head office's file and each store's file agree to the second and the fen. No names: the central has people's
names only sealed (sync/central/personal.py); the payroll system matches on the employee number.

StoreHub computes no pay, taxes or net pay here either: hours by category with each store's multipliers beside
them, and commission."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Column, Date, Index, Numeric, String, Table, select
from sqlalchemy.engine import Connection

from sync.central import schema as t

CATEGORIES = ("regular", "overtime", "rest_day", "holiday", "night")
MONEY = ("net_sales_minor", "refunded_minor", "commission_minor")

staff_payroll = Table(
    "staff_payroll",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("first_day", Date, primary_key=True),
    Column("last_day", Date, primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("employee_no", String(64), nullable=False, server_default=""),
    *(Column(f"{k}_s", BigInteger, nullable=False, server_default="0") for k in (*CATEGORIES, "worked")),
    *(Column(f"mult_{k}", Numeric(6, 3), nullable=False, server_default="0") for k in CATEGORIES),
    *(Column(k, BigInteger, nullable=False, server_default="0") for k in MONEY),
    Column("approved_by", String(64), nullable=False, server_default=""),
)
Index("staff_payroll_period", staff_payroll.c.first_day, staff_payroll.c.last_day)


def project_approved(f: Any, e: dict[str, Any]) -> None:
    """A store's approved period: its rows, kept for ``apply`` (nothing without rows: an older hub's fact)."""
    p = e["payload"]
    try:
        first, last = date.fromisoformat(p["first_day"]), date.fromisoformat(p["last_day"])
        mult = {k: str(p.get("multipliers", {}).get(k, 0)) for k in CATEGORIES}
        for r in p.get("rows") or []:
            secs = r["seconds"]
            f.staff.append(
                {
                    "first_day": first,
                    "last_day": last,
                    "user_id": str(r["user_id"])[:64],
                    "employee_no": str(r.get("employee_no") or "")[:64],
                    **{f"{k}_s": int(secs[k]) for k in (*CATEGORIES, "worked")},
                    **{f"mult_{k}": mult[k] for k in CATEGORIES},
                    **{k: int(r.get(k) or 0) for k in MONEY},
                    "approved_by": str(p.get("approved_by") or "")[:64],
                }
            )
    except (KeyError, TypeError, ValueError):
        return  # kept in events; nothing to project


def _insert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(staff_payroll)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(staff_payroll)


def apply(conn: Connection, store_id: str, rows: list[dict[str, Any]]) -> None:
    conn.execute(
        _insert(conn).on_conflict_do_nothing(index_elements=["store_id", "first_day", "last_day", "user_id"]),
        [{"store_id": store_id, **r} for r in rows],
    )


COLUMNS = (
    "store_id",
    "first_day",
    "last_day",
    "employee_no",
    "user_id",
    *(f"{k}_hours" for k in CATEGORIES),
    "worked_hours",
    "worked_seconds",
    *(f"multiplier_{k}" for k in CATEGORIES),
    *MONEY,
)


def _hours(seconds: int) -> str:
    # exact to the hundredth, half up, as the stores' own exports
    q, r = divmod(seconds * 100 + 1800, 3600)
    return f"{q // 100}.{q % 100:02d}"


def export_csv(conn: Connection, first_day: date, last_day: date) -> bytes:
    """Every store's approved periods lying within [first_day, last_day], one row per store × period × person,
    sorted by store, period and employee number: the same bytes for the same approved data. UTF-8 with BOM."""
    c = staff_payroll.c
    rows = conn.execute(
        select(staff_payroll)
        .where(c.first_day >= first_day, c.last_day <= last_day)
        .order_by(c.store_id, c.first_day, c.last_day, c.employee_no, c.user_id)
    ).mappings()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(
            [
                r["store_id"],
                r["first_day"].isoformat(),
                r["last_day"].isoformat(),
                r["employee_no"],
                r["user_id"],
                *(_hours(r[f"{k}_s"]) for k in CATEGORIES),
                _hours(r["worked_s"]),
                r["worked_s"],
                *(format(r[f"mult_{k}"].normalize(), "f") for k in CATEGORIES),
                *(r[k] for k in MONEY),
            ]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")

"""The read API's staff route (``/api/v1/staff/payroll.csv``, issue 17): head office's payroll export of a pay
period across stores — a schema plus one call of :mod:`sync.central.staff`. Payroll is for the office's admins."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app

from sync.central import staff
from sync.central.access import READ_API

bp = Blueprint("central_staff_api", __name__, url_prefix=READ_API.prefix)

_DAY = {"type": "string", "format": "date"}


def _date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


@READ_API.endpoint(
    bp,
    "GET",
    "/staff/payroll.csv",
    role="admin",
    tags=["staff"],
    statuses=[400],
    query={
        "from": {**_DAY, "required": True, "description": "first day of the pay period (YYYY-MM-DD)"},
        "to": {**_DAY, "required": True, "description": "last day of the pay period (YYYY-MM-DD)"},
    },
    summary="Every store's approved pay periods within the dates, one row per store × period × person, as CSV",
)
def payroll_csv(query: dict[str, Any]):
    first, last = _date(query["from"]), _date(query["to"])
    with current_app.extensions["central"].engine.connect() as conn:
        data = staff.export_csv(conn, first, last)
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="payroll-{first.isoformat()}-{last.isoformat()}.csv"'},
    )

"""The read API's finance routes (``/api/v1/finance/...``, issue 18): P&L per store per day or month, consolidated
with drill-down group → store → category, other expenses and budgets entered one by one or imported as CSV, and
actual vs budget — each a schema plus one call of :mod:`sync.central.finance`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request

from sync.central import finance
from sync.central.access import READ_API

bp = Blueprint("central_finance_api", __name__, url_prefix=READ_API.prefix)

_MONTH = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}
_DAY = {"type": "string", "format": "date"}
_STORE = {"type": "string", "minLength": 1, "maxLength": 64}
_PERIOD = {
    "month": {**_MONTH, "description": "YYYY-MM (or give day)"},
    "day": {**_DAY, "description": "YYYY-MM-DD (or give month)"},
    "points_value_minor": {"type": "integer", "minimum": 0, "maximum": 10000, "description": "fen per point"},
}
_OBJ = {"type": "object"}
_CSV_MAX = 2 * 1024 * 1024


def _engine():
    return current_app.extensions["central"].engine


def _csv_body() -> dict[str, Any]:
    return {"csv": request.get_data(as_text=True)}


def _day(query: dict[str, Any]) -> str | None:
    d = query.get("day")
    return d.isoformat() if d is not None and hasattr(d, "isoformat") else d


@READ_API.endpoint(
    bp,
    "GET",
    "/finance/pnl",
    role="viewer",
    tags=["finance"],
    statuses=[400],
    query=_PERIOD,
    response=_OBJ,
    summary="The group's P&L for a month or a day: one row per store and the total",
)
def pnl(query: dict[str, Any]):
    return finance.consolidated(
        _engine(), month=query.get("month"), day=_day(query), points_value_minor=query.get("points_value_minor")
    )


@READ_API.endpoint(
    bp,
    "GET",
    "/finance/pnl/<store_id>",
    role="viewer",
    tags=["finance"],
    statuses=[400, 404],
    query=_PERIOD,
    path={"store_id": _STORE},
    response=_OBJ,
    summary="A store's P&L for a month or a day, by category",
)
def store_pnl(store_id: str, query: dict[str, Any]):
    return finance.store_pnl(
        _engine(),
        store_id,
        month=query.get("month"),
        day=_day(query),
        points_value_minor=query.get("points_value_minor"),
    )


@READ_API.endpoint(
    bp,
    "GET",
    "/finance/pnl/<store_id>/days",
    role="viewer",
    tags=["finance"],
    statuses=[400],
    query={"month": {**_MONTH, "required": True}},
    path={"store_id": _STORE},
    response=_OBJ,
    summary="A store's P&L day by day over a month",
)
def store_days(store_id: str, query: dict[str, Any]):
    return {"store_id": store_id, "month": query["month"], "days": finance.daily(_engine(), store_id, query["month"])}


@READ_API.endpoint(
    bp,
    "GET",
    "/finance/budget",
    role="viewer",
    tags=["finance"],
    statuses=[400],
    query={"month": {**_MONTH, "required": True}, "points_value_minor": _PERIOD["points_value_minor"]},
    response=_OBJ,
    summary="Actual vs budget per store for a month (sales, margin, expenses), adverse variances flagged",
)
def budget(query: dict[str, Any]):
    return finance.actual_vs_budget(_engine(), query["month"], points_value_minor=query.get("points_value_minor"))


_FIGURE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["store_id", "month", "line", "amount_minor"],
    "properties": {
        "store_id": _STORE,
        "month": _MONTH,
        "line": {"type": "string", "minLength": 1, "maxLength": 64},
        "amount_minor": {"type": "integer", "minimum": -(10**13), "maximum": 10**13},
    },
}


@READ_API.endpoint(
    bp,
    "PUT",
    "/finance/budgets",
    role="admin",
    tags=["finance"],
    statuses=[400, 404],
    body=_FIGURE,
    response=_OBJ,
    summary="Enter one budget figure (store × month × line sales, margin or expenses)",
)
def put_budget(body: dict[str, Any]):
    return finance.put_budget(
        _engine(), body["store_id"], body["month"], body["line"], body["amount_minor"], actor=g.user["username"]
    )


@READ_API.endpoint(
    bp,
    "PUT",
    "/finance/expenses",
    role="admin",
    tags=["finance"],
    statuses=[400, 404],
    body=_FIGURE,
    response=_OBJ,
    summary="Enter one store's other expense for a month (rent, wages…)",
)
def put_expense(body: dict[str, Any]):
    return finance.put_expense(
        _engine(), body["store_id"], body["month"], body["line"], body["amount_minor"], actor=g.user["username"]
    )


_CSV = {"type": "object", "required": ["csv"], "properties": {"csv": {"type": "string"}}}


@READ_API.endpoint(
    bp,
    "POST",
    "/finance/budgets/import",
    role="admin",
    tags=["finance"],
    statuses=[400],
    body=_CSV,
    read_body=_csv_body,
    max_body=_CSV_MAX,
    response=_OBJ,
    summary="Import budgets: CSV store,month,sales,margin,expenses (yuan); all rows or none",
)
def import_budgets(body: dict[str, Any]):
    return finance.import_budgets(_engine(), body["csv"], actor=g.user["username"])


@READ_API.endpoint(
    bp,
    "POST",
    "/finance/expenses/import",
    role="admin",
    tags=["finance"],
    statuses=[400],
    body=_CSV,
    read_body=_csv_body,
    max_body=_CSV_MAX,
    response=_OBJ,
    summary="Import other expenses: CSV store,month,line,amount (yuan); all rows or none",
)
def import_expenses(body: dict[str, Any]):
    return finance.import_expenses(_engine(), body["csv"], actor=g.user["username"])

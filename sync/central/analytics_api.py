"""The read API's analytics routes (``/api/v1/analytics/...``): the figures of :mod:`sync.central.metrics`, the same
function the head-office pages and their CSV exports call, so a tool reading the API gets the same numbers.

Declared with the shared endpoint framework under :data:`sync.central.access.READ_API` (its own blueprint at the
API's prefix: authentication, roles, query validation, errors and the OpenAPI document come from the
declarations). Money stays in integer minor units of ``currency``; ratios are fractions (0.125 = 12.5 %)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app

from hub.kernel.errors import ValidationError
from sync.central import metrics, reports
from sync.central.access import READ_API

bp = Blueprint("central_analytics_api", __name__, url_prefix=READ_API.prefix)

_DATE = {"type": "string", "format": "date"}


def _engine():
    return current_app.extensions["central"].engine


@READ_API.endpoint(
    bp,
    "GET",
    "/analytics/metrics",
    role="viewer",
    tags=["analytics"],
    summary="Every figure the head office shows: key, names, unit, formula, grains, filters",
    response={
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"type": "object"}}},
    },
)
def metric_definitions():
    return {"items": metrics.definitions()}


@READ_API.endpoint(
    bp,
    "GET",
    "/analytics/sales",
    role="viewer",
    tags=["analytics"],
    summary="Sales figures for local days start..end, one row per group of the grain",
    query={
        "by": {"type": "string", "enum": list(metrics.GRAINS), "default": "store"},
        "start": _DATE,
        "end": _DATE,
        "store": {"type": "string", "maxLength": 64, "description": "limit to one store"},
        "category": {"type": "string", "maxLength": 200, "description": "limit to one category ('-' = uncategorised)"},
        "item": {"type": "string", "maxLength": 40, "description": "limit to one item id"},
        "metrics": {
            "type": "string",
            "maxLength": 1000,
            "description": "comma-separated metric keys (default: every one of the grain)",
        },
    },
    response={
        "type": "object",
        "required": ["items", "currency", "start", "end", "by"],
        "properties": {
            "items": {"type": "array", "items": {"type": "object"}},
            "currency": {"type": "string"},
            "start": {"type": "string"},
            "end": {"type": "string"},
            "by": {"type": "string"},
        },
    },
)
def sales(query: dict[str, Any]):
    store = query.get("store") or None
    end: date = query.get("end") or metrics.latest_day(_engine(), store) or reports.today(_engine(), store)
    if end.year < 2000 or (query.get("start") and query["start"].year < 2000):
        raise ValidationError("dates before 2000 hold no sales", code="bad_query")
    start: date = query.get("start") or end - timedelta(days=29)
    if start > end or (end - start).days > 3700:
        raise ValidationError("start is after end, or the range is over ten years", code="bad_query")
    keys = [k.strip() for k in (query.get("metrics") or "").split(",") if k.strip()] or None
    unknown = [k for k in keys or [] if k not in metrics.BY_KEY]
    if unknown:
        raise ValidationError(
            f"unknown metric {unknown[0]!r}", code="bad_query", details={"metrics": sorted(metrics.BY_KEY)}
        )
    category = query.get("category")
    category = None if category is None or category == "" else ("" if category == "-" else category)
    f = metrics.Filters(start=start, end=end, store=store, category=category, item=query.get("item") or None)
    return {
        "items": metrics.table(_engine(), f, query["by"], keys=keys),
        "currency": metrics.currency(_engine(), store),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "by": query["by"],
    }

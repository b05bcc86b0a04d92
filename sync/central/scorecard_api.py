"""The read API's purchasing routes (``/api/v1/purchasing/...``, issue 16): the supplier scorecard per supplier
across stores and per store, the orders replenishment suggests in every store, and the demand forecasts the central sent down — each a schema plus one call of
:mod:`sync.central.scorecard` / :mod:`sync.central.forecast`."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app

from sync.central import forecast, scorecard
from sync.central.access import READ_API

bp = Blueprint("central_purchasing_api", __name__, url_prefix=READ_API.prefix)

_STORE = {"type": "string", "minLength": 1, "maxLength": 64, "description": "one store (default: every store)"}
_OBJ = {"type": "object"}


def _engine():
    return current_app.extensions["central"].engine


@READ_API.endpoint(
    bp,
    "GET",
    "/purchasing/scorecard",
    role="viewer",
    tags=["purchasing"],
    statuses=[400],
    query={
        "store_id": _STORE,
        "today": {"type": "string", "format": "date", "description": "judge orders due before this day"},
    },
    response=_OBJ,
    summary="Supplier scorecard: on-time rate, fill rate, lead time vs promised, price variance, quality returns",
)
def get_scorecard(query: dict[str, Any]):
    today = query.get("today")
    if isinstance(today, str):
        today = date.fromisoformat(today)
    return scorecard.compute(_engine(), today=today or date.today(), store_id=query.get("store_id"))


@READ_API.endpoint(
    bp,
    "GET",
    "/purchasing/forecasts",
    role="viewer",
    tags=["purchasing"],
    statuses=[400],
    query={"store_id": _STORE},
    response=_OBJ,
    summary="The newest demand forecast per store × item, as sent down to the hubs",
)
def get_forecasts(query: dict[str, Any]):
    return {"forecasts": forecast.latest(_engine(), store_id=query.get("store_id"))}


@READ_API.endpoint(
    bp,
    "GET",
    "/purchasing/suggested-orders",
    role="viewer",
    tags=["purchasing"],
    statuses=[400],
    query={"store_id": _STORE},
    response=_OBJ,
    summary="Suggested orders across stores: each store's current replenishment drafts with their lines",
)
def get_suggested_orders(query: dict[str, Any]):
    return scorecard.suggested_orders(_engine(), store_id=query.get("store_id"))

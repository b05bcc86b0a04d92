"""The hub side of the central's demand forecasts (downlink kind ``forecast``, sync/central/forecast.py).

``apply`` keeps the newest forecast per item (called by hub/synclink/downlink.py inside the downlink page's
transaction, so a forecast and the downlink version commit together). ``lead_time_demand`` is what replenishment
asks: the forecast's mean daily demand over the days it must cover, when the forecast is *fresh* — made no more
than ``MAX_AGE_DAYS`` before today and reaching far enough ahead — else None, and the hub uses its own velocity."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Any

from hub.kernel.errors import ValidationError
from hub.protocol.timeutil import now_iso

MAX_AGE_DAYS = 7


def apply(conn: sqlite3.Connection, p: dict[str, Any], downlink_version: int) -> None:
    daily = p["daily"]
    try:
        start = date.fromisoformat(p["start"]).isoformat()
    except (TypeError, ValueError) as exc:
        raise ValidationError("a forecast needs a start day (YYYY-MM-DD)", code="invalid_forecast") from exc
    if (
        not isinstance(daily, list)
        or not daily
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in daily)
    ):
        raise ValidationError("a forecast's daily demand is a list of non-negative numbers", code="invalid_forecast")
    conn.execute(
        "INSERT INTO item_forecasts(item_id, sku, model, start_day, daily, made_at, downlink_version, received_at)"
        " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(item_id) DO UPDATE SET sku = excluded.sku, model = excluded.model,"
        " start_day = excluded.start_day, daily = excluded.daily, made_at = excluded.made_at,"
        " downlink_version = excluded.downlink_version, received_at = excluded.received_at"
        " WHERE excluded.start_day >= item_forecasts.start_day",
        (
            str(p["item_id"]),
            str(p.get("sku") or ""),
            str(p.get("model") or ""),
            start,
            json.dumps(daily),
            str(p.get("made_at") or now_iso()),
            downlink_version,
            now_iso(),
        ),
    )


def all_fresh(conn: sqlite3.Connection, today: date) -> dict[str, tuple[str, int, list[float]]]:
    """{item_id: (model, days since the forecast's start, daily)} for forecasts at most MAX_AGE_DAYS old."""
    out = {}
    for item_id, model, start, daily in conn.execute("SELECT item_id, model, start_day, daily FROM item_forecasts"):
        age = (today - date.fromisoformat(start)).days
        if 0 <= age <= MAX_AGE_DAYS:
            out[item_id] = (model, age, json.loads(daily))
    return out


def lead_time_demand(fresh: tuple[str, int, list[float]] | None, days: int) -> float | None:
    """Mean daily demand over ``days`` from today by a fresh forecast, or None when it does not reach that far."""
    if fresh is None or days <= 0:
        return None
    _model, age, daily = fresh
    span = daily[age : age + days]
    if len(span) < days:
        return None
    return sum(span) / days


def get(conn: sqlite3.Connection, item_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM item_forecasts WHERE item_id = ?", (item_id,)).fetchone()
    return None if row is None else {**dict(row), "daily": json.loads(row["daily"])}

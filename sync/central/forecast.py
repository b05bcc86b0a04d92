"""Demand forecasts at the central, per store × item, from the daily sales projection (``sales_item_daily``), with
``statsforecast`` — and sent down to each store's hub as downlink changes of kind ``forecast`` (scope = the store,
key = the item id), where they drive the replenishment suggestions (hub/purchasing/forecasts.py, replenish.py).

Model per series, by a stated rule (docs/purchasing.md "Forecasts"): over the window, the average demand interval
ADI = days / days with a sale. ADI >= 1.32 (the Syntetos–Boylan cut-off) is *intermittent*: CrostonOptimized, a
flat rate of demand per day. Otherwise *regular*: SeasonalExponentialSmoothingOptimized with a weekly season (``season_length=7``: one
smoothed level per weekday, its smoothing weight fitted per series) — AutoETS fits better on a few series but costs
~8 ms a series, which 10,000 series × two fits (evaluation and forecast) cannot afford on the central's budget. A
series with fewer than two weeks of history (or no sale at all) gets no forecast; the hub keeps its own velocity.

Evaluation against a naive baseline on held-out weeks: the last ``holdout_days`` of the window are withheld, every
series is fitted on the rest and forecast over them, and so is Naive (the last day repeated). The error is MASE:
mean absolute error over the held-out days divided by the in-sample mean absolute one-day change (series whose
in-sample scale is zero are left out of the mean). Reported per model, for the naive baseline on the same series,
and overall. Then every series is refitted on the whole window and forecast ``horizon`` days ahead.

``statsforecast`` (and numpy/pandas) is imported inside the job only: importing it costs seconds, and no request
path of the central needs it."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from hub.protocol.timeutil import now_iso
from sync.central import schema as t
from sync.central.sales import sales_item_daily

ADI_INTERMITTENT = 1.32
MIN_HISTORY_DAYS = 14
REGULAR = "SeasonalExponentialSmoothingOptimized"
INTERMITTENT = "CrostonOptimized"
NAIVE = "Naive"


def classify(y: list[float]) -> str | None:
    """The model family for one daily series (oldest first): ``"regular"``, ``"intermittent"`` or None (too
    short, or never sold)."""
    nonzero = sum(1 for v in y if v > 0)
    if len(y) < MIN_HISTORY_DAYS or nonzero == 0:
        return None
    return "intermittent" if len(y) / nonzero >= ADI_INTERMITTENT else "regular"


def load_series(conn: Connection, *, today: date, window_days: int) -> dict[tuple[str, str], dict[str, Any]]:
    """Units sold per store × item per local day over ``[today - window_days, today)``, days without a row as 0.
    The series starts at the item's first sale in the window (no invented zeros before it was sold)."""
    since = today - timedelta(days=window_days)
    c = sales_item_daily.c
    rows = conn.execute(
        select(c.store_id, c.item_id, func.max(c.sku), c.day, func.sum(c.qty))
        .where(c.day >= since, c.day < today)
        .group_by(c.store_id, c.item_id, c.day)
    ).all()
    days: dict[tuple[str, str], dict[date, float]] = defaultdict(dict)
    skus: dict[tuple[str, str], str] = {}
    for store, item, sku, day, qty in rows:
        days[(store, item)][day] = float(qty or 0)
        skus[(store, item)] = sku
    out = {}
    for key, by_day in days.items():
        first = min(by_day)
        n = (today - first).days
        y = [max(by_day.get(first + timedelta(days=i), 0.0), 0.0) for i in range(n)]
        out[key] = {"sku": skus[key], "y": y}
    return out


def _frame(series: dict[str, list[float]], today: date):
    import numpy as np
    import pandas as pd

    ids, ds, ys = [], [], []
    for uid, y in series.items():
        n = len(y)
        ids.append(np.repeat(uid, n))
        ds.append(pd.date_range(end=pd.Timestamp(today) - pd.Timedelta(days=1), periods=n, freq="D").values)
        ys.append(np.asarray(y, dtype="float64"))
    return pd.DataFrame({"unique_id": np.concatenate(ids), "ds": np.concatenate(ds), "y": np.concatenate(ys)})


def _forecast(series: dict[str, list[float]], model: str, h: int, today: date, n_jobs: int) -> dict[str, list[float]]:
    """``h`` days ahead for every series with the named model (or Naive), as {uid: [daily, ...]}."""
    if not series:
        return {}
    from statsforecast import StatsForecast
    from statsforecast.models import CrostonOptimized, Naive, SeasonalExponentialSmoothingOptimized

    m = {
        REGULAR: lambda: SeasonalExponentialSmoothingOptimized(season_length=7),
        INTERMITTENT: lambda: CrostonOptimized(),
        NAIVE: lambda: Naive(),
    }[model]()
    sf = StatsForecast(models=[m], freq="D", n_jobs=n_jobs)
    fc = sf.forecast(df=_frame(series, today), h=h)
    col = [c for c in fc.columns if c not in ("unique_id", "ds")][0]
    out: dict[str, list[float]] = defaultdict(list)
    for uid, v in zip(fc["unique_id"].tolist(), fc[col].tolist(), strict=True):
        out[uid].append(max(float(v), 0.0) if v == v else 0.0)  # NaN -> 0, no negative demand
    return dict(out)


def _scale(y: list[float]) -> float:
    return sum(abs(y[i] - y[i - 1]) for i in range(1, len(y))) / max(len(y) - 1, 1)


def evaluate(
    series: dict[str, list[float]], families: dict[str, str], *, holdout_days: int, today: date, n_jobs: int = 1
) -> dict[str, Any]:
    """MASE of the chosen models and of Naive on the last ``holdout_days`` of each series (fitted on the rest)."""
    cut = today - timedelta(days=holdout_days)
    train = {u: y[:-holdout_days] for u, y in series.items() if len(y) - holdout_days >= MIN_HISTORY_DAYS}
    test = {u: series[u][-holdout_days:] for u in train}
    scales = {u: _scale(y) for u, y in train.items()}
    train = {u: y for u, y in train.items() if scales[u] > 0}
    per_model: dict[str, list[float]] = defaultdict(list)
    naive_of: dict[str, list[float]] = defaultdict(list)
    naive = _forecast(train, NAIVE, holdout_days, cut, n_jobs)
    for family, model in (("regular", REGULAR), ("intermittent", INTERMITTENT)):
        part = {u: y for u, y in train.items() if families.get(u) == family}
        fc = _forecast(part, model, holdout_days, cut, n_jobs)
        for u, f in fc.items():
            mae = sum(abs(a - b) for a, b in zip(f, test[u], strict=True)) / holdout_days
            nmae = sum(abs(a - b) for a, b in zip(naive[u], test[u], strict=True)) / holdout_days
            per_model[model].append(mae / scales[u])
            naive_of[model].append(nmae / scales[u])

    def mean(xs: list[float]) -> float | None:
        return round(sum(xs) / len(xs), 4) if xs else None

    every = [x for xs in per_model.values() for x in xs]
    every_naive = [x for xs in naive_of.values() for x in xs]
    return {
        "holdout_days": holdout_days,
        "series": len(every),
        "mase": mean(every),
        "mase_naive": mean(every_naive),
        "models": {
            m: {"series": len(xs), "mase": mean(xs), "mase_naive": mean(naive_of[m])} for m, xs in per_model.items()
        },
    }


def compute(
    conn: Connection,
    *,
    today: date,
    window_days: int = 112,
    horizon: int = 28,
    holdout_days: int = 14,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Forecasts for every store × item with enough history, and the held-out evaluation. Reads only."""
    raw = load_series(conn, today=today, window_days=window_days)
    uid = {key: f"{key[0]}\x1f{key[1]}" for key in raw}
    series = {uid[k]: v["y"] for k, v in raw.items()}
    families = {u: f for u, y in series.items() if (f := classify(y)) is not None}
    t0 = time.perf_counter()
    evaluation = evaluate(series, families, holdout_days=holdout_days, today=today, n_jobs=n_jobs)
    forecasts: list[dict[str, Any]] = []
    for family, model in (("regular", REGULAR), ("intermittent", INTERMITTENT)):
        part = {u: series[u] for u, f in families.items() if f == family}
        for u, daily in _forecast(part, model, horizon, today, n_jobs).items():
            store, item = u.split("\x1f", 1)
            forecasts.append(
                {
                    "store_id": store,
                    "item_id": item,
                    "sku": raw[(store, item)]["sku"],
                    "model": model,
                    "family": family,
                    "start": today.isoformat(),
                    "daily": [round(v, 3) for v in daily],
                }
            )
    return {
        "forecasts": sorted(forecasts, key=lambda f: (f["store_id"], f["item_id"])),
        "evaluation": evaluation,
        "series": len(series),
        "skipped": len(series) - len(families),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def publish(conn: Connection, forecasts: list[dict[str, Any]], *, made_at: str) -> int:
    """Store each forecast as a downlink change (kind ``forecast``, scope = its store, key = the item id), under
    the ``downlink_head`` row lock like every downlink author (sync/central/downlink.py)."""
    if not forecasts:
        return 0
    head = int(
        conn.execute(select(t.downlink_head.c.version).where(t.downlink_head.c.id == 1).with_for_update()).scalar() or 0
    )
    rows = [
        {
            "version": head + i + 1,
            "scope": f["store_id"],
            "kind": "forecast",
            "key": f["item_id"],
            "payload": {
                "item_id": f["item_id"],
                "sku": f["sku"],
                "model": f["model"],
                "start": f["start"],
                "daily": f["daily"],
                "made_at": made_at,
            },
            "author": "system:forecast",
            "created_at": made_at,
        }
        for i, f in enumerate(forecasts)
    ]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "INSERT INTO downlink_changes (version, scope, kind, key, payload, author, created_at)"
            " SELECT x.version, x.scope, x.kind, x.key, x.payload, x.author, x.created_at FROM json_to_recordset(%s::json)"
            " AS x(version bigint, scope text, kind text, key text, payload json, author text, created_at text)",
            (json.dumps(rows, ensure_ascii=False),),
        )
    else:
        conn.execute(t.downlink_changes.insert(), rows)
    conn.execute(update(t.downlink_head).where(t.downlink_head.c.id == 1).values(version=head + len(rows)))
    return len(rows)


def run(engine: Engine, *, today: date, publish_down: bool = True, **kw: Any) -> dict[str, Any]:
    """The forecasting job: compute (read transaction), then publish in one write transaction."""
    with engine.connect() as conn:
        out = compute(conn, today=today, **kw)
    if publish_down:
        with engine.begin() as conn:
            out["published"] = publish(conn, out["forecasts"], made_at=now_iso())
    return out


def latest(engine: Engine, *, store_id: str | None = None) -> list[dict[str, Any]]:
    """The newest forecast per store × item as sent down (what head office sees next to the suggestions)."""
    c = t.downlink_changes.c
    newest = select(c.scope, c.key, func.max(c.version).label("v")).where(c.kind == "forecast").group_by(c.scope, c.key)
    if store_id is not None:
        newest = newest.where(c.scope == store_id)
    sub = newest.subquery()
    with engine.connect() as conn:
        rows = conn.execute(select(c.scope, c.payload).join(sub, c.version == sub.c.v).order_by(c.scope, c.key)).all()
    return [{"store_id": scope, **payload} for scope, payload in rows]

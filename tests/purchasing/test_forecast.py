"""Forecasts at the central (sync/central/forecast.py): on synthetic series of known structure a weekly pattern
is forecast better than naive and a slow mover gets the intermittent model; published forecasts travel the
downlink to the store's hub (hub/synclink/downlink.py → hub/purchasing/forecasts.py) and change its replenishment
suggestion, which says where its demand came from."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pytest

from hub.kernel import settings
from hub.purchasing import forecasts, replenish
from hub.synclink import downlink as hub_downlink
from sync.central import downlink, forecast, stores
from sync.central.db import make_engine, migrate
from sync.central.sales import sales_item_daily

TODAY = date(2026, 6, 1)


@pytest.fixture
def central(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(engine)
    stores.add_store(engine, "S1", "Store 1")
    stores.add_store(engine, "S2", "Store 2")
    yield engine
    engine.dispose()


def _put(engine, store: str, item: str, ys: list[float]) -> None:
    rows = [
        {
            "store_id": store,
            "day": TODAY - timedelta(days=len(ys) - i),
            "item_id": item,
            "category": "c",
            "sku": f"SKU-{item}",
            "qty": int(q),
        }
        for i, q in enumerate(ys)
        if q > 0
    ]
    with engine.begin() as conn:
        conn.execute(sales_item_daily.insert(), rows)


def _weekly(n: int, rng: random.Random) -> list[float]:
    # weekends sell three times a weekday, a little noise
    return [
        max(0, round((30 if (TODAY - timedelta(days=n - i)).weekday() >= 5 else 10) + rng.gauss(0, 1)))
        for i in range(n)
    ]


def test_rule_picks_intermittent_for_slow_movers():
    assert forecast.classify([0, 0, 3, 0, 0, 0, 1] * 4) == "intermittent"
    assert forecast.classify([5, 6, 4, 7, 5, 9, 8] * 4) == "regular"
    assert forecast.classify([1, 2, 3]) is None  # too short
    assert forecast.classify([0] * 30) is None  # never sold


def test_weekly_pattern_beats_naive_and_slow_mover_uses_croston(central):
    rng = random.Random(7)
    for n in range(6):
        _put(central, "S1", f"w{n}", _weekly(112, rng))
    slow = [float(rng.random() < 0.15) * rng.randint(1, 3) for _ in range(112)]
    slow[-1] = slow[-50] = 2  # sold at least twice in the window
    _put(central, "S1", "slow", slow)
    out = forecast.run(central, today=TODAY)
    models = {(f["store_id"], f["item_id"]): f for f in out["forecasts"]}
    assert models[("S1", "slow")]["model"] == forecast.INTERMITTENT
    assert models[("S1", "w0")]["model"] == forecast.REGULAR
    ev = out["evaluation"]["models"][forecast.REGULAR]
    assert ev["series"] == 6 and ev["mase"] < ev["mase_naive"] / 2  # the weekly shape is learnt, naive is not
    assert out["evaluation"]["mase"] < out["evaluation"]["mase_naive"]
    # the forecast keeps the weekly shape: a weekend day ahead is about three times a weekday
    daily = models[("S1", "w0")]["daily"]
    sat = next(i for i in range(7) if (TODAY + timedelta(days=i)).weekday() == 5)
    mon = next(i for i in range(7) if (TODAY + timedelta(days=i)).weekday() == 0)
    assert daily[sat] > 2 * daily[mon]
    assert all(v >= 0 for v in models[("S1", "slow")]["daily"])
    assert out["published"] == 7
    # the changes are scoped to their store: S2 sees none of S1's forecasts
    assert downlink.changes_for(central, "S2", 0)["changes"] == []
    assert len(forecast.latest(central, store_id="S1")) == 7


def test_forecast_reaches_the_hub_and_changes_the_suggestion(central, hubctx, supplied):
    s = supplied
    milk = s["milk"]["id"]
    with hubctx.db.write() as conn:
        settings.put(conn, "purchasing.demand_window_days", 28)
        for i in range(1, 29):  # the hub's own history: 2 milk a day
            conn.execute(
                "INSERT INTO daily_sales(item_id, day, qty) VALUES (?,?,?)",
                (milk, (TODAY - timedelta(days=i)).isoformat(), 2),
            )
        before = {r["item_id"]: r for r in replenish.compute(conn, today=TODAY)}[milk]
    assert before["demand_source"] == "velocity" and before["avg_daily"] == 2

    # head office's history for this store says milk now sells 20 a day
    _put(central, "S1", milk, [20.0] * 56)
    out = forecast.run(central, today=TODAY)
    assert [f["item_id"] for f in out["forecasts"]] == [milk]
    page = downlink.changes_for(central, "S1", 0)
    assert [c["kind"] for c in page["changes"]] == ["forecast"]
    res = hub_downlink.apply_page(hubctx.db, page["changes"], page["through"])
    assert res["applied"] == 1 and res["rejected"] == []

    with hubctx.db.read() as conn:
        assert forecasts.get(conn, milk)["model"] == forecast.REGULAR
        after = {r["item_id"]: r for r in replenish.compute(conn, today=TODAY)}[milk]
        assert after["demand_source"] == "forecast" and after["forecast_model"] == forecast.REGULAR
        assert after["avg_daily"] == pytest.approx(20, abs=0.5) and after["velocity_daily"] == 2
        assert after["reorder_point"] > before["reorder_point"] and after["suggest"] > before["suggest"]
        # stale after a week: back to the hub's own velocity
        stale = {r["item_id"]: r for r in replenish.compute(conn, today=TODAY + timedelta(days=8))}[milk]
        assert stale["demand_source"] == "velocity"


def test_a_malformed_forecast_is_rejected_not_applied(hubctx, sample):
    bad = [
        {
            "version": 1,
            "kind": "forecast",
            "key": "x",
            "payload": {"item_id": "x", "start": "2026-06-01", "daily": [1, -2]},
        }
    ]
    res = hub_downlink.apply_page(hubctx.db, bad, 1)
    assert res["applied"] == 0 and len(res["rejected"]) == 1
    with hubctx.db.read() as conn:
        assert forecasts.get(conn, "x") is None


def test_the_central_forecast_command(tmp_path):
    from click.testing import CliRunner

    from sync.cli import central as central_cli

    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    migrate(engine)
    stores.add_store(engine, "S1", "Store 1")
    _put(engine, "S1", "w", _weekly(70, random.Random(3)))
    args = ["forecast", "--dir", str(tmp_path / "c"), "--db", url, "--today", TODAY.isoformat()]
    out = CliRunner().invoke(central_cli, args)
    assert out.exit_code == 0, out.output
    res = json.loads(out.output.strip().splitlines()[-1])
    assert res["series"] == 1 and res["published"] == 1 and res["evaluation"]["series"] == 1
    assert [f["model"] for f in forecast.latest(engine, store_id="S1")] == [forecast.REGULAR]
    engine.dispose()

"""End to end over the real sync path (HTTP between a hub's sync worker and a served central): the central
forecasts the store's demand, the hub pulls the forecast down, its replenishment run drafts a bigger order saying
the demand came from the forecast, and the draft — pushed back up as ``po.step`` facts — is what head office sees
as the store's suggested order (sync/central/scorecard.py ``suggested_orders``, read API)."""

from __future__ import annotations

from datetime import timedelta

from hub.kernel import settings
from hub.purchasing import days, replenish
from sync.central import forecast, office, scorecard, stores
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from sync.central.sales import sales_item_daily
from sync.worker import SyncWorker, WorkerConfig
from tests.support.sync import ThreadedCentral

STORE = "test-store"


def test_forecast_down_suggestion_up(tmp_path, hubctx, supplied):
    s = supplied
    milk = s["milk"]["id"]
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
    server = ThreadedCentral(app)
    try:
        secret = stores.add_store(engine, STORE)
        office.add_user(engine, "victor", "office-pass-456", "viewer")
        worker = SyncWorker(hubctx.db, WorkerConfig(central_url=server.url, store_id=STORE, secret=secret))
        with hubctx.db.write() as conn:
            today = days.today(conn)
            settings.put(conn, "purchasing.demand_window_days", 28)
            for i in range(1, 29):  # the hub's own history: 2 a day
                conn.execute(
                    "INSERT INTO daily_sales(item_id, day, qty) VALUES (?,?,?)",
                    (milk, (today - timedelta(days=i)).isoformat(), 2),
                )
        with engine.begin() as conn:  # the central's daily sales projection for this store: 30 a day lately
            conn.execute(
                sales_item_daily.insert(),
                [
                    {
                        "store_id": STORE,
                        "day": today - timedelta(days=i),
                        "item_id": milk,
                        "category": "dairy",
                        "sku": s["milk"]["sku"],
                        "qty": 30,
                    }
                    for i in range(1, 57)
                ],
            )
        out = forecast.run(engine, today=today)
        assert out["published"] == 1
        assert worker.pull_once() >= 1  # the forecast reaches the hub over HTTP

        with hubctx.db.write() as conn:
            run = replenish.run(conn, today=today, actor="system:test")
        line = {x["item_id"]: x for x in run["suggestions"]}[milk]
        assert line["demand_source"] == "forecast" and round(line["avg_daily"]) == 30
        assert line["velocity_daily"] == 2 and line["suggest"] >= 30 * 10  # lead 3 + review 7 days at 30 a day
        while worker.push_once():
            pass

        sug = scorecard.suggested_orders(engine, store_id=STORE)
        assert [o["number"] for o in sug["orders"]] == [d["number"] for d in run["drafts"]]
        lines = {ln["item_id"]: ln["qty"] for ln in sug["orders"][0]["lines"]}
        assert lines[milk] == line["suggest"] and sug["orders"][0]["supplier_code"] == "DAIRY"

        c = app.test_client()
        r = c.post("/api/v1/auth/token", json={"username": "victor", "password": "office-pass-456"})
        auth = {"Authorization": f"Bearer {r.get_json()['token']}"}
        r = c.get("/api/v1/purchasing/suggested-orders", headers=auth)
        assert r.status_code == 200 and r.get_json()["orders"] == sug["orders"]
    finally:
        server.close()
        engine.dispose()

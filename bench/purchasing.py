"""Purchasing benchmark (issue 16).

- receive_scan_p99_ms (≤ 50) and receive_scan_p50_ms: one carton scan received against an open receipt through
  the real route as the handheld calls it — ``POST /api/v1/purchasing/receipts/<id>/scans`` through the Flask app
  (authentication, JSON Schema, one ``db.write()`` transaction committed with synchronous=FULL): GS1-128 parse,
  case-GTIN lookup, lot and expiry checks, tolerance check and the scan row, then what the scan changed that it
  answers with (the scanned line and the receipt's totals, not the whole receipt). 1,000 scans alternating 200 lines of a 2,000-item catalog, each with its own idempotency key.
- replenish_50k_items_s (≤ 60): ``replenish.run`` over 50,000 items with 365 days of daily sales (the demand
  window set to 365 days; about 70 % of item-days sold something: ~12.8 M rows), 50 suppliers, case packs,
  stock for every item — computing every item's figures, writing them, and one draft order per supplier.
- forecast_10k_series_s (≤ 120): the central's forecasting job (``sync.central.forecast.run``) over 10,000 store ×
  item series (10 stores × 1,000 items, 112 days of ``sales_item_daily`` on an SQLite central): two thirds regular
  series with a weekly pattern and noise, one third intermittent slow movers. Measured: reading the series, the
  held-out evaluation (last 14 days, chosen model and Naive), the 42-day forecasts and publishing them as downlink
  changes. ``mase`` / ``mase_naive``: the held-out error of the chosen models and of the naive baseline on the same
  series (lower is better; ``mase_models`` per model).

The catalog of the replenishment run is written with bulk SQL (not ``catalog.create_item``, which would record
50,000 facts first); the figures measured go through the domain as the hub runs it. Prints one JSON object as
its last line."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from biip.checksums import gs1_standard_check_digit  # noqa: E402

from hub.app import create_app  # noqa: E402
from hub.auth import users  # noqa: E402
from hub.inventory import catalog  # noqa: E402
from hub.kernel import settings  # noqa: E402
from hub.kernel.config import HubConfig  # noqa: E402
from hub.purchasing import orders, replenish, suppliers  # noqa: E402
from hub.store import database, initialise  # noqa: E402

GS = "\x1d"


def _g(body: str) -> str:
    return body + str(gs1_standard_check_digit(body))


def bench_receive(tmp: Path) -> dict:
    app = create_app(HubConfig(data_dir=tmp, testing=True))
    ctx = app.extensions["storehub"]
    initialise(ctx.db, store_id="bench", language="en")
    with ctx.db.write() as conn:
        users.create(conn, username="clerk", role="associate", pin="1111", secret_key=ctx.secret_key)
        sup = suppliers.upsert(conn, {"code": "S1", "name": "Supplier", "lead_time_days": 3}, actor="bench")
        items = []
        for n in range(2000):
            it = catalog.create_item(
                conn,
                {
                    "sku": f"SKU{n:05d}",
                    "name_en": f"Item {n}",
                    "price_minor": 500,
                    "cost_minor": 300,
                    "gtins": [_g(f"690{n:09d}")],
                },
                actor="bench",
                audit_it=False,
            )
            case = _g(f"1690{n:09d}")
            suppliers.set_item(
                conn,
                sup["id"],
                it["id"],
                {"case_gtin": case, "case_units": 12, "cost_minor": 280},
                actor="bench",
                today="2020-01-01",
                audit_it=False,
            )
            items.append((it, case))
        po, _ = orders.create(
            conn,
            supplier_id=sup["id"],
            actor="bench",
            role="manager",
            idempotency_key="bench-po",
            lines=[{"item_id": it["id"], "cases": 100} for it, _ in items[:200]],
        )
        orders.submit(conn, po["id"], actor="bench", role="manager")
        orders.approve(conn, po["id"], actor="bench2", role="admin")
        if orders.get(conn, po["id"])["status"] != "approved":
            orders.approve(conn, po["id"], actor="bench3", role="admin")
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"user": "clerk", "pin": "1111"}).get_json()["token"]
    hdr = {"Authorization": f"Bearer {token}"}
    rid = client.post(
        "/api/v1/purchasing/receipts", json={"po_id": po["id"], "idempotency_key": "bench-rcpt"}, headers=hdr
    ).get_json()["id"]
    expiry = (date.today() + timedelta(days=90)).strftime("%y%m%d")
    times = []
    for n in range(1000):
        _it, case = items[n % 200]
        code = f"]C101{case}17{expiry}10L{n:05d}"
        t0 = time.perf_counter()
        r = client.post(
            f"/api/v1/purchasing/receipts/{rid}/scans",
            json={"code": code, "idempotency_key": f"bench-scan-{n:06d}"},
            headers=hdr,
        )
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 201, r.get_json()
    ctx.db.close()
    q = statistics.quantiles(times, n=100)
    return {"receive_scan_p50_ms": round(statistics.median(times), 2), "receive_scan_p99_ms": round(q[98], 2)}


def bench_replenish(tmp: Path, n_items: int = 50_000, n_days: int = 365) -> dict:
    db = database(tmp / "replenish.db")
    db.migrate()
    initialise(db, store_id="bench")
    today = date.today()
    with db.write() as conn:
        settings.put(conn, "purchasing.demand_window_days", n_days)
        ts = "2024-01-01T00:00:00.000Z"
        store = conn.execute("SELECT id FROM locations WHERE code = 'STORE'").fetchone()[0]
        conn.executemany(
            "INSERT INTO suppliers(id, code, name, lead_time_days, lead_time_sd_days, min_order_minor,"
            " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
            [(f"s{n:02d}", f"S{n:02d}", f"Supplier {n}", 2 + n % 7, (n % 3) * 0.5, 50_000, ts, ts) for n in range(50)],
        )
        conn.executemany(
            "INSERT INTO items(id, sku, name_en, unit, price_minor, cost_minor, created_at, updated_at)"
            " VALUES (?,?,?,'each',?,?,?,?)",
            [(f"i{n:05d}", f"SKU{n:05d}", f"Item {n}", 500, 300, ts, ts) for n in range(n_items)],
        )
        conn.executemany(
            "INSERT INTO supplier_items(supplier_id, item_id, case_units, preferred, updated_at) VALUES (?,?,?,1,?)",
            [(f"s{n % 50:02d}", f"i{n:05d}", (6, 12, 24)[n % 3], ts) for n in range(n_items)],
        )
        conn.executemany(
            "INSERT INTO supplier_prices(supplier_id, item_id, valid_from, cost_minor) VALUES (?,?,?,?)",
            [(f"s{n % 50:02d}", f"i{n:05d}", "2020-01-01", 250 + n % 100) for n in range(n_items)],
        )
        conn.executemany(
            "INSERT INTO stock(item_id, location_id, on_hand, reserved, last_seq) VALUES (?,?,?,0,0)",
            [(f"i{n:05d}", store, n % 60) for n in range(n_items)],
        )
    t0 = time.perf_counter()
    with db.write() as conn:
        conn.execute(
            "WITH RECURSIVE d(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM d WHERE n < ?) "
            "INSERT INTO daily_sales(item_id, day, qty) SELECT item_id, day, qty FROM ("
            " SELECT i.id AS item_id, date(?, '-' || d.n || ' days') AS day,"
            " abs(random()) % (2 + (i.rowid % 15)) AS qty, abs(random()) % 100 AS p FROM items i CROSS JOIN d)"
            " WHERE p < 70 AND qty > 0",
            (n_days, today.isoformat()),
        )
        rows = conn.execute("SELECT COUNT(*) FROM daily_sales").fetchone()[0]
    setup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with db.write() as conn:
        out = replenish.run(conn, today=today, actor="system:bench", create_drafts=True)
    took = time.perf_counter() - t0
    db.close()
    return {
        "replenish_50k_items_s": round(took, 2),
        "replenish_items": out["items"],
        "replenish_suggested_items": out["suggested_items"],
        "replenish_drafts": len(out["drafts"]),
        "daily_sales_rows": rows,
        "daily_sales_setup_s": round(setup_s, 1),
    }


def bench_forecast(tmp: Path, *, stores: int = 10, items: int = 1000, n_days: int = 112) -> dict:
    import random

    from sync.central import forecast
    from sync.central import stores as central_stores
    from sync.central.db import make_engine, migrate
    from sync.central.sales import sales_item_daily

    engine = make_engine(f"sqlite:///{tmp / 'central.db'}")
    migrate(engine)
    today = date(2026, 6, 1)
    rng = random.Random(16)
    rows = []
    for s in range(stores):
        central_stores.add_store(engine, f"S{s:02d}", f"Store {s}")
        for n in range(items):
            base, weekend = rng.randint(2, 40), rng.choice((1.0, 1.5, 2.5))
            for i in range(n_days):
                day = today - timedelta(days=n_days - i)
                if n % 3 == 0:  # slow mover: sells on about one day in six
                    q = rng.randint(1, 3) if rng.random() < 0.17 else 0
                else:
                    q = max(0, round(base * (weekend if day.weekday() >= 5 else 1.0) + rng.gauss(0, base * 0.25)))
                if q:
                    rows.append(
                        {
                            "store_id": f"S{s:02d}",
                            "day": day,
                            "item_id": f"i{n:05d}",
                            "category": "c",
                            "sku": f"SKU{n:05d}",
                            "qty": q,
                        }
                    )
    with engine.begin() as conn:
        conn.execute(sales_item_daily.insert(), rows)
    t0 = time.perf_counter()
    out = forecast.run(engine, today=today, horizon=42)
    took = time.perf_counter() - t0
    engine.dispose()
    ev = out["evaluation"]
    return {
        "forecast_10k_series_s": round(took, 2),
        "forecast_series": out["series"],
        "forecast_published": out["published"],
        "mase": ev["mase"],
        "mase_naive": ev["mase_naive"],
        "mase_models": {
            m: {"series": v["series"], "mase": v["mase"], "mase_naive": v["mase_naive"]}
            for m, v in ev["models"].items()
        },
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        result = bench_receive(Path(a))
        print(json.dumps(result), flush=True)
        result.update(bench_replenish(Path(b)))
    with tempfile.TemporaryDirectory() as c:
        result.update(bench_forecast(Path(c)))
    result["targets"] = {"receive_scan_p99_ms": 50, "replenish_50k_items_s": 60, "forecast_10k_series_s": 120}
    print(json.dumps(result))


if __name__ == "__main__":
    main()

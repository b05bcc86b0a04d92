"""Head-office analytics benchmark (issue 19).

Generates ``--stores`` × ``--days`` of checkout sales (``sale.completed`` facts shaped as the till records them,
plus one return in fifty sales and the items' ``item.upsert`` facts) and folds them through the central's real
projection path (``projections.fold`` + ``projections.apply``: the sale headers, lines and the two rollups) into a
PostgreSQL schema kept between runs (``bench_analytics_<stores>x<days>x<sales>``: generated once, reused while
its sizes match; ``--fresh`` rebuilds). The raw events table is not written — it plays no part in the reports.

Figures:

- ``dashboard_p99_ms``: the group's sales page (``GET /sales``, default last 30 days: headline figures vs last year,
  per-store table, day/hour/store charts) rendered by the Flask app, ``--runs`` times after one warm-up;
- ``drilldown_p99_ms``: one store's page by category, then one category by item;
- ``export_s``: the CSV of a year's sales by store × day (``/sales?by=store_day&format=csv``).

Prints one JSON object as its last line (sizes included).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from sync.central import office, projections, stores  # noqa: E402
from sync.central.app import create_app  # noqa: E402
from sync.central.config import CentralConfig  # noqa: E402
from sync.central.db import make_engine, migrate  # noqa: E402
from sync.central.sales import sale_lines, sales  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"
TZ = "Asia/Shanghai"
ITEMS, CATEGORIES = 300, 12


def _ts(d: date, hour: int, minute: int) -> str:
    local = datetime(d.year, d.month, d.day, hour, minute, tzinfo=timezone(timedelta(hours=8)))
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _catalog(rng: random.Random) -> list[dict]:
    out = []
    for n in range(ITEMS):
        price = rng.choice((350, 590, 990, 1250, 1990, 2990, 4990, 8990))
        out.append(
            {
                "id": str(uuid.UUID(int=n + 1)),
                "sku": f"SKU-{n:04d}",
                "name_en": f"Item {n}",
                "name_zh": f"商品{n}",
                "category": f"cat-{n % CATEGORIES:02d}",
                "unit": "each",
                "price_minor": price,
                "cost_minor": price * rng.choice((55, 60, 65, 70)) // 100,
                "active": True,
            }
        )
    return out


def build(engine, n_stores: int, n_days: int, per_day: int, end: date) -> int:
    """Fold every store's year; returns the number of sale lines."""
    rng = random.Random(19)
    items = _catalog(rng)
    lines_total = 0
    for s in range(n_stores):
        sid = f"S{s:03d}"
        stores.add_store(engine, sid)
        with engine.begin() as conn:
            conn.execute(stores.t.stores.update().where(stores.t.stores.c.store_id == sid).values(timezone=TZ))
            seq = 0
            evs = []
            for it in items:
                seq += 1
                evs.append(
                    {"seq": seq, "kind": "item.upsert", "ts": _ts(end - timedelta(days=n_days), 6, 0), "payload": it}
                )
            projections.apply(conn, sid, projections.fold(evs, tz=TZ))
        for d0 in range(0, n_days, 30):
            evs = []
            for d in range(d0, min(n_days, d0 + 30)):
                day = end - timedelta(days=n_days - 1 - d)
                for k in range(per_day):
                    seq += 1
                    basket = rng.sample(items, rng.choice((1, 2, 3, 3, 4, 5)))
                    lines = []
                    for i, it in enumerate(basket, start=1):
                        qty = rng.choice((1, 1, 1, 2, 3))
                        gross = it["price_minor"] * qty
                        disc = gross // 10 if rng.random() < 0.15 else 0
                        net = gross - disc
                        lines.append(
                            {
                                "line_no": i,
                                "item_id": it["id"],
                                "sku": it["sku"],
                                "qty": qty,
                                "weighed": False,
                                "gross_minor": gross,
                                "discount_minor": disc,
                                "net_minor": net,
                                "tax_minor": net * 13 // 113,
                            }
                        )
                    lines_total += len(lines)
                    sale_id = str(uuid.uuid4())
                    ts = _ts(day, 8 + (k * 13) % 14, rng.randrange(60))
                    evs.append(
                        {
                            "seq": seq,
                            "kind": "sale.completed",
                            "ts": ts,
                            "payload": {
                                "sale_id": sale_id,
                                "till_id": "T1",
                                "business_date": day.isoformat(),
                                "receipt_no": k + 1,
                                "receipt_code": f"SHR-T1-{day:%Y%m%d}-{k + 1}",
                                "ts": ts,
                                "cashier": "c",
                                "subtotal_minor": sum(x["gross_minor"] for x in lines),
                                "discount_minor": sum(x["discount_minor"] for x in lines),
                                "total_minor": sum(x["net_minor"] for x in lines),
                                "rounding_minor": 0,
                                "tendered_minor": sum(x["net_minor"] for x in lines),
                                "currency": "CNY",
                                "tax": [],
                                "lines": lines,
                                "tenders": [],
                                "promotions_version": 0,
                                "journal_seq": seq,
                            },
                        }
                    )
                    if k % 50 == 49:
                        seq += 1
                        x = lines[0]
                        evs.append(
                            {
                                "seq": seq,
                                "kind": "sale.returned",
                                "ts": ts,
                                "payload": {
                                    "return_id": str(uuid.uuid4()),
                                    "sale_id": sale_id,
                                    "till_id": "T1",
                                    "business_date": day.isoformat(),
                                    "receipt_no": 0,
                                    "receipt_code": "r",
                                    "ts": ts,
                                    "cashier": "c",
                                    "approved_by": None,
                                    "refund_minor": x["net_minor"],
                                    "rounding_minor": 0,
                                    "lines": [
                                        {
                                            "line_no": 1,
                                            "item_id": x["item_id"],
                                            "sku": x["sku"],
                                            "qty": x["qty"],
                                            "refund_minor": x["net_minor"],
                                            "disposition": "restock",
                                        }
                                    ],
                                    "tenders": [],
                                    "journal_seq": seq,
                                },
                            }
                        )
            with engine.begin() as conn:
                projections.apply(conn, sid, projections.fold(evs, tz=TZ))
    return lines_total


def _p(vals: list[float], q: float) -> float:
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(q * len(vals)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stores", type=int, default=100)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--sales-per-day", type=int, default=8)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--fresh", action="store_true")
    a = ap.parse_args()
    schema = f"bench_analytics_{a.stores}x{a.days}x{a.sales_per_day}"
    end = date(2026, 11, 30)
    with psycopg.connect(PG, autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)).fetchone()
        if exists and a.fresh:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')
            exists = None
        if not exists:
            c.execute(f'CREATE SCHEMA "{schema}"')
    url = PG.replace("postgresql://", "postgresql+psycopg://", 1) + f"?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(stores.t.stores)).scalar()
    build_s = None
    if have != a.stores:
        if have:
            raise SystemExit(f"schema {schema} is half built ({have} stores): run with --fresh")
        t0 = time.perf_counter()
        build(engine, a.stores, a.days, a.sales_per_day, end)
        build_s = round(time.perf_counter() - t0, 1)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    with engine.connect() as conn:
        n_sales = conn.execute(select(func.count()).select_from(sales)).scalar()
        n_lines = conn.execute(select(func.count()).select_from(sale_lines)).scalar()
    app = create_app(CentralConfig(data_dir=Path("/tmp/bench_analytics_central"), testing=True), engine=engine)
    try:
        office.add_user(engine, "bench", "bench-pass-1234", "viewer")
    except Exception:  # a reused schema already has the user
        pass
    client = app.test_client()
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert (
        client.post(
            "/login", data={"username": "bench", "password": "bench-pass-1234", "csrf": csrf, "next": "/"}
        ).status_code
        == 302
    )

    def timed(path: str) -> float:
        t0 = time.perf_counter()
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        return (time.perf_counter() - t0) * 1000

    timed("/sales")
    dash = [timed("/sales") for _ in range(a.runs)]
    drill = []
    for n in range(max(1, a.runs // 2)):
        drill.append(timed(f"/sales?store=S{n % a.stores:03d}"))
        drill.append(timed(f"/sales?store=S{n % a.stores:03d}&category=cat-{n % CATEGORIES:02d}"))
    start = end - timedelta(days=364)
    t0 = time.perf_counter()
    r = client.get(f"/sales?by=store_day&start={start}&end={end}&format=csv")
    export_s = time.perf_counter() - t0
    export_rows = r.get_data(as_text=True).count("\n") - 1
    out = {
        "stores": a.stores,
        "days": a.days,
        "sales": n_sales,
        "sale_lines": n_lines,
        "build_s": build_s,
        "dashboard_p99_ms": round(_p(dash, 0.99), 1),
        "dashboard_median_ms": round(statistics.median(dash), 1),
        "drilldown_p99_ms": round(_p(drill, 0.99), 1),
        "export_s": round(export_s, 2),
        "export_rows": export_rows,
        "runs": a.runs,
        "db": "postgresql",
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

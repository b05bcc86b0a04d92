"""Finance benchmarks (issue 18, "Measured"). One function per figure; ``main`` prints their merged JSON object
as its last line (other finance figures add their own function and a line in FIGURES).

- day_close_s (≤ 2): closing a store day of SALES sales (5,000 by default) end to end — close (Z reports and
  payments checked), reconcile (the settlement: the sale journal's tenders, the tills' tenders, the blind counts
  and both providers' statements matched by out_trade_no), lock (the day's journal built, checked balanced and
  frozen) and both exports (voucher CSV and beancount). The day is seeded as rows (sales with 3 lines each, their
  hash-chained journal entries, tenders — a third cash, a third WeChat Pay, a third Alipay —, sale movements,
  closed shifts and Z-sealed tills) and the providers' statements come from the payment simulators' bill
  generators: seeding through the till would take minutes (bench/checkout.py measures the till's own path).
- statement_match_per_s (≥ 20,000): payments per second through a WeChat Pay downloadbill of PAYMENTS
  (20,000) payments — parsed from its text (Decimal yuan → fen) and matched against the till's tenders
  (``statement_match_only_per_s``: the match alone).

Prints one JSON object as its last line."""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devices.sim import statements as bills  # noqa: E402
from devices.sim.payments import Ledger  # noqa: E402
from hub.app import create_app  # noqa: E402
from hub.checkout import journal  # noqa: E402
from hub.finance import accounting, model, statements  # noqa: E402
from hub.inventory import catalog  # noqa: E402
from hub.kernel import settings  # noqa: E402
from hub.kernel.config import HubConfig  # noqa: E402
from hub.protocol.ids import new_id  # noqa: E402
from hub.protocol.timeutil import now_iso  # noqa: E402
from hub.store import initialise  # noqa: E402

SALES = int(os.environ.get("BENCH_FINANCE_SALES", "5000"))
PAYMENTS = int(os.environ.get("BENCH_FINANCE_PAYMENTS", "20000"))
TILLS = 4
SEED = 18
WX_MCH, ALI_PID = "10000100", "2088102177846630"


def _fake_sims(trades: list[dict[str, Any]], day: str) -> tuple[SimpleNamespace, SimpleNamespace]:
    """Simulator-shaped objects whose ledgers hold the day's trades (the bill generators read only these)."""
    wx = SimpleNamespace(appid="wxd930ea5d5a258f4f", mch_id=WX_MCH, ledger=Ledger())
    ali = SimpleNamespace(pid=ALI_PID, ledger=Ledger())
    compact = day.replace("-", "")
    for t in trades:
        base = {"out_trade_no": t["otn"], "total_fee": t["amount"], "charges": 1, "refunded": 0, "refunds": {}}
        if t["method"] == "wechatpay":
            wx.ledger.trades[t["otn"]] = {
                **base,
                "transaction_id": "4200" + compact + t["otn"][-14:],
                "time_end": compact + "120000",
            }
        else:
            ali.ledger.trades[t["otn"]] = {
                **base,
                "trade_no": compact + "22001" + t["otn"][-15:],
                "gmt_payment": f"{day} 12:00:00",
            }
    return wx, ali


def _seed_day(conn, day: str, items: list[dict[str, Any]], location_id: str) -> list[dict[str, Any]]:
    rnd = random.Random(SEED)
    now = now_iso()
    trades: list[dict[str, Any]] = []
    sales, lines, tenders, moves = [], [], [], []
    per_till = [0] * TILLS
    cash_by_till = [0] * TILLS
    for s in range(SALES):
        till = s % TILLS
        per_till[till] += 1
        sale_id, receipt_no = new_id(), per_till[till]
        method = ("cash", "wechatpay", "alipay")[s % 3]
        body_lines, total = [], 0
        for n in range(1, 4):
            item = items[rnd.randrange(len(items))]
            qty = rnd.randint(1, 3)
            net = item["price_minor"] * qty
            tax = net - round(net / 1.13)
            total += net
            body_lines.append(
                {
                    "line_no": n,
                    "item_id": item["id"],
                    "sku": item["sku"],
                    "qty": qty,
                    "net_minor": net,
                    "tax_minor": tax,
                    "tax_rate": "0.13",
                }
            )
            lines.append((sale_id, n, item["id"], item["sku"], qty, 0, net, 0, net, tax, "0.13"))
            moves.append(
                (new_id(), f"sale:{sale_id}:{n}", "sale", item["id"], location_id, -qty, 0, "sale", "bench", now)
            )
        otn = "SH" + new_id().replace("-", "")[:30]
        code = f"SHR-T{till}-{day.replace('-', '')}-{receipt_no:04d}"
        entry = journal.append(
            conn,
            "sale",
            till_id=f"T{till}",
            business_date=day,
            receipt_no=receipt_no,
            ts=now,
            body={
                "sale_id": sale_id,
                "lines": body_lines,
                "tenders": [{"id": otn, "out_trade_no": otn, "method": method, "amount_minor": total}],
            },
        )
        sales.append(
            (sale_id, entry["seq"], f"T{till}", day, receipt_no, code, "bench", total, 0, total, 0, total, now)
        )
        tenders.append((new_id(), otn, sale_id, f"T{till}", day, method, total, "paid", "bench", now, now))
        if method == "cash":
            cash_by_till[till] += total
        else:
            trades.append({"otn": otn, "method": method, "amount": total})
    conn.executemany(
        "INSERT INTO checkout_sales(id, kind, journal_seq, till_id, business_date, receipt_no, receipt_code, cashier,"
        " subtotal_minor, discount_minor, total_minor, rounding_minor, tendered_minor, ts)"
        " VALUES (?,'sale',?,?,?,?,?,?,?,?,?,?,?,?)",
        sales,
    )
    conn.executemany(
        "INSERT INTO checkout_sale_lines(sale_id, line_no, item_id, sku, qty, weighed, gross_minor, discount_minor,"
        " net_minor, tax_minor, tax_rate) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        lines,
    )
    conn.executemany(
        "INSERT INTO checkout_tenders(id, out_trade_no, sale_id, till_id, business_date, method, amount_minor, state,"
        " actor, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        tenders,
    )
    conn.executemany(
        "INSERT INTO movements(id, idempotency_key, kind, item_id, location_id, qty_delta, reserved_delta, reason,"
        " actor, ts) VALUES (?,?,?,?,?,?,?,?,?,?)",
        moves,
    )
    for t in range(TILLS):
        conn.execute("INSERT INTO checkout_tills(id, created_at) VALUES (?, ?)", (f"T{t}", now))
        conn.execute(
            "INSERT INTO checkout_days(till_id, business_date, last_receipt_no, status, z_number, closed_at,"
            " closed_by) VALUES (?,?,?,'closed',1,?, 'bench')",
            (f"T{t}", day, per_till[t], now),
        )
        expected = 50000 + cash_by_till[t]
        counted = expected - (120 if t == 0 else 0)
        conn.execute(
            "INSERT INTO checkout_shifts(id, till_id, business_date, status, opened_by, opened_at, float_minor,"
            " closed_by, closed_at, counted_minor, counted, expected_minor, over_short_minor)"
            " VALUES (?,?,?,'closed','bench',?,50000,'bench',?,?,'{}',?,?)",
            (new_id(), f"T{t}", day, now, now, counted, expected, counted - expected),
        )
    return trades


def day_close_s() -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="bench-finance-"))
    app = create_app(HubConfig(data_dir=data, testing=True))
    db = app.extensions["storehub"].db
    initialise(db, store_id="bench", store_name="Bench", currency="CNY", language="zh-CN")
    with db.write() as conn:
        settings.put(conn, "finance.merchant_ids", {"wechatpay": WX_MCH, "alipay": ALI_PID})
        items = [
            catalog.create_item(
                conn,
                {
                    "sku": f"SKU{i:05d}",
                    "name_en": f"Item {i}",
                    "name_zh": f"商品{i}",
                    "unit": "each",
                    "price_minor": 100 + 37 * i,
                    "cost_minor": 60 + 20 * i,
                },
                actor="bench",
                audit_it=False,
            )
            for i in range(300)
        ]
        location = conn.execute("SELECT id FROM locations WHERE code = 'STORE'").fetchone()[0]
        day = model.today(conn)
        trades = _seed_day(conn, day, items, location)
    wx, ali = _fake_sims(trades, day)
    wx_bill, ali_zip = bills.wechat_bill(wx, day), bills.alipay_bill_zip(ali, day)
    with db.write() as conn:
        model.import_statement(conn, "wechatpay", wx_bill, bill_date=day, actor="bench")
        model.import_statement(conn, "alipay", ali_zip, actor="bench")
    t0 = time.perf_counter()
    with db.write() as conn:
        closed = model.close_day(conn, day, actor="bench")
    with db.write() as conn:
        model.reconcile_day(conn, day, actor="bench")
    with db.write() as conn:
        model.lock_day(conn, day, actor="bench")
    conn = db.read()
    sizes = [len(accounting.export(conn, day, fmt)[1]) for fmt in ("vouchers", "beancount")]
    elapsed = time.perf_counter() - t0
    assert closed["state"] == "closed", closed["blockers"][:3]
    frozen = model.settlement(conn, day)
    kinds = sorted({d["kind"] for d in frozen["differences"]})
    assert kinds == ["cash_over_short"], frozen["differences"][:3]  # only till T0's ¥1.20
    db.close()
    return {
        "day_close_s": round(elapsed, 3),
        "day_close_sales": SALES,
        "day_close_code_payments": len(trades),
        "day_close_export_bytes": sizes,
        "day_close_seed": "rows (see the docstring)",
    }


def statement_match_per_s() -> dict[str, Any]:
    day = "2026-12-01"
    rnd = random.Random(SEED + 1)
    trades = [
        {"otn": "SH" + f"{i:030x}", "method": "wechatpay", "amount": rnd.randint(100, 50000)} for i in range(PAYMENTS)
    ]
    wx, _ali = _fake_sims(trades, day)
    bill = bills.wechat_bill(wx, day)
    hub = {t["otn"]: {"till_id": "T1", "amount_minor": t["amount"]} for t in trades}
    t0 = time.perf_counter()
    parsed = statements.parse_wechat(bill)
    diffs = model.match(hub, {}, {}, parsed["rows"], method="wechatpay", fee_rate="0.006")
    total = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.match(hub, {}, {}, parsed["rows"], method="wechatpay", fee_rate="0.006")
    match_only = time.perf_counter() - t0
    assert diffs == [] and len(parsed["rows"]) == PAYMENTS
    return {
        "statement_match_per_s": round(PAYMENTS / total),
        "statement_match_only_per_s": round(PAYMENTS / match_only),
        "statement_payments": PAYMENTS,
        "statement_bytes": len(bill),
    }


# --- valuation and P&L (issue 18, part 2: hub/finance/valuation.py, sync/central/finance.py) ----------------------
#
# - stock_value_at_date_s (≤ 2): the stock value at a past date (hub.finance.valuation.stock_value) over VAL_ITEMS
#   items (50,000) and VAL_MOVEMENTS ledger movements (1,000,000) spread over a year, with a moving-average cost
#   trail of one receipt in five movements: on hand per item at the instant × the average in force then, one SQL pass. The
#   ledger is seeded as rows (posting a million movements through ledger.post takes many minutes; the hooks'
#   own cost is measured by the checkout and ledger benches). Best of VAL_RUNS.
# - pnl_month_100_stores_ms (≤ 1,000): the group's P&L for a month (sync.central.finance.consolidated: sales,
#   VAT, COGS, shrink, points, expenses per store) and one store's drill-down by category, at the central on
#   PostgreSQL, PNL_STORES stores (100) × a 30-day month × PNL_ITEMS items sold a day (200) in the sales rollup,
#   20 categories of COGS and shrink a day, points entries and expenses; p50 of PNL_RUNS.

VAL_ITEMS = int(os.environ.get("BENCH_FINANCE_VAL_ITEMS", "50000"))
VAL_MOVEMENTS = int(os.environ.get("BENCH_FINANCE_VAL_MOVEMENTS", "1000000"))
VAL_RUNS = 3
PNL_STORES = int(os.environ.get("BENCH_FINANCE_PNL_STORES", "100"))
PNL_ITEMS = int(os.environ.get("BENCH_FINANCE_PNL_ITEMS", "200"))
PNL_RUNS = 5
PG_DSN = os.environ.get("STOREHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def stock_value_at_date_s() -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    from hub.finance import valuation
    from hub.protocol.timeutil import iso

    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(HubConfig(data_dir=Path(tmp), testing=True))
        db = app.extensions["storehub"].db
        initialise(db, store_id="bench-valuation", store_name="Bench", currency="CNY", language="en")
        start = datetime(2025, 1, 1, tzinfo=UTC)
        with db.write() as conn:
            loc = conn.execute("SELECT id FROM locations WHERE code = 'STORE'").fetchone()[0]
            now = now_iso()
            items = [new_id() for _ in range(VAL_ITEMS)]
            conn.executemany(
                "INSERT INTO items(id, sku, category, unit, price_minor, cost_minor, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (
                    (
                        iid,
                        f"SKU-{n:06d}",
                        f"cat-{n % 40}",
                        "kg" if n % 25 == 0 else "each",
                        1000,
                        500 + n % 700,
                        now,
                        now,
                    )
                    for n, iid in enumerate(items)
                ),
            )
            seconds = 365 * 86400
            moves, costs = [], []
            for n in range(VAL_MOVEMENTS):
                item = items[n % VAL_ITEMS]
                ts = iso(start + timedelta(seconds=seconds * n // VAL_MOVEMENTS))
                mid = new_id()
                if (n // VAL_ITEMS) % 5 == 0:  # each item: a receipt, then four sales, and again
                    kind, qty = "receive", rng.randint(5, 50)
                    costs.append((mid, item, qty, rng.randint(300, 1500), 0, None, rng.randint(300, 1500), ts))
                else:
                    kind, qty = "sale", -rng.randint(1, 3)
                moves.append((mid, mid, kind, item, loc, qty, 0, kind, "bench", ts))
            conn.executemany(
                "INSERT INTO movements(id, idempotency_key, kind, item_id, location_id, qty_delta, reserved_delta,"
                " reason, actor, ts) VALUES (?,?,?,?,?,?,?,?,?,?)",
                moves,
            )
            conn.executemany(
                "INSERT INTO item_cost_history(movement_id, item_id, qty, unit_cost_minor, on_hand_before,"
                " avg_before_minor, avg_after_minor, ts) VALUES (?,?,?,?,?,?,?,?)",
                costs,
            )
        conn = db.read()
        conn.execute("ANALYZE")
        times, out = [], {}
        for _ in range(VAL_RUNS):
            t0 = time.perf_counter()
            out = valuation.stock_value(conn, "2025-09-30", by="category")
            times.append(time.perf_counter() - t0)
        db.close()
    return {
        "stock_value_at_date_s": round(min(times), 3),
        "stock_value_items": VAL_ITEMS,
        "stock_value_movements": VAL_MOVEMENTS,
        "stock_value_items_on_hand": out["items"],
    }


def pnl_month_100_stores_ms() -> dict[str, Any]:
    import io
    import statistics
    from datetime import date, timedelta

    import psycopg

    from sync.central import finance as central_finance
    from sync.central import stores as central_stores
    from sync.central.db import make_engine, migrate

    schema = f"bench_finance_{os.getpid()}"
    with psycopg.connect(PG_DSN, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    url = PG_DSN.replace("postgresql://", "postgresql+psycopg://", 1) + f"?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    rng = random.Random(SEED)
    try:
        migrate(engine)
        month = date(2026, 3, 1)
        stores = [f"store-{n:03d}" for n in range(PNL_STORES)]
        for s in stores:
            central_stores.add_store(engine, s)
        with psycopg.connect(PG_DSN, autocommit=True, options=f"-csearch_path={schema}") as c:

            def copy(table: str, cols: str, rows) -> None:
                buf = io.StringIO()
                for r in rows:
                    buf.write("\t".join(str(x) for x in r) + "\n")
                with c.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                    cp.write(buf.getvalue())

            days = [month + timedelta(days=d) for d in range(30)]
            # the prior month too, so the month's rows are a part of the table as they would be
            days += [month - timedelta(days=d) for d in range(1, 31)]
            copy(
                "sales_item_daily",
                "store_id, day, item_id, category, sku, lines, units, qty, gross_minor, discount_minor, net_minor,"
                " tax_minor, refund_minor, cost_minor, costed_net_ex_tax_minor",
                (
                    (
                        s,
                        d,
                        f"item-{i}",
                        f"cat-{i % 20}",
                        f"SKU-{i}",
                        3,
                        4,
                        4,
                        g,
                        g // 10,
                        g - g // 10,
                        (g - g // 10) * 13 // 113,
                        g // 50,
                        0,
                        0,
                    )
                    for s in stores
                    for d in days
                    for i in range(PNL_ITEMS)
                    for g in (rng.randint(500, 20000),)
                ),
            )
            copy(
                "finance_cost_daily",
                "store_id, day, category, line, cost_minor, qty, movements",
                (
                    (s, d, f"cat-{k}", ln, rng.randint(1000, 90000), 10, 10)
                    for s in stores
                    for d in days
                    for k in range(20)
                    for ln in ("cogs", "shrink")
                ),
            )
            copy(
                "points_entries",
                "entry_id, member_id, store_id, kind, points, spend_minor, at, merged_at",
                (
                    (
                        new_id(),
                        f"m-{n % 5000}",
                        stores[n % PNL_STORES],
                        "earn",
                        rng.randint(1, 200),
                        1000,
                        f"2026-03-{1 + n % 28:02d}T05:00:00.000Z",
                        now_iso(),
                    )
                    for n in range(50 * PNL_STORES)
                ),
            )
            copy(
                "finance_expenses",
                "store_id, month, line, amount_minor, entered_by, entered_at",
                (
                    (s, month, ln, rng.randint(10**6, 10**7), "bench", now_iso())
                    for s in stores
                    for ln in ("rent", "wages", "utilities")
                ),
            )
            c.execute("VACUUM ANALYZE")  # as autovacuum leaves a settled month (index-only scans)
        times, drill = [], []
        out: dict[str, Any] = {}
        for _ in range(PNL_RUNS):
            t0 = time.perf_counter()
            out = central_finance.consolidated(engine, month="2026-03")
            times.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            central_finance.store_pnl(engine, stores[0], month="2026-03")
            drill.append((time.perf_counter() - t0) * 1000)
        assert len(out["stores"]) == PNL_STORES
    finally:
        engine.dispose()
        with psycopg.connect(PG_DSN, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return {
        "pnl_month_100_stores_ms": round(statistics.median(times), 1),
        "pnl_store_drilldown_ms": round(statistics.median(drill), 1),
        "pnl_stores": PNL_STORES,
        "pnl_sales_rollup_rows": PNL_STORES * PNL_ITEMS * 60,
    }


FIGURES: list[Callable[[], dict[str, Any]]] = [
    day_close_s,
    statement_match_per_s,
    stock_value_at_date_s,
    pnl_month_100_stores_ms,
]


def main() -> None:
    out: dict[str, Any] = {}
    for figure in FIGURES:
        out.update(figure())
        print(f"{figure.__name__}: done", file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

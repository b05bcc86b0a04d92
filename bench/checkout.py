"""Checkout benchmark (issue 13), on the hub's real app and write path (WAL, synchronous=FULL).

- scan_to_line_p99_ms: one scan → priced cart back, over HTTP through the Flask app (WSGI test client, in
  process: routing, auth, schema, one write transaction, pricing through the promotions engine, live fact).
- tender_commit_p99_ms: a cash tender that commits a 10-line sale (journal + ledger + outbox + print request).
- concurrent_scan_p99_ms: 20 tills (threads, each its own session and cart) scanning 3 items/s each.
- sales_per_s: 5-line sales (scan ×5 + cash tender, domain calls, one transaction each) sustained.
- z_report_s: the Z report of a till with a 5,000-sale day.
- journal_verify_s: verifying a journal of 100,000 sale entries (entries appended with the body of a real
  5-line sale; making 100,000 sales through the till would take the 2 cores ~15 minutes).

Catalogue: ITEMS items (default 5,000; the issue's 50,000 only changes the index build of the pinyin search,
not a scan, which is by GTIN) and no delivered promotions (the engine is still called on every price).
Prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.app import create_app  # noqa: E402
from hub.auth import users  # noqa: E402
from hub.checkout import cart, journal, tills, workflow  # noqa: E402
from hub.inventory import catalog  # noqa: E402
from hub.kernel.config import HubConfig  # noqa: E402
from hub.store import initialise  # noqa: E402

ITEMS = int(os.environ.get("BENCH_CHECKOUT_ITEMS", "5000"))


def gtin(n: int) -> str:
    body = f"690{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def p99(xs: list[float]) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * 0.99))], 2)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-checkout-"))
    app = create_app(HubConfig(data_dir=tmp, testing=True))
    ctx = app.extensions["storehub"]
    db = ctx.db
    initialise(db, store_id="bench", store_name="Bench", currency="CNY", language="zh-CN")
    with db.write() as conn:
        for i in range(ITEMS):
            catalog.create_item(conn, {"sku": f"SKU{i:06d}", "name_en": f"Item {i}", "name_zh": "西红柿" if i % 7 == 0
                                       else "牛奶", "unit": "each", "price_minor": 100 + i % 5000,
                                       "gtins": [gtin(i)]}, actor="bench", audit_it=False)
        for t in range(22):
            users.create(conn, username=f"c{t}", role="associate", pin=f"{1000 + t}", secret_key=ctx.secret_key)
            tills.open_shift(conn, f"T{t}", float_minor=100000, actor="bench")
    codes = [gtin(i) for i in range(ITEMS)]

    def client(t: int):
        c = app.test_client()
        tok = c.post("/api/v1/auth/login", json={"user": f"c{t}", "pin": f"{1000 + t}"}).get_json()["token"]
        return c, {"Authorization": f"Bearer {tok}"}

    # scan → line, and the cash commit of a 10-line sale, over HTTP
    c, hd = client(0)
    scan_ms, commit_ms = [], []
    for s in range(60):
        cid = c.post("/api/v1/checkout/tills/T0/carts", json={}, headers=hd).get_json()["id"]
        for k in range(10):
            t0 = time.perf_counter()
            r = c.post(f"/api/v1/checkout/carts/{cid}/scan", json={"code": codes[(s * 10 + k) % ITEMS]}, headers=hd)
            scan_ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.get_json()
        t0 = time.perf_counter()
        r = c.post(f"/api/v1/checkout/carts/{cid}/tenders", json={"method": "cash", "received_minor": 10**7,
                                                                  "idempotency_key": f"bench-pay-{s:06d}"}, headers=hd)
        commit_ms.append((time.perf_counter() - t0) * 1000)
        assert r.get_json()["sale"], r.get_json()

    # 20 tills × 3 scans/s
    conc_ms: list[float] = []
    lock = threading.Lock()

    def till_worker(t: int) -> None:
        cl, h = client(t + 1)
        cid = cl.post(f"/api/v1/checkout/tills/T{t + 1}/carts", json={}, headers=h).get_json()["id"]
        nxt = time.perf_counter()
        for k in range(15):
            nxt += 1 / 3
            t0 = time.perf_counter()
            r = cl.post(f"/api/v1/checkout/carts/{cid}/scan", json={"code": codes[(t * 100 + k) % ITEMS]}, headers=h)
            ms = (time.perf_counter() - t0) * 1000
            assert r.status_code == 200
            with lock:
                conc_ms.append(ms)
            time.sleep(max(0.0, nxt - time.perf_counter()))

    threads = [threading.Thread(target=till_worker, args=(t,)) for t in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    # sustained 5-line sales through the domain, and the 5,000-sale day
    n_sales = 5000
    t0 = time.perf_counter()
    for s in range(n_sales):
        with db.write() as conn:
            cid = cart.open_cart(conn, "T21", actor="bench")["id"]
            for k in range(5):
                cart.scan(conn, cid, codes[(s * 5 + k) % ITEMS], actor="bench")
            workflow.tender(conn, cid, method="cash", idempotency_key=f"bench-sale-{s:07d}", actor="bench",
                            received_minor=10**7)
    sales_per_s = n_sales / (time.perf_counter() - t0)
    with db.write() as conn:
        tills.close_shift(conn, "T21", counted={"10000": 1}, actor="bench")
    t0 = time.perf_counter()
    with db.write() as conn:
        z = workflow.z_report(conn, "T21", actor="bench")
    z_s = time.perf_counter() - t0
    assert z["totals"]["sales"] == n_sales

    # a 100,000-sale journal
    conn = db.read()
    seq = conn.execute("SELECT journal_seq FROM checkout_sales WHERE till_id = 'T21' LIMIT 1").fetchone()[0]
    body = journal.entry(conn, seq)["body"]
    have = conn.execute("SELECT COUNT(*) FROM checkout_journal").fetchone()[0]
    with db.write() as w:
        for i in range(max(0, 100_000 - have)):
            journal.append(w, "sale", till_id="T99", business_date="2026-01-01", receipt_no=i + 1, body=body)
    t0 = time.perf_counter()
    result = journal.verify(db.read())
    verify_s = time.perf_counter() - t0
    assert result["ok"] and result["entries"] >= 100_000

    out = {"items": ITEMS, "promotions": 0, "scan_to_line_p50_ms": round(statistics.median(scan_ms), 2),
           "scan_to_line_p99_ms": p99(scan_ms), "tender_commit_p99_ms": p99(commit_ms),
           "concurrent_scan_p99_ms": p99(conc_ms), "concurrent_scans": len(conc_ms),
           "sales_per_s": round(sales_per_s, 1), "z_report_s": round(z_s, 3), "z_report_sales": n_sales,
           "journal_verify_s": round(verify_s, 2), "journal_entries": result["entries"]}
    db.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Checkout benchmark (issue 13), on the hub's real app, write path (WAL, synchronous=FULL) and server.

The store: ITEMS items (default the issue's 50,000, over 400 categories and 300 brands) and PROMOTIONS
promotions in force (default the issue's 2,000, delivered the way the central delivers them: a downlink page
into ``central_promotions``; a realistic mix — most on lists of SKUs, some on a category or a brand, a few
order-phase 满减). Half the scans are of promoted items. Figures, over loopback HTTP against a real
``storehub serve`` (gunicorn, gthread workers, ``WORKERS`` processes) unless said otherwise:

- scan_to_line_p50/p99_ms: one scan → the priced cart back, one till alone (10-line carts).
- tender_commit_p99_ms: the cash tender that commits a 10-line sale (journal + ledger + outbox + print request).
- concurrent_scan_p99_ms: 20 tills, each a separate client process with its own login and cart, scanning
  3 items/s each (a 15-item cart, then its cash tender, then the next cart); ``concurrent_tender_p99_ms`` is
  the tenders among them.
- sales_per_s (``sales_mode`` says how): 5-line sales (open cart, 5 scans, cash tender) one after another,
  in process through the domain, what the write path sustains without HTTP. Each sale is the till's seven
  domain calls (``cart.open_cart``, 5 × ``cart.scan``, ``workflow.tender``) inside one ``db.write()``: one
  ``BEGIN IMMEDIATE`` … ``COMMIT``, so one WAL fsync per sale (``synchronous=FULL``; ~100 WAL pages, ~400 KB;
  plus the automatic checkpoint's, about every 10 sales at 1,000 WAL pages), with every fact, journal entry,
  ledger movement and the receipt number of the sale in it; no sale starts before the previous one is durable.
  ``sales_per_s_http``: the same sales by 4 tills over HTTP at once, against the server; there every call is
  its own request and transaction, so a sale is 7 commits (7 fsyncs), as at a real till.
- z_report_s: the Z report of the till that made the in-process sales (SALES of them, 5,000 by default).
- journal_verify_s: verifying a journal of 100,000 sale entries (the in-process sales plus entries appended
  with the body of one of them).
- pricing_share: the share of the in-process sales' time spent in the promotions engine (``engine.price``),
  the part of a scan this domain does not own.

The load generators run on the same 2 cores as the server; their CPU time is taken from it.
Prints one JSON object as its last line. The store is built in a temporary directory, removed at the end
(``BENCH_KEEP_DATA=1`` keeps it).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.app import create_app  # noqa: E402
from hub.auth import users  # noqa: E402
from hub.checkout import cart, journal, tills, workflow  # noqa: E402
from hub.inventory import catalog  # noqa: E402
from hub.kernel.config import HubConfig  # noqa: E402
from hub.promotions import engine  # noqa: E402
from hub.protocol.timeutil import iso, utcnow  # noqa: E402
from hub.store import initialise  # noqa: E402
from hub.synclink import downlink  # noqa: E402

ITEMS = int(os.environ.get("BENCH_CHECKOUT_ITEMS", "50000"))
PROMOTIONS = int(os.environ.get("BENCH_CHECKOUT_PROMOTIONS", "2000"))
SALES = int(os.environ.get("BENCH_CHECKOUT_SALES", "5000"))
WORKERS = 2
TILLS = 20
SCANS_PER_S = 3.0
CONCURRENT_S = 20.0
HTTP_SALE_TILLS = 4
HTTP_SALES_S = 15.0
SEED = 13


def gtin(n: int) -> str:
    body = f"690{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * q / 100))], 2)


def _item(i: int) -> dict:
    rnd = random.Random(i)
    return {
        "sku": f"SKU{i:06d}",
        "name_en": f"Item {i}",
        "name_zh": "西红柿" if i % 7 == 0 else "牛奶",
        "unit": "each",
        "price_minor": 100 + rnd.randrange(20_000),
        "category": f"cat{rnd.randrange(400):03d}",
        "brand": f"brand{rnd.randrange(300):03d}",
        "gtins": [gtin(i)],
    }


def promotions(n: int) -> list[dict]:
    """A chain's promotion calendar in force now: 75% on lists of 1-12 SKUs (percent off, fixed price,
    第二件半价, buy-x-get-y), 15% on a category, 7.5% on a brand, 2.5% order-phase 满减 on categories."""
    rnd = random.Random(SEED)
    now = utcnow()
    valid = {"from": iso(now - timedelta(days=1)), "to": iso(now + timedelta(days=30))}
    out = []
    for k in range(n):
        pid = f"P{k:04d}"
        p: dict = {
            "id": pid,
            "name": {"en": f"Offer {pid}", "zh-CN": f"促销 {pid}"},
            "valid": valid,
            "priority": rnd.randint(0, 5),
        }
        share = k / max(1, n)
        kind = rnd.choices(["percent_off", "fixed_price", "nth_item_off", "buy_x_get_y"], [45, 30, 13, 12])[0]
        params = {
            "percent_off": lambda: {"percent": rnd.choice([5, 10, 15, 20, 30, 50])},
            "fixed_price": lambda: {"price_minor": rnd.randint(80, 15_000)},
            "nth_item_off": lambda: {"n": 2, "percent": 50},
            "buy_x_get_y": lambda: {
                "buy": rnd.choice([1, 2, 3]),
                "get": 1,
                "percent_off": 100,
                "repeat": rnd.random() < 0.7,
            },
        }
        if share < 0.75:
            scope = {"skus": [f"SKU{rnd.randrange(ITEMS):06d}" for _ in range(rnd.randint(1, 12))]}
        elif share < 0.90:
            kind = rnd.choice(["percent_off", "nth_item_off", "buy_x_get_y"])
            scope = {"categories": [f"cat{rnd.randrange(400):03d}"]}
        elif share < 0.975:
            kind = rnd.choice(["percent_off", "nth_item_off", "buy_x_get_y"])
            scope = {"brands": [f"brand{rnd.randrange(300):03d}"]}
        else:
            spend = rnd.choice([5_000, 10_000, 20_000])
            kind, scope = "spend_save", {"categories": [f"cat{c:03d}" for c in rnd.sample(range(400), 10)]}
            params["spend_save"] = lambda: {
                "ladder": [{"spend_minor": spend, "save_minor": spend // 10}],
                "repeat": True,
            }
        p.update(type=kind, params=params[kind](), scope=scope)
        out.append(p)
    return out


def sale_codes() -> list[str]:
    """What the tills scan: half promoted SKUs, half the rest of the catalog (fixed by the seed)."""
    rnd = random.Random(SEED + 1)
    hot = sorted({int(s[3:]) for p in promotions(PROMOTIONS) for s in p["scope"].get("skus", [])})
    return [gtin(rnd.choice(hot) if hot and rnd.random() < 0.5 else rnd.randrange(ITEMS)) for _ in range(20_000)]


def build_store(data: Path) -> None:
    """The store on disk: catalog, promotions through a downlink page, cashiers c0..c21 (PIN 1000+n) and
    tills T0..T21 with open shifts."""
    app = create_app(HubConfig(data_dir=data, testing=True))
    ctx = app.extensions["storehub"]
    db = ctx.db
    initialise(db, store_id="bench", store_name="Bench", currency="CNY", language="zh-CN")
    with db.write() as conn:
        for i in range(ITEMS):
            catalog.create_item(conn, _item(i), actor="bench", audit_it=False)
        for t in range(22):
            users.create(conn, username=f"c{t}", role="associate", pin=f"{1000 + t}", secret_key=ctx.secret_key)
            tills.open_shift(conn, f"T{t}", float_minor=100000, actor="bench")
    promos = promotions(PROMOTIONS)
    if promos:
        changes = [{"version": v + 1, "kind": "promotion", "payload": p} for v, p in enumerate(promos)]
        got = downlink.apply_page(db, changes, len(changes))
        assert not got["rejected"], got["rejected"][:3]
    db.close()


# --- HTTP -------------------------------------------------------------------------------------------------------


class Till:
    """One till's keep-alive connection to the hub, logged in as its cashier."""

    def __init__(self, port: int, t: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.id = f"T{t}"
        token = self.call("POST", "/api/v1/auth/login", {"user": f"c{t}", "pin": f"{1000 + t}"})[1]["token"]
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[float, dict]:
        t0 = time.perf_counter()
        self.conn.request(
            method,
            path,
            body=json.dumps(body or {}),
            headers=getattr(self, "headers", {"Content-Type": "application/json"}),
        )
        r = self.conn.getresponse()
        out = json.loads(r.read())
        ms = (time.perf_counter() - t0) * 1000
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {out}")
        return ms, out

    def new_cart(self) -> str:
        return self.call("POST", f"/api/v1/checkout/tills/{self.id}/carts", {})[1]["id"]

    def scan(self, cart_id: str, code: str) -> tuple[float, dict]:
        return self.call("POST", f"/api/v1/checkout/carts/{cart_id}/scan", {"code": code})

    def pay(self, cart_id: str, key: str) -> tuple[float, dict]:
        ms, out = self.call(
            "POST",
            f"/api/v1/checkout/carts/{cart_id}/tenders",
            {"method": "cash", "received_minor": 10**7, "idempotency_key": key},
        )
        assert out["sale"], out
        return ms, out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "serve",
            "--data-dir",
            str(data),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/health")
            if c.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGTERM)
    raise RuntimeError(f"the hub did not answer on port {port}")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def alone(port: int, codes: list[str], sales: int = 40) -> tuple[list[float], list[float]]:
    """One till alone: 10-line carts, each scan timed, then the cash tender that commits the sale."""
    till = Till(port, 0)
    for s in range(3):  # warm both workers' caches
        cid = till.new_cart()
        till.scan(cid, codes[s])
        till.pay(cid, f"bench-warm-{s}-{time.time_ns()}")
    scan_ms, commit_ms = [], []
    for s in range(sales):
        cid = till.new_cart()
        for k in range(10):
            scan_ms.append(till.scan(cid, codes[(s * 10 + k) % len(codes)])[0])
        commit_ms.append(till.pay(cid, f"bench-pay-{s}-{time.time_ns()}")[0])
    return scan_ms, commit_ms


def till_process(port: int, t: int, codes: list[str], start_at: float, out: mp.Queue) -> None:
    """A till scanning 3 items/s for CONCURRENT_S (15 items a cart, then the cash tender)."""
    till = Till(port, t)
    rnd = random.Random(t)
    scans, pays = [], []
    time.sleep(max(0.0, start_at - time.time()) + rnd.random() / SCANS_PER_S)
    deadline = time.time() + CONCURRENT_S
    nxt = time.perf_counter()
    cid, n = till.new_cart(), 0
    while time.time() < deadline:
        scans.append(till.scan(cid, codes[rnd.randrange(len(codes))])[0])
        n += 1
        if n == 15:
            pays.append(till.pay(cid, f"bench-conc-{t}-{time.time_ns()}")[0])
            cid, n = till.new_cart(), 0
        nxt += 1 / SCANS_PER_S
        time.sleep(max(0.0, nxt - time.perf_counter()))
    out.put((scans, pays))


def seller_process(port: int, t: int, codes: list[str], deadline: float, out: mp.Queue) -> None:
    """A till selling 5-line sales back to back until the deadline."""
    till = Till(port, t)
    rnd = random.Random(100 + t)
    done = 0
    while time.time() < deadline:
        cid = till.new_cart()
        for _ in range(5):
            till.scan(cid, codes[rnd.randrange(len(codes))])
        till.pay(cid, f"bench-http-sale-{t}-{time.time_ns()}")
        done += 1
    out.put(done)


def concurrent(port: int, codes: list[str]) -> tuple[list[float], list[float]]:
    q: mp.Queue = mp.Queue()
    start_at = time.time() + 3  # every till logged in before the first scan
    procs = [mp.Process(target=till_process, args=(port, t + 1, codes, start_at, q)) for t in range(TILLS)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    return [x for s, _ in results for x in s], [x for _, p in results for x in p]


def http_sales(port: int, codes: list[str]) -> float:
    q: mp.Queue = mp.Queue()
    start = time.time() + 2
    deadline = start + HTTP_SALES_S
    procs = [mp.Process(target=seller_process, args=(port, 1 + t, codes, deadline, q)) for t in range(HTTP_SALE_TILLS)]
    for p in procs:
        p.start()
    done = sum(q.get() for _ in procs)
    for p in procs:
        p.join()
    return done / (time.time() - start)


# --- in process ---------------------------------------------------------------------------------------------------


def in_process(data: Path, codes: list[str]) -> dict:
    """Sustained 5-line sales through the domain on till T21, its Z report, and a 100,000-entry journal."""
    app = create_app(HubConfig(data_dir=data, testing=True))
    db = app.extensions["storehub"].db
    in_engine = [0.0]
    real_price = engine.price

    def timed_price(*a, **kw):
        t0 = time.perf_counter()
        try:
            return real_price(*a, **kw)
        finally:
            in_engine[0] += time.perf_counter() - t0

    engine.price = timed_price
    try:
        t0 = time.perf_counter()
        for s in range(SALES):
            with db.write() as conn:
                cid = cart.open_cart(conn, "T21", actor="bench")["id"]
                for k in range(5):
                    cart.scan(conn, cid, codes[(s * 5 + k) % len(codes)], actor="bench")
                workflow.tender(
                    conn, cid, method="cash", idempotency_key=f"bench-sale-{s:07d}", actor="bench", received_minor=10**7
                )
        elapsed = time.perf_counter() - t0
    finally:
        engine.price = real_price
    with db.write() as conn:
        tills.close_shift(conn, "T21", counted={"10000": 1}, actor="bench")
    t0 = time.perf_counter()
    with db.write() as conn:
        z = workflow.z_report(conn, "T21", actor="bench")
    z_s = time.perf_counter() - t0
    assert z["totals"]["sales"] == SALES

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
    db.close()
    return {
        "sales_per_s": round(SALES / elapsed, 1),
        "pricing_share": round(in_engine[0] / elapsed, 2),
        "z_report_s": round(z_s, 3),
        "z_report_sales": SALES,
        "journal_verify_s": round(verify_s, 2),
        "journal_entries": result["entries"],
    }


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-checkout-"))
    try:
        run(data)
    finally:
        if not os.environ.get("BENCH_KEEP_DATA"):  # ~570 MB a run
            shutil.rmtree(data, ignore_errors=True)


def run(data: Path) -> None:
    t0 = time.perf_counter()
    build_store(data)
    setup_s = time.perf_counter() - t0
    codes = sale_codes()
    port = free_port()
    server = start_server(data, port)
    try:
        scan_ms, commit_ms = alone(port, codes)
        conc_ms, conc_pay_ms = concurrent(port, codes)
        sales_http = http_sales(port, codes)
    finally:
        stop_server(server)
    out = {
        "items": ITEMS,
        "promotions": PROMOTIONS,
        "setup_s": round(setup_s, 1),
        "gunicorn_workers": WORKERS,
        "scan_to_line_p50_ms": round(statistics.median(scan_ms), 2),
        "scan_to_line_p99_ms": pct(scan_ms, 99),
        "tender_commit_p50_ms": round(statistics.median(commit_ms), 2),
        "tender_commit_p99_ms": pct(commit_ms, 99),
        "concurrent_tills": TILLS,
        "concurrent_scans": len(conc_ms),
        "concurrent_scan_p50_ms": round(statistics.median(conc_ms), 2),
        "concurrent_scan_p99_ms": pct(conc_ms, 99),
        "concurrent_tender_p99_ms": pct(conc_pay_ms, 99) if conc_pay_ms else None,
        "sales_mode": "in-process, domain calls, one db.write() per 5-line sale",
        **in_process(data, codes),
        "sales_per_s_http": round(sales_http, 1),
        "sales_http_tills": HTTP_SALE_TILLS,
        "transport": "loopback HTTP to storehub serve (gunicorn gthread), clients in separate processes",
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

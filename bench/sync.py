"""Sync benchmark (issue "Sync").

1. Catch-up: one hub with a 100,000-event outbox backlog (real ledger movements,
   item and audit rows) pushes everything into the central on the real
   PostgreSQL (central under gunicorn, 2 gthread workers). ``catchup_s`` is the
   time from the worker's first request to the central acknowledging the last
   row; the totals are then checked against the hub.
2. Steady ingest: 100 simulated stores, each sending its own seq-numbered
   batches of 20 movement events (gzip JSON, own credential) as fast as the
   central acknowledges them, for ``STEADY_S`` seconds: ``steady_events_per_s``
   (capacity; its latency ``saturated_ack_p99_ms`` is queueing of 100 closed-loop
   clients). Then the same 100 stores each on a fixed schedule offering half that
   rate for ``PACED_S`` seconds: ``ack_p99_ms`` (push -> acknowledgement).

Everything runs on this machine (2 shared cores): the load generator's CPU is
taken from the server. A uniquely named PostgreSQL schema is created and
dropped. Last line: one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

BACKLOG = int(os.environ.get("SYNC_BENCH_BACKLOG", "100000"))
STORES = 100
STEADY_S = float(os.environ.get("SYNC_BENCH_STEADY_S", "15"))
PACED_S = float(os.environ.get("SYNC_BENCH_PACED_S", "10"))
EVENTS_PER_PUSH = 20


def build_backlog(db, ctx, n: int) -> None:
    from hub.inventory import ledger
    from hub.inventory.ledger import MovementRequest

    done = 0
    while done < n:
        with db.write() as conn:
            for _ in range(min(2000, n - done)):
                item = ctx["items"][done % 2]
                loc = ctx["bins"][0]
                kind = "count" if done % 50 == 49 else "sale"
                qty = 0 if kind == "count" else (1 if done % 2 == 0 else 250)
                ledger.post(conn, MovementRequest(kind, item, loc, qty, "bench", "bench", ledger.new_key()))
                done += 1


def catchup(engine, central_url: str, work: Path) -> dict:
    from sync_support import central_totals, hub_totals, make_hub

    from sync.central import stores
    from sync.worker import SyncWorker, WorkerConfig, status

    secret = stores.add_store(engine, "bench-hub")
    cfg, db, ctx = make_hub(work / "hub", "bench-hub")
    t0 = time.perf_counter()
    have = hub_totals(db)["outbox_rows"]
    build_backlog(db, ctx, BACKLOG - have)
    build_s = time.perf_counter() - t0
    backlog = hub_totals(db)["outbox_rows"]
    worker = SyncWorker(db, WorkerConfig(central_url=central_url, store_id="bench-hub", secret=secret, batch_size=5000))
    t0 = time.perf_counter()
    pushes = 0
    worker.catch_up(window=2)
    while worker.push_once():
        pushes += 1
    catchup_s = time.perf_counter() - t0
    st = status(db)
    hub, cen = hub_totals(db), central_totals(engine, "bench-hub")
    ok = (
        st["pending"] == 0
        and cen["events"] == hub["outbox_rows"]
        and cen["stock"] == hub["stock"]
        and cen["movement_kinds"] == hub["movement_kinds"]
    )
    db.close()
    return {
        "backlog_events": backlog,
        "backlog_build_s": round(build_s, 1),
        "catchup_s": round(catchup_s, 2),
        "catchup_events_per_s": round(backlog / catchup_s),
        "catchup_totals_match": ok,
    }


def steady(
    engine, central_url: str, *, paced_rate: float | None = None, duration: float = STEADY_S, prefix: str = "sim"
) -> dict:
    """100 stores pushing 20-event batches: flat out (``paced_rate`` None: throughput), or
    each store on a fixed schedule so that all together offer ``paced_rate`` events/s (latency)."""
    import requests

    from sync.central import stores
    from sync.protocol import auth_headers, encode

    creds = {f"{prefix}-{i:03d}": stores.add_store(engine, f"{prefix}-{i:03d}") for i in range(STORES)}
    interval = STORES * EVENTS_PER_PUSH / paced_rate if paced_rate else 0.0
    lat: list[float] = []
    counts = {"events": 0, "errors": 0}
    lock = threading.Lock()
    stop = time.perf_counter() + duration
    start_barrier = threading.Barrier(STORES)

    def store_loop(store_id: str, secret: str):
        s = requests.Session()
        h = {**auth_headers(store_id, secret), "Content-Encoding": "gzip", "Content-Type": "application/json"}
        url = f"{central_url}/sync/v1/stores/{store_id}/events"
        seq, rng = 0, random.Random(store_id)
        mine, errs, n = [], 0, 0
        start_barrier.wait()
        next_at = time.perf_counter() + rng.uniform(0, interval)
        while time.perf_counter() < stop:
            if interval:
                time.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval
            evs = []
            for k in range(EVENTS_PER_PUSH):
                ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
                evs.append(
                    {
                        "seq": seq + k + 1,
                        "id": f"{store_id}-{seq + k + 1}",
                        "kind": "movement",
                        "ts": ts,
                        "payload": {
                            "kind": "sale",
                            "item_id": f"item-{rng.randrange(500)}",
                            "location_id": "floor",
                            "qty_delta": -1,
                            "reserved_delta": 0,
                            "ts": ts,
                        },
                    }
                )
            body = encode({"store_id": store_id, "after": seq, "through": seq + EVENTS_PER_PUSH, "events": evs})
            t = time.perf_counter()
            try:
                r = s.post(url, data=body, headers=h, timeout=30)
                ok = r.status_code == 200 and r.json()["acked_through"] == seq + EVENTS_PER_PUSH
            except requests.RequestException:
                ok = False
            if ok:
                mine.append(time.perf_counter() - t)
                seq += EVENTS_PER_PUSH
                n += EVENTS_PER_PUSH
            else:
                errs += 1
        with lock:
            lat.extend(mine)
            counts["events"] += n
            counts["errors"] += errs

    threads = [threading.Thread(target=store_loop, args=kv) for kv in creds.items()]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    p = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else None  # noqa: E731
    from sync_support import central_totals

    stored = sum(central_totals(engine, s)["events"] for s in list(creds)[:5])
    return {
        "stores": STORES,
        "s": round(wall, 1),
        "events": counts["events"],
        "events_per_s": round(counts["events"] / wall),
        "ack_p50_ms": p(0.5),
        "ack_p99_ms": p(0.99),
        "errors": counts["errors"],
        "stored_ok": stored > 0,
    }


def main() -> int:
    from sync_support import CentralProcess, PgSchema, free_port_local

    from sync.central.db import make_engine, migrate

    load_start = os.getloadavg()[0]
    schema = PgSchema("syncb")
    engine = make_engine(schema.url)
    central = None
    try:
        migrate(engine)
        with tempfile.TemporaryDirectory() as tmp:
            central = CentralProcess(schema.url, Path(tmp) / "central", free_port_local(), workers=2).start()
            out = catchup(engine, central.url, Path(tmp))
            flat = steady(engine, central.url)
            out.update(
                {
                    "steady_events_per_s": flat["events_per_s"],
                    "saturated_ack_p99_ms": flat["ack_p99_ms"],
                    "steady_stores": STORES,
                    "steady_errors": flat["errors"],
                }
            )
            # latency at half the measured capacity, every store on its own schedule
            paced = steady(engine, central.url, paced_rate=flat["events_per_s"] / 2, duration=PACED_S, prefix="pac")
            out.update(
                {
                    "ack_p50_ms": paced["ack_p50_ms"],
                    "ack_p99_ms": paced["ack_p99_ms"],
                    "paced_events_per_s": paced["events_per_s"],
                    "paced_errors": paced["errors"],
                }
            )
            central.stop()
    finally:
        if central:
            central.kill()
        engine.dispose()
        schema.drop()
    out["target_catchup_s"] = 10
    out["cpus"] = os.cpu_count()
    out["loadavg_1m_start"] = round(load_start, 2)
    out["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

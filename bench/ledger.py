"""Ledger benchmark (issue "Hub core").

- movements_per_s: durable movements per second through the real write path —
  one `Database.write()` transaction (BEGIN IMMEDIATE … COMMIT, WAL,
  synchronous=NORMAL) per movement, each doing the idempotency check, the ledger
  insert, the stock projection upsert and the outbox insert. Also measured with
  synchronous=FULL.
- onhand_p50_ms / onhand_p99_ms: on-hand lookup for one item (all locations)
  with 50,000 items and 500,000 movements in the ledger.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.inventory import catalog, ledger, locations  # noqa: E402
from hub.store import database  # noqa: E402
from hub.inventory.ledger import MovementRequest  # noqa: E402
from hub.store import initialise  # noqa: E402

N_ITEMS = 50_000
N_MOVEMENTS = 500_000
N_BINS = 200


def setup(path: Path, synchronous: str = "NORMAL"):
    db = database(path, synchronous=synchronous)
    db.migrate()
    initialise(db, store_id="bench")
    with db.write() as c:
        store = locations.get_by_code(c, "STORE")
        area = locations.create(c, code="FLOOR", name="Floor", kind="area", parent_id=store["id"], actor="bench", audit_it=False)
        bins = [locations.create(c, code=f"B{i:03d}", name=f"Bin {i}", kind="bin", parent_id=area["id"], walk_seq=i,
                                 actor="bench", audit_it=False)["id"] for i in range(N_BINS)]
    return db, bins


def durable_rate(path: Path, synchronous: str, n: int) -> float:
    db, bins = setup(path, synchronous)
    with db.write() as c:
        items = [catalog.create_item(c, {"sku": f"S{i}", "name_en": f"Item {i}", "price_minor": 100}, actor="bench",
                                     audit_it=False)["id"] for i in range(100)]
    t0 = time.perf_counter()
    for i in range(n):
        with db.write() as c:
            ledger.post(c, MovementRequest("receive" if i % 3 else "sale", items[i % 100], bins[i % N_BINS], 1,
                                           "bench", "bench", f"d-{i}"))
    rate = n / (time.perf_counter() - t0)
    db.close()
    return rate


def main() -> None:
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="storehub-bench-ledger-"))
    rate_normal = durable_rate(tmp / "normal.db", "NORMAL", 6000)
    rate_full = durable_rate(tmp / "full.db", "FULL", 3000)
    print(f"durable movements/s: NORMAL {rate_normal:.0f}, FULL {rate_full:.0f}", file=sys.stderr)

    db, bins = setup(tmp / "big.db")
    t0 = time.perf_counter()
    items: list[str] = []
    with db.write() as c:
        for i in range(N_ITEMS):
            items.append(catalog.create_item(c, {"sku": f"S{i:06d}", "name_en": f"Item {i}", "price_minor": 100 + i % 900},
                                             actor="bench", audit_it=False)["id"])
    print(f"{N_ITEMS} items in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    # Seeding the history is not what is measured: bulk-insert the 500k movements
    # and build the projection from their fold in SQL (the same fold the tests
    # compare against), instead of spending two minutes on the write path.
    t0 = time.perf_counter()
    from hub.protocol.ids import new_id

    batch = 50_000
    with db.write() as c:
        for start in range(0, N_MOVEMENTS, batch):
            rows = []
            for i in range(start, start + batch):
                kind = rng.choice(("receive", "sale", "return"))
                q = rng.randint(1, 5)
                rows.append((new_id(), f"m-{i}", kind, items[rng.randrange(N_ITEMS)], bins[rng.randrange(N_BINS)],
                             -q if kind == "sale" else q, 0, "bench", "bench", "2026-01-01T00:00:00.000Z"))
            c.executemany("INSERT INTO movements(id, idempotency_key, kind, item_id, location_id, qty_delta,"
                          " reserved_delta, reason, actor, ts) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        c.execute("INSERT INTO stock(item_id, location_id, on_hand, reserved, last_seq) SELECT item_id, location_id,"
                  " SUM(qty_delta), SUM(reserved_delta), MAX(seq) FROM movements GROUP BY item_id, location_id")
    print(f"{N_MOVEMENTS} movements seeded in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    conn = db.read()
    assert conn.execute("SELECT COUNT(*) FROM movements").fetchone()[0] == N_MOVEMENTS
    samples = []
    for _ in range(20_000):
        item = items[rng.randrange(N_ITEMS)]
        t = time.perf_counter()
        ledger.on_hand_total(conn, item)
        ledger.stock_for_item(conn, item)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99)]
    db.close()
    print(json.dumps({
        "movements_per_s": round(rate_normal),
        "movements_per_s_sync_full": round(rate_full),
        "onhand_p50_ms": round(p50, 4),
        "onhand_p99_ms": round(p99, 4),
        "items": N_ITEMS,
        "movements": N_MOVEMENTS,
    }))


if __name__ == "__main__":
    main()

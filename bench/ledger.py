"""Ledger benchmark (issue "Hub core").

- movements_per_s (the headline): durable movements per second through the real
  write path as the hub runs it — one `Database.write()` transaction (BEGIN
  IMMEDIATE … COMMIT, WAL, synchronous=FULL: the commit is on disk before the
  201 goes out) per movement, each doing the idempotency check, the ledger insert,
  the stock projection upsert and the outbox insert.
- movements_per_s_sync_normal: the same with synchronous=NORMAL (what the hub ran
  before issue 11; a power cut may take back its last commits).
- raw_commits_per_s_full / raw_commits_per_s_normal: one-row INSERT commits on a bare
  WAL table, the disk's own ceiling, and the ledger figures as a ratio of the raw
  FULL one (ratio_full_to_raw_full, ratio_normal_to_raw_full).
- movements_per_s_full_group_50: FULL with 50 movements per transaction, the bus's
  batching (group commit) for device-driven movements.
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
from hub.inventory.ledger import MovementRequest  # noqa: E402
from hub.kernel.db import connect  # noqa: E402
from hub.store import (
    database,  # noqa: E402
    initialise,  # noqa: E402
)

N_ITEMS = 50_000
N_MOVEMENTS = 500_000
N_BINS = 200


def setup(path: Path, synchronous: str = "NORMAL"):
    db = database(path, synchronous=synchronous)
    db.migrate()
    initialise(db, store_id="bench")
    with db.write() as c:
        store = locations.get_by_code(c, "STORE")
        area = locations.create(
            c, code="FLOOR", name="Floor", kind="area", parent_id=store["id"], actor="bench", audit_it=False
        )
        bins = [
            locations.create(
                c,
                code=f"B{i:03d}",
                name=f"Bin {i}",
                kind="bin",
                parent_id=area["id"],
                walk_seq=i,
                actor="bench",
                audit_it=False,
            )["id"]
            for i in range(N_BINS)
        ]
    return db, bins


def durable_rate(path: Path, synchronous: str, n: int, per_txn: int = 1) -> float:
    db, bins = setup(path, synchronous)
    with db.write() as c:
        items = [
            catalog.create_item(
                c, {"sku": f"S{i}", "name_en": f"Item {i}", "price_minor": 100}, actor="bench", audit_it=False
            )["id"]
            for i in range(100)
        ]
    t0 = time.perf_counter()
    for start in range(0, n, per_txn):
        with db.write() as c:
            for i in range(start, min(n, start + per_txn)):
                ledger.post(
                    c,
                    MovementRequest(
                        "receive" if i % 3 else "sale", items[i % 100], bins[i % N_BINS], 1, "bench", "bench", f"d-{i}"
                    ),
                )
    rate = n / (time.perf_counter() - t0)
    db.close()
    return rate


def raw_commit_rate(path: Path, synchronous: str, n: int) -> float:
    """One-row INSERT commits per second on a bare WAL table: the ceiling the disk sets."""
    conn = connect(path, synchronous=synchronous)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    t0 = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t(v) VALUES (?)", (f"row-{i}",))
        conn.execute("COMMIT")
    rate = n / (time.perf_counter() - t0)
    conn.close()
    return rate


def main() -> None:
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="storehub-bench-ledger-"))
    raw_normal = raw_commit_rate(tmp / "raw-normal.db", "NORMAL", 20000)
    raw_full = raw_commit_rate(tmp / "raw-full.db", "FULL", 6000)
    rate_normal = durable_rate(tmp / "normal.db", "NORMAL", 6000)
    rate_full = durable_rate(tmp / "full.db", "FULL", 4000)
    rate_group = durable_rate(tmp / "group.db", "FULL", 10000, per_txn=50)
    print(
        f"raw one-row commits/s: NORMAL {raw_normal:.0f}, FULL {raw_full:.0f}; ledger movements/s: "
        f"NORMAL {rate_normal:.0f}, FULL {rate_full:.0f} ({rate_full / raw_full:.2f} of raw FULL), "
        f"FULL 50 per transaction {rate_group:.0f}",
        file=sys.stderr,
    )

    db, bins = setup(tmp / "big.db", "NORMAL")  # seeding only; lookups do not depend on it
    t0 = time.perf_counter()
    items: list[str] = []
    with db.write() as c:
        for i in range(N_ITEMS):
            items.append(
                catalog.create_item(
                    c,
                    {"sku": f"S{i:06d}", "name_en": f"Item {i}", "price_minor": 100 + i % 900},
                    actor="bench",
                    audit_it=False,
                )["id"]
            )
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
                rows.append(
                    (
                        new_id(),
                        f"m-{i}",
                        kind,
                        items[rng.randrange(N_ITEMS)],
                        bins[rng.randrange(N_BINS)],
                        -q if kind == "sale" else q,
                        0,
                        "bench",
                        "bench",
                        "2026-01-01T00:00:00.000Z",
                    )
                )
            c.executemany(
                "INSERT INTO movements(id, idempotency_key, kind, item_id, location_id, qty_delta,"
                " reserved_delta, reason, actor, ts) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        c.execute(
            "INSERT INTO stock(item_id, location_id, on_hand, reserved, last_seq) SELECT item_id, location_id,"
            " SUM(qty_delta), SUM(reserved_delta), MAX(seq) FROM movements GROUP BY item_id, location_id"
        )
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
    print(
        json.dumps(
            {
                "movements_per_s": round(rate_full),
                "movements_per_s_synchronous": "FULL",
                "movements_per_s_sync_normal": round(rate_normal),
                "movements_per_s_full_group_50": round(rate_group),
                "raw_commits_per_s_full": round(raw_full),
                "raw_commits_per_s_normal": round(raw_normal),
                "ratio_full_to_raw_full": round(rate_full / raw_full, 3),
                "ratio_normal_to_raw_full": round(rate_normal / raw_full, 3),
                "onhand_p50_ms": round(p50, 4),
                "onhand_p99_ms": round(p99, 4),
                "items": N_ITEMS,
                "movements": N_MOVEMENTS,
            }
        )
    )


if __name__ == "__main__":
    main()

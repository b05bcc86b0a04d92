"""Orders and picking benchmark (issue "Orders and picking").

On a fresh hub database (temporary directory, the real migrations, WAL,
synchronous=NORMAL as served): 60 aisles × 10 bins with walk sequences, 600
items with stock spread over two bins each, then 500 open web orders × 5 lines.

* ``allocations_per_s`` — orders allocated per second: each order's five lines
  reserved across locations in walk order (``reserve`` movements through the
  ledger, outbox rows, status history, audit), one IMMEDIATE transaction each,
  as the API does it.
* ``picklist_s`` — time to turn all 500 allocated orders (2,500 lines, one task
  per reservation) into walk-ordered pick lists of 25 orders each.
* ``intake_per_s`` — orders validated and stored (without allocation) per second.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.inventory import catalog, ledger, locations  # noqa: E402
from hub.inventory.ledger import MovementRequest, new_key  # noqa: E402
from hub.kernel.db import Database  # noqa: E402
from hub.orders import allocation, picking, workflow  # noqa: E402
from hub.store import (
    database,  # noqa: E402
    initialise,  # noqa: E402
)

ORDERS = 500
LINES = 5
ITEMS = 600
AISLES = 60
BINS_PER_AISLE = 10
BATCH = 25


def seed(db: Database, rng: random.Random) -> list[dict]:
    initialise(db, store_id="bench", store_name="Bench", currency="CNY", language="en")
    bins = []
    with db.write() as conn:
        store = locations.get_by_code(conn, "STORE")
        area = locations.create(
            conn,
            code="FLOOR",
            name="Floor",
            kind="area",
            parent_id=store["id"],
            walk_seq=1,
            actor="bench",
            audit_it=False,
        )
        for a in range(AISLES):
            aisle = locations.create(
                conn,
                code=f"A{a:02d}",
                name=f"Aisle {a}",
                kind="aisle",
                parent_id=area["id"],
                walk_seq=100 * (a + 1),
                actor="bench",
                audit_it=False,
            )
            for b in range(BINS_PER_AISLE):
                # serpentine walk: odd aisles are walked back to front
                seq = 100 * (a + 1) + (b if a % 2 == 0 else BINS_PER_AISLE - b)
                bins.append(
                    locations.create(
                        conn,
                        code=f"A{a:02d}-{b:02d}",
                        name=f"Bin {a}/{b}",
                        kind="bin",
                        parent_id=aisle["id"],
                        walk_seq=seq,
                        actor="bench",
                        audit_it=False,
                    )
                )
    items = []
    with db.write() as conn:
        for i in range(ITEMS):
            items.append(
                catalog.create_item(
                    conn,
                    {
                        "sku": f"SKU-{i:04d}",
                        "name_en": f"Item {i}",
                        "unit": "each",
                        "category": f"cat{i % 20}",
                        "price_minor": 100 + i,
                    },
                    actor="bench",
                    audit_it=False,
                )
            )
            for loc in rng.sample(bins, 2):
                ledger.post(
                    conn,
                    MovementRequest("receive", items[-1]["id"], loc["id"], 40, "opening stock", "bench", new_key()),
                )
    return items


def main() -> dict:
    rng = random.Random(6)
    tmp = Path(tempfile.mkdtemp(prefix="bench-picking-"))
    db = database(tmp / "hub.db")
    db.migrate()
    items = seed(db, rng)

    bodies = []
    for n in range(ORDERS):
        chosen = rng.sample(items, LINES)
        bodies.append(
            {
                "channel": rng.choice(["web", "app", "phone"]),
                "external_id": f"B-{n}",
                "fulfilment": "pickup",
                "customer": {"name": f"C{n}", "phone": "13800000000"},
                "lines": [{"sku": it["sku"], "qty": rng.randint(1, 4)} for it in chosen],
            }
        )
    t0 = time.perf_counter()
    ids = []
    for body in bodies:
        with db.write() as conn:
            ids.append(workflow.create_order(conn, body, actor="bench", auto_allocate=False)["id"])
    intake_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    statuses = []
    for oid in ids:
        with db.write() as conn:
            statuses.append(allocation.allocate(conn, oid, actor="bench")["status"])
    alloc_s = time.perf_counter() - t0

    conn = db.read()
    open_orders = conn.execute("SELECT COUNT(*) FROM orders WHERE status = 'allocated'").fetchone()[0]
    lines = conn.execute(
        "SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.status = 'allocated'"
    ).fetchone()[0]
    t0 = time.perf_counter()
    lists, tasks = 0, 0
    while True:
        with db.write() as conn:
            if conn.execute("SELECT COUNT(*) FROM orders WHERE status = 'allocated'").fetchone()[0] == 0:
                break
            pl = picking.create_pick_list(conn, actor="bench", max_orders=BATCH)
        lists += 1
        tasks += pl["tasks"]
    picklist_s = time.perf_counter() - t0

    # walk order check: every list's tasks are sorted by walk sequence
    conn = db.read()
    for (lst,) in conn.execute("SELECT id FROM pick_lists").fetchall():
        seqs = [
            r[0] for r in conn.execute("SELECT walk_seq FROM pick_tasks WHERE pick_list_id = ? ORDER BY seq", (lst,))
        ]
        assert seqs == sorted(seqs), "pick list not in walk order"
    assert ledger.fold(conn) == ledger.projection(conn)
    db.close()
    return {
        "orders": ORDERS,
        "lines_per_order": LINES,
        "open_orders": open_orders,
        "open_lines": lines,
        "allocated": statuses.count("allocated"),
        "split_or_backordered": len(statuses) - statuses.count("allocated"),
        "intake_per_s": round(ORDERS / intake_s, 1),
        "allocations_per_s": round(ORDERS / alloc_s, 1),
        "allocation_lines_per_s": round(ORDERS * LINES / alloc_s, 1),
        "pick_lists": lists,
        "pick_tasks": tasks,
        "batch_orders": BATCH,
        "picklist_s": round(picklist_s, 3),
        "picklist_target_s": 1.0,
    }


if __name__ == "__main__":
    t = time.perf_counter()
    result = main()
    result["total_s"] = round(time.perf_counter() - t, 1)
    print(json.dumps(result))

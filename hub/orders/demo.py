"""Demo orders for ``storehub demo``: a dozen orders from every channel waiting to be picked, one in the
review queue and one back-ordered, so the picking, packing and orders screens have work on first start.

Registered in ``hub.demo.runner.DEMO_MODULES``; ``components`` seeds (once, idempotent by external id) and starts
no process of its own."""

from __future__ import annotations

import random

CHANNELS = ("web", "app", "phone", "in_store")
NAMES = ("王芳", "李强", "张伟", "刘洋", "陈静", "杨敏", "Emily Chen", "黄磊", "周杰", "吴婷", "徐明", "孙丽")


def seed_orders(db, *, n: int = 12, seed: int = 2026) -> dict:
    from hub.orders import importer

    conn = db.read()
    if conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]:
        return {"counts": {"created": 0}}
    rng = random.Random(seed)
    each = [
        r[0]
        for r in conn.execute(
            "SELECT i.sku FROM items i JOIN stock s ON s.item_id = i.id WHERE i.unit = 'each' AND i.active = 1"
            " GROUP BY i.id HAVING SUM(s.on_hand - s.reserved) >= 6 ORDER BY i.sku LIMIT 400"
        )
    ]
    kg = [
        r[0]
        for r in conn.execute(
            "SELECT i.sku FROM items i JOIN stock s ON s.item_id = i.id WHERE i.unit = 'kg' AND i.active = 1"
            " GROUP BY i.id HAVING SUM(s.on_hand - s.reserved) >= 3000 ORDER BY i.sku LIMIT 50"
        )
    ]
    if not each:
        return {"counts": {"created": 0}}
    orders = []
    for i in range(n):
        lines = [{"sku": sku, "qty": rng.randint(1, 3)} for sku in rng.sample(each, rng.randint(2, 5))]
        if kg and i % 3 == 0:
            lines.append({"sku": rng.choice(kg), "grams": rng.choice((500, 750, 1000))})
        channel = CHANNELS[i % len(CHANNELS)]
        delivery = i % 5 == 4
        orders.append(
            {
                "channel": channel,
                "external_id": f"DEMO-{channel.upper()}-{1000 + i}",
                "fulfilment": "delivery" if delivery else "pickup",
                "customer": {"name": NAMES[i % len(NAMES)], "phone": f"138{rng.randint(10_000_000, 99_999_999)}"},
                "address": {"line1": f"{rng.randint(1, 999)} 南京西路", "city": "上海", "postcode": "200040"}
                if delivery
                else None,
                "lines": lines,
            }
        )
    # one over the review limit, one asking for more than the store has
    orders[1]["lines"][0]["unit_price_minor"] = 250_000
    short = conn.execute(
        "SELECT SUM(s.on_hand - s.reserved) FROM stock s JOIN items i ON i.id = s.item_id WHERE i.sku = ?", (each[-1],)
    ).fetchone()[0]
    orders[2]["lines"] = [{"sku": each[-1], "qty": short + 3}]
    for o in orders:
        if o["address"] is None:
            del o["address"]
    with db.write() as c:
        return importer.import_orders(c, orders, actor="system:demo")


def components(ctx) -> list:
    from hub.store import open_db

    _cfg, db = open_db(ctx.data_dir)
    try:
        seed_orders(db)
    finally:
        db.close()
    return []

"""The demo store starts with orders to pick: every channel, one in review, one split with a back-order."""

from hub.demo.data import seed_catalog
from hub.orders.demo import seed_orders
from hub.store import initialise, open_db


def test_demo_orders_seed_once(tmp_path):
    _cfg, db = open_db(tmp_path)
    initialise(db, store_id="demo", store_name="Demo", currency="CNY", language="zh-CN", region="CN")
    seed_catalog(db)
    report = seed_orders(db)
    assert report["counts"] == {"created": 12, "duplicates": 0, "errors": 0}
    conn = db.read()
    by = dict(conn.execute("SELECT status, COUNT(*) FROM orders GROUP BY status").fetchall())
    assert by["allocated"] >= 10 and by["new"] == 1 and by["backordered"] == 1
    assert {r[0] for r in conn.execute("SELECT DISTINCT channel FROM orders")} == {"web", "app", "phone", "in_store"}
    assert seed_orders(db)["counts"]["created"] == 0
    db.close()

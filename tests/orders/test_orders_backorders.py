"""Back-orders are served automatically when stock arrives (hub.orders.backorders via the ledger's
stock-in hook): in the arrival's own transaction, oldest original order first, never more than
arrived nor more than the store really has free, and never twice."""

from __future__ import annotations

import threading

import pytest

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.inventory.ledger import new_key as key
from hub.kernel import settings
from tests.support.orders import order_body, receive, store


@pytest.fixture
def shop(hubctx, sample):
    return store(hubctx, sample)  # milk: A01-01 2, A01-02 3; rice B01-01 10


def _order(client, auth, ext, lines, **extra):
    r = client.post("/api/v1/orders", json=order_body(ext, lines, **extra), headers=auth())
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _get(client, auth, oid):
    return client.get(f"/api/v1/orders/{oid}", headers=auth()).get_json()


def _stock(hubctx, item, loc):
    return ledger.stock_of(hubctx.db.read(), item["id"], loc["id"])


def _consistent(hubctx):
    conn = hubctx.db.read()
    assert ledger.fold(conn) == ledger.projection(conn)
    # nothing is promised twice: no item has more pieces reserved than the store holds
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM (SELECT item_id FROM stock GROUP BY item_id HAVING SUM(reserved) > SUM(on_hand))"
        ).fetchone()[0]
        == 0
    )


def _backorder_policy(hubctx):
    with hubctx.db.write() as conn:
        settings.put(conn, "orders.partial_policy", "backorder")


def test_arrival_serves_oldest_backorder_first_in_the_same_transaction(client, auth, hubctx, shop):
    _order(client, auth, "W-all", [{"sku": "MILK-1L", "qty": 5}])  # takes all 5 milk
    _backorder_policy(hubctx)
    old = _order(client, auth, "W-old", [{"sku": "MILK-1L", "qty": 2}, {"sku": "RICE-5KG", "qty": 1}])
    new = _order(client, auth, "W-new", [{"sku": "MILK-1L", "qty": 2}])
    assert old["status"] == new["status"] == "backordered"

    r = client.post(
        "/api/v1/movements",
        headers=auth("supervisor"),
        json={
            "kind": "receive",
            "item_id": shop["milk"]["id"],
            "location_id": shop["bin2"]["id"],
            "qty": 3,
            "reason": "delivery 77",
            "idempotency_key": key(),
        },
    )
    assert r.status_code == 201, r.get_json()
    receipt = r.get_json()
    old, new = _get(client, auth, old["id"]), _get(client, auth, new["id"])
    # the older order is served whole (its rice is free too) and ships; the newer holds the 1 left
    assert old["status"] == "allocated" and [ln["reserved"] for ln in old["lines"]] == [2, 1]
    assert new["status"] == "backordered" and new["lines"][0]["reserved"] == 1
    s = _stock(hubctx, shop["milk"], shop["bin2"])
    assert (s["on_hand"], s["reserved"]) == (6, 6)
    # each reservation is an ordinary immutable reserve movement naming the arrival, by the arrival's actor
    conn = hubctx.db.read()
    for oid in (old["id"], new["id"]):
        ms = conn.execute(
            "SELECT kind, reason, actor FROM movements WHERE ref = ? AND reason LIKE '%back-order served%'", (oid,)
        ).fetchall()
        assert ms and all(m["kind"] == "reserve" and receipt["id"] in m["reason"] for m in ms)
        assert {m["actor"] for m in ms} == {receipt["actor"]}
    facts = conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'order.backorder_reserved'").fetchone()[0]
    assert facts == 2
    hist = conn.execute(
        "SELECT actor FROM order_status_history WHERE order_id = ? AND to_status = 'allocated'", (old["id"],)
    ).fetchall()
    assert len(hist) == 1
    # the arrival's own figures come back with the movement
    assert receipt["on_hand"] == 6

    receive(hubctx.db, shop["milk"]["id"], shop["bin1"]["id"], 5)
    assert _get(client, auth, new["id"])["status"] == "allocated"
    assert _stock(hubctx, shop["milk"], shop["bin1"])["reserved"] == 2 + 1  # only what the order still needed
    _consistent(hubctx)


def test_a_split_child_keeps_its_parents_place_in_the_queue(client, auth, hubctx, shop):
    parent = _order(client, auth, "W-p", [{"sku": "MILK-1L", "qty": 6}])  # 5 now, child of 1 waits
    child_id = parent["children"][0]
    _backorder_policy(hubctx)
    later = _order(client, auth, "W-later", [{"sku": "MILK-1L", "qty": 1}])
    assert later["status"] == "backordered"
    receive(hubctx.db, shop["milk"]["id"], shop["bin1"]["id"], 1)
    assert _get(client, auth, child_id)["status"] == "allocated"
    assert _get(client, auth, later["id"])["status"] == "backordered"
    _consistent(hubctx)


def test_moving_promised_stock_between_locations_promises_nothing_twice(client, auth, hubctx, shop):
    _order(client, auth, "W-all", [{"sku": "MILK-1L", "qty": 5}])
    _backorder_policy(hubctx)
    waiting = _order(client, auth, "W-wait", [{"sku": "MILK-1L", "qty": 2}])
    with hubctx.db.write() as conn:  # someone moves 2 reserved bottles to another bin
        ledger.transfer(
            conn,
            item_id=shop["milk"]["id"],
            from_location=shop["bin1"]["id"],
            to_location=shop["bin3"]["id"],
            qty=2,
            reason="tidy",
            actor="test",
            idempotency_key=key(),
        )
    assert _get(client, auth, waiting["id"])["lines"][0]["reserved"] == 0
    assert _stock(hubctx, shop["milk"], shop["bin3"])["reserved"] == 0
    # an adjustment up or a count finding more is stock too
    with hubctx.db.write() as conn:
        ledger.post(
            conn, MovementRequest("adjust", shop["milk"]["id"], shop["bin3"]["id"], 2, "found a crate", "test", key())
        )
    assert _get(client, auth, waiting["id"])["status"] == "allocated"
    with hubctx.db.write() as conn:  # an adjustment down never takes anything from orders
        ledger.post(
            conn, MovementRequest("adjust", shop["rice"]["id"], shop["bin3"]["id"], -1, "broken", "test", key())
        )
    _consistent(hubctx)


def test_replayed_arrival_serves_nothing_again(client, auth, hubctx, shop):
    _order(client, auth, "W-all", [{"sku": "MILK-1L", "qty": 5}])
    _backorder_policy(hubctx)
    a = _order(client, auth, "W-a", [{"sku": "MILK-1L", "qty": 1}])
    b = _order(client, auth, "W-b", [{"sku": "MILK-1L", "qty": 1}])
    k = key()
    for _ in range(3):
        with hubctx.db.write() as conn:
            ledger.post(
                conn, MovementRequest("receive", shop["milk"]["id"], shop["bin1"]["id"], 1, "delivery", "test", k)
            )
    assert _get(client, auth, a["id"])["status"] == "allocated"
    assert _get(client, auth, b["id"])["status"] == "backordered"
    assert _get(client, auth, b["id"])["lines"][0]["reserved"] == 0
    _consistent(hubctx)


def test_returns_serve_backorders_but_written_off_returns_do_not(client, auth, hubctx, shop):
    sold = _order(client, auth, "W-sold", [{"sku": "RICE-5KG", "qty": 10}])
    pl = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    for t in pl["tasks"]:
        r = client.post(
            f"/api/v1/pick-tasks/{t['id']}/pick",
            headers=auth(),
            json={
                "client_key": key(),
                "location_code": "SHL-" + t["location_code"],
                "item_code": "96385074",
                "qty": t["qty"],
            },
        )
        assert r.status_code == 200, r.get_json()
    oid = sold["id"]
    assert (
        client.post(
            f"/api/v1/orders/{oid}/pack/scan", json={"code": "96385074", "client_key": key(), "qty": 10}, headers=auth()
        ).status_code
        == 200
    )
    for step in ("pack", "ready"):
        assert client.post(f"/api/v1/orders/{oid}/{step}", json={}, headers=auth()).status_code == 200, step
    assert client.post("/api/v1/orders/handover", json={"code": sold["code"]}, headers=auth()).status_code == 200
    _backorder_policy(hubctx)
    waiting = _order(client, auth, "W-rice", [{"sku": "RICE-5KG", "qty": 2}])
    line = _get(client, auth, oid)["lines"][0]["id"]
    r = client.post(
        f"/api/v1/orders/{oid}/returns",
        headers=auth("supervisor"),
        json={
            "client_key": key(),
            "lines": [{"line_id": line, "qty": 2, "disposition": "writeoff", "reason": "crushed"}],
        },
    )
    assert r.status_code == 200, r.get_json()
    assert _get(client, auth, waiting["id"])["lines"][0]["reserved"] == 0
    r = client.post(
        f"/api/v1/orders/{oid}/returns",
        headers=auth("supervisor"),
        json={
            "client_key": key(),
            "lines": [{"line_id": line, "qty": 2, "disposition": "restock", "reason": "not needed"}],
        },
    )
    assert r.status_code == 200, r.get_json()
    assert _get(client, auth, waiting["id"])["status"] == "allocated"
    _consistent(hubctx)


def test_short_pick_backorder_is_served_from_the_arrival_not_the_phantom_shelf(client, auth, hubctx, shop):
    o = _order(client, auth, "W-s", [{"sku": "MILK-1L", "qty": 5}])
    pl = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    t1, t2 = pl["tasks"]  # A01-01 ×2, A01-02 ×3
    r = client.post(
        f"/api/v1/pick-tasks/{t2['id']}/short", json={"client_key": key(), "resolution": "backorder"}, headers=auth()
    )
    child = r.get_json()["backorder_order_id"]
    # the books still say 3 at A01-02 (the shelf was empty): the child must not take those
    receive(hubctx.db, shop["rice"]["id"], shop["bin3"]["id"], 1)
    assert _get(client, auth, child)["lines"][0]["reserved"] == 0
    receive(hubctx.db, shop["milk"]["id"], shop["bin3"]["id"], 2)  # 2 of 3 arrive in aisle B
    c = _get(client, auth, child)
    assert c["status"] == "backordered" and c["lines"][0]["reserved"] == 2
    assert _stock(hubctx, shop["milk"], shop["bin2"])["reserved"] == 0
    assert _stock(hubctx, shop["milk"], shop["bin3"])["reserved"] == 2
    receive(hubctx.db, shop["milk"]["id"], shop["bin3"]["id"], 5)
    assert _get(client, auth, child)["status"] == "allocated"
    assert _stock(hubctx, shop["milk"], shop["bin3"])["reserved"] == 3
    assert o["id"] != child
    _consistent(hubctx)


def test_cancelling_a_waiting_order_releases_what_it_held(client, auth, hubctx, shop):
    _order(client, auth, "W-all", [{"sku": "MILK-1L", "qty": 5}])
    _backorder_policy(hubctx)
    w = _order(client, auth, "W-w", [{"sku": "MILK-1L", "qty": 3}])
    receive(hubctx.db, shop["milk"]["id"], shop["bin1"]["id"], 2)
    assert _get(client, auth, w["id"])["lines"][0]["reserved"] == 2
    r = client.post(f"/api/v1/orders/{w['id']}/cancel", json={"reason": "customer called"}, headers=auth("supervisor"))
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert _stock(hubctx, shop["milk"], shop["bin1"])["reserved"] == 2  # only the first order's
    _consistent(hubctx)


def test_parallel_arrivals_never_promise_a_piece_twice(client, auth, hubctx, shop):
    _order(client, auth, "W-all", [{"sku": "MILK-1L", "qty": 5}])
    _backorder_policy(hubctx)
    waiting = [_order(client, auth, f"W-{n}", [{"sku": "MILK-1L", "qty": 3}])["id"] for n in range(6)]
    errors: list[BaseException] = []

    def arrive(n: int) -> None:
        try:
            for _ in range(4):
                receive(hubctx.db, shop["milk"]["id"], (shop["bin1"], shop["bin2"], shop["bin3"])[n % 3]["id"], 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=arrive, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    conn = hubctx.db.read()
    held = [
        conn.execute(
            "SELECT COALESCE(SUM(qty - qty_released), 0) FROM order_allocations WHERE order_id = ?", (oid,)
        ).fetchone()[0]
        for oid in waiting
    ]
    # 16 pieces arrived: the 5 oldest orders get 3 each, the sixth the 1 left — oldest first, exactly once
    assert held == [3, 3, 3, 3, 3, 1]
    assert [_get(client, auth, oid)["status"] for oid in waiting] == ["allocated"] * 5 + ["backordered"]
    _consistent(hubctx)


def test_a_return_key_replayed_on_another_order_is_a_conflict(client, auth, hubctx, shop):
    done = []
    for ext in ("W-r1", "W-r2"):
        o = _order(client, auth, ext, [{"sku": "RICE-5KG", "qty": 1}])
        pl = client.post("/api/v1/pick-lists", json={"order_ids": [o["id"]]}, headers=auth("supervisor")).get_json()
        t = client.get(f"/api/v1/pick-lists/{pl['id']}", headers=auth()).get_json()["tasks"][0]
        assert (
            client.post(
                f"/api/v1/pick-tasks/{t['id']}/pick",
                headers=auth(),
                json={"client_key": key(), "location_code": "SHL-B01-01", "item_code": "96385074"},
            ).status_code
            == 200
        )
        assert (
            client.post(
                f"/api/v1/orders/{o['id']}/pack/scan", json={"code": "96385074", "client_key": key()}, headers=auth()
            ).status_code
            == 200
        )
        for step in ("pack", "ready"):
            assert client.post(f"/api/v1/orders/{o['id']}/{step}", json={}, headers=auth()).status_code == 200
        assert client.post("/api/v1/orders/handover", json={"code": o["code"]}, headers=auth()).status_code == 200
        done.append(_get(client, auth, o["id"]))
    ck = key()
    body = lambda o: {  # noqa: E731
        "client_key": ck,
        "lines": [
            {
                "line_id": o["lines"][0]["id"],
                "qty": 1,
                "disposition": "restock",
                "reason": "changed mind",
            }
        ],
    }
    assert (
        client.post(
            f"/api/v1/orders/{done[0]['id']}/returns", json=body(done[0]), headers=auth("supervisor")
        ).status_code
        == 200
    )
    r = client.post(f"/api/v1/orders/{done[1]['id']}/returns", json=body(done[1]), headers=auth("supervisor"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "idempotency_conflict"
    assert _get(client, auth, done[1]["id"])["status"] == "collected"  # the second return was not swallowed

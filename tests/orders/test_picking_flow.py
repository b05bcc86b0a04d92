"""Pick lists, scan-validated picking, short picks, packing with printing, handover, returns, analytics."""

from __future__ import annotations

import pytest

from hub.inventory import ledger
from hub.inventory.ledger import new_key as key
from tests.support.orders import order_body, price_label, store


@pytest.fixture
def shop(hubctx, sample):
    return store(hubctx, sample)


def _new(client, auth, ext, lines, **extra):
    r = client.post("/api/v1/orders", json=order_body(ext, lines, **extra), headers=auth())
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _pick(client, auth, task, *, loc=None, item=None, qty=None, role="associate", ck=None):
    body = {"client_key": ck or key(), "location_code": loc or task["location_label"], "item_code": item}
    if qty is not None:
        body["qty"] = qty
    return client.post(f"/api/v1/pick-tasks/{task['id']}/pick", json=body, headers=auth(role))


def _stock(hubctx, item, loc):
    return ledger.stock_of(hubctx.db.read(), item["id"], loc["id"])


def test_batch_walk_is_sorted_by_walk_sequence(client, auth, hubctx, shop):
    a = _new(client, auth, "W-a", [{"sku": "RICE-5KG", "qty": 1}, {"sku": "MILK-1L", "qty": 3}])
    b = _new(client, auth, "W-b", [{"sku": "OATMILK-1L", "qty": 1}, {"sku": "APPLE", "grams": 400}])
    r = client.post("/api/v1/pick-lists", json={"order_ids": [a["id"], b["id"]]}, headers=auth("supervisor"))
    assert r.status_code == 201, r.get_json()
    pl = r.get_json()
    walk = [(t["location_code"], t["sku"]) for t in pl["tasks"]]
    assert walk == [
        ("A01-01", "APPLE"),
        ("A01-01", "MILK-1L"),
        ("A01-02", "MILK-1L"),
        ("B01-01", "OATMILK-1L"),
        ("B01-01", "RICE-5KG"),
    ]
    assert [t["walk_seq"] for t in pl["tasks"]] == sorted(t["walk_seq"] for t in pl["tasks"])
    for o in (a, b):
        assert client.get(f"/api/v1/orders/{o['id']}", headers=auth()).get_json()["status"] == "picking"
    again = client.post("/api/v1/pick-lists", json={"order_ids": [a["id"]]}, headers=auth("supervisor"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "order_not_allocated"
    none = client.post("/api/v1/pick-lists", json={}, headers=auth("supervisor"))
    assert none.status_code == 422 and none.get_json()["error"]["code"] == "nothing_to_pick"
    uid = client.get("/api/v1/auth/me", headers=auth()).get_json()["id"]
    r = client.post(f"/api/v1/pick-lists/{pl['id']}/assign", json={"picker_id": uid}, headers=auth("supervisor"))
    assert r.status_code == 200 and r.get_json()["picker_id"] == uid
    mine = client.get("/api/v1/pick-lists?mine=true", headers=auth()).get_json()["items"]
    assert [m["id"] for m in mine] == [pl["id"]] and mine[0]["tasks"] == 5 and mine[0]["orders"] == 2
    assert (
        client.post(
            f"/api/v1/pick-lists/{pl['id']}/assign", json={"picker_id": "nobody"}, headers=auth("supervisor")
        ).status_code
        == 404
    )


def test_wrong_location_and_wrong_item_are_refused(client, auth, hubctx, shop):
    o = _new(client, auth, "W-w", [{"sku": "RICE-5KG", "qty": 2}])
    pl = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    task = pl["tasks"][0]
    assert pl["status"] == "in_progress" and task["location_label"] == "SHL-B01-01"
    r = client.post(f"/api/v1/pick-tasks/{task['id']}/location", json={"code": "SHL-A01-01"}, headers=auth())
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "wrong_location"
    assert "B01-01" in r.get_json()["error"]["message"]
    r = client.post(f"/api/v1/pick-tasks/{task['id']}/location", json={"code": "96385074"}, headers=auth())
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "not_a_location"
    assert (
        client.post(
            f"/api/v1/pick-tasks/{task['id']}/location", json={"code": "SHL-B01-01"}, headers=auth()
        ).status_code
        == 200
    )
    r = _pick(client, auth, task, item="5901234123457")  # milk, not rice
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "wrong_item"
    assert r.get_json()["error"]["details"] == {"expected_sku": "RICE-5KG", "scanned_sku": "MILK-1L"}
    r = _pick(client, auth, task, loc="SHL-A01-02", item="96385074")
    assert r.get_json()["error"]["code"] == "wrong_location"
    r = _pick(client, auth, task, item="96385075")  # bad check digit
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "unreadable_code"
    r = _pick(client, auth, task, item="4000000000006")  # well-formed, not in the catalog
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "unknown_item"
    r = _pick(client, auth, task, item="96385074", qty=3)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "too_many"
    # nothing moved on any refusal
    assert _stock(hubctx, shop["rice"], shop["bin3"]) | {} == {
        "on_hand": 10,
        "reserved": 2,
        "available": 8,
        "negative": False,
    }
    assert client.get(f"/api/v1/orders/{o['id']}", headers=auth()).get_json()["lines"][0]["qty_picked"] == 0


def test_pick_is_idempotent_by_client_key(client, auth, hubctx, shop):
    o = _new(client, auth, "W-i", [{"sku": "RICE-5KG", "qty": 2}])
    pl = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    task = pl["tasks"][0]
    ck = key()
    first = _pick(client, auth, task, item="96385074", qty=1, ck=ck)
    replay = _pick(client, auth, task, item="96385074", qty=1, ck=ck)
    assert first.status_code == replay.status_code == 200
    assert first.get_json()["duplicate"] is False and replay.get_json()["duplicate"] is True
    assert _stock(hubctx, shop["rice"], shop["bin3"])["on_hand"] == 9
    r = _pick(client, auth, task, item="96385074", qty=1)
    assert r.get_json()["order_done"] is True and r.get_json()["list_done"] is True
    assert _stock(hubctx, shop["rice"], shop["bin3"]) | {} == {
        "on_hand": 8,
        "reserved": 0,
        "available": 8,
        "negative": False,
    }
    order = client.get(f"/api/v1/orders/{o['id']}", headers=auth()).get_json()
    assert order["status"] == "picked" and order["lines"][0]["status"] == "picked"
    # a replay after completion still answers the first result and changes nothing
    assert _pick(client, auth, task, item="96385074", qty=1, ck=ck).get_json()["duplicate"] is True
    assert _stock(hubctx, shop["rice"], shop["bin3"])["on_hand"] == 8
    assert ledger.fold(hubctx.db.read()) == ledger.projection(hubctx.db.read())
    picks = hubctx.db.read().execute("SELECT kind FROM outbox WHERE kind = 'order.pick'").fetchall()
    assert len(picks) == 2


def test_variable_measure_label_gives_the_weight(client, auth, hubctx, shop):
    o = _new(client, auth, "W-kg", [{"sku": "APPLE", "grams": 600}])
    task = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()["tasks"][0]
    heavy = price_label("2302148", 1200)  # 12.00 CNY at 12.00/kg = 1000 g > 600 + 10 %
    r = _pick(client, auth, task, item=heavy)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "over_weight"
    r = _pick(client, auth, task, item=price_label("2302148", 756))  # 630 g
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["qty"] == 630 and r.get_json()["order_done"] is True
    order = client.get(f"/api/v1/orders/{o['id']}", headers=auth()).get_json()
    assert order["lines"][0]["qty_picked"] == 630 and order["total_minor"] == 756
    s = _stock(hubctx, shop["apples"], shop["bin1"])
    assert s["on_hand"] == 5000 - 630 and s["reserved"] == 0


def test_short_pick_with_substitute_partial_and_backorder(client, auth, hubctx, shop):
    o = _new(
        client,
        auth,
        "W-s",
        [{"sku": "MILK-1L", "qty": 5}, {"sku": "RICE-5KG", "qty": 3}],
        paid_minor=5 * 1250 + 3 * 4990,
    )
    pl = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    t_milk1, t_milk2, t_rice = pl["tasks"]
    # A01-01: milk, 2 reserved — only 1 on the shelf: substitute
    assert _pick(client, auth, t_milk1, item="5901234123457", qty=1).status_code == 200
    subs = client.get(f"/api/v1/pick-tasks/{t_milk1['id']}/substitutes", headers=auth()).get_json()["items"]
    assert [s["sku"] for s in subs] == ["OATMILK-1L"]  # cream is dairy but far too dear
    r = client.post(
        f"/api/v1/pick-tasks/{t_milk1['id']}/short",
        json={"client_key": key(), "resolution": "substitute"},
        headers=auth(),
    )
    assert r.status_code == 200, r.get_json()
    new_task_id = r.get_json()["new_task_ids"][0]
    pl = client.get(f"/api/v1/pick-lists/{pl['id']}", headers=auth()).get_json()
    sub_task = next(t for t in pl["tasks"] if t["id"] == new_task_id)
    assert sub_task["sku"] == "OATMILK-1L" and sub_task["qty"] == 1 and sub_task["location_code"] == "B01-01"
    # A01-02: milk, 3 reserved, shelf empty: back-order
    r = client.post(
        f"/api/v1/pick-tasks/{t_milk2['id']}/short",
        json={"client_key": key(), "resolution": "backorder"},
        headers=auth(),
    )
    child_id = r.get_json()["backorder_order_id"]
    # rice: 3 reserved, 2 found: partial
    assert _pick(client, auth, t_rice, item="96385074", qty=2).status_code == 200
    r = client.post(
        f"/api/v1/pick-tasks/{t_rice['id']}/short", json={"client_key": key(), "resolution": "partial"}, headers=auth()
    )
    assert r.get_json()["order_done"] is False  # the substitute is still to pick
    r = _pick(client, auth, sub_task, item="4006381333931")
    assert r.get_json()["order_done"] is True and r.get_json()["order_status"] == "picked"
    order = client.get(f"/api/v1/orders/{o['id']}", headers=auth()).get_json()
    lines = {(ln["sku"], ln["status"]): ln for ln in order["lines"]}
    assert lines[("MILK-1L", "short")]["qty_picked"] == 1
    oat = lines[("OATMILK-1L", "picked")]
    assert oat["unit_price_minor"] == 1250 and oat["substitute_for_line_id"] == lines[("MILK-1L", "short")]["id"]
    assert lines[("RICE-5KG", "short")]["qty_picked"] == 2
    total = 1 * 1250 + 1 * 1250 + 2 * 4990
    assert order["total_minor"] == total
    child = client.get(f"/api/v1/orders/{child_id}", headers=auth()).get_json()
    assert child["status"] == "backordered" and [(ln["sku"], ln["qty"]) for ln in child["lines"]] == [("MILK-1L", 3)]
    assert child["paid_minor"] == 3 * 1250
    # customer paid for 5 milk + 3 rice; 3 milk moved to the back-order; 1 rice missing is owed back
    assert order["paid_minor"] + child["paid_minor"] == 5 * 1250 + 3 * 4990
    assert order["refund_due_minor"] == order["paid_minor"] - total == 4990
    for loc in (shop["bin1"], shop["bin2"], shop["bin3"]):
        for it in ("milk", "rice", "oat"):
            assert _stock(hubctx, shop[it], loc)["reserved"] == 0
    assert ledger.fold(hubctx.db.read()) == ledger.projection(hubctx.db.read())
    stats = client.get("/api/v1/orders/analytics", headers=auth("supervisor")).get_json()
    assert stats["short_picks"] == {"tasks": 4, "short": 3, "rate": 0.75}
    assert stats["pickers"][0]["lines"] == 4 and stats["pickers"][0]["lines_per_hour"] > 0
    assert "picking" in stats["time_per_state"] and stats["time_per_state"]["allocated"]["orders"] == 1


def test_substitute_refused_when_customer_said_no(client, auth, hubctx, shop):
    _new(client, auth, "W-ns", [{"sku": "MILK-1L", "qty": 1, "allow_substitute": False}])
    task = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()["tasks"][0]
    r = client.post(
        f"/api/v1/pick-tasks/{task['id']}/short", json={"client_key": key(), "resolution": "substitute"}, headers=auth()
    )
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "substitute_not_allowed"
    r = client.post(
        f"/api/v1/pick-tasks/{task['id']}/short", json={"client_key": key(), "resolution": "partial"}, headers=auth()
    )
    assert r.get_json()["order_status"] == "cancelled"  # nothing at all could be picked


def test_pack_print_ready_handover_and_return(client, auth, hubctx, shop):
    o = _new(
        client, auth, "W-p", [{"sku": "MILK-1L", "qty": 2}, {"sku": "RICE-5KG", "qty": 1}], paid_minor=2 * 1250 + 4990
    )
    pl = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    for t in pl["tasks"]:
        code = {"MILK-1L": "5901234123457", "RICE-5KG": "96385074"}[t["sku"]]
        assert _pick(client, auth, t, item=code).status_code == 200
    r = client.post(f"/api/v1/orders/{o['id']}/pack", json={}, headers=auth())
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "pack_incomplete"

    def scan(code):
        return client.post(
            f"/api/v1/orders/{o['id']}/pack/scan", json={"code": code, "client_key": key()}, headers=auth()
        )

    assert scan("4006381333931").get_json()["error"]["code"] == "not_in_order"
    assert scan("5901234123457").status_code == 200
    ck = key()
    first = client.post(
        f"/api/v1/orders/{o['id']}/pack/scan", json={"code": "5901234123457", "client_key": ck}, headers=auth()
    )
    replay = client.post(
        f"/api/v1/orders/{o['id']}/pack/scan", json={"code": "5901234123457", "client_key": ck}, headers=auth()
    )
    assert first.get_json()["duplicate"] is False and replay.get_json()["duplicate"] is True
    assert scan("5901234123457").get_json()["error"]["code"] == "too_many"
    assert scan("96385074").get_json()["complete"] is True
    r = client.post(f"/api/v1/orders/{o['id']}/pack", json={"printer": "printer-7"}, headers=auth())
    assert r.status_code == 200, r.get_json()
    packed = r.get_json()
    assert packed["status"] == "packed"
    assert [(j["document"], j["device_id"]) for j in packed["printed"]] == [
        ("pack_label", "printer-7"),
        ("receipt", "printer-7"),
    ]
    cmds = hubctx.db.read().execute("SELECT request_id, action, payload, status FROM device_commands").fetchall()
    import json as _json

    docs = {_json.loads(c["payload"])["document"]["type"]: _json.loads(c["payload"]) for c in cmds}
    assert docs["pack_label"]["document"]["barcode"] == {"symbology": "code128", "value": o["code"]}
    assert docs["receipt"]["document"]["total_minor"] == 2 * 1250 + 4990
    from devices.printer import documents

    for d in docs.values():  # what the printer agent accepts
        documents.validate(d["document"])
        assert documents.layout(d["document"])
    assert {c["request_id"] for c in cmds} == {j["request_id"] for j in packed["printed"]}
    r = client.post("/api/v1/orders/handover", json={"code": o["code"]}, headers=auth())
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_ready"
    assert client.post(f"/api/v1/orders/{o['id']}/ready", headers=auth()).get_json()["status"] == "ready"
    r = client.post("/api/v1/orders/handover", json={"code": "SHL-A01-01"}, headers=auth())
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "not_an_order"
    r = client.post("/api/v1/orders/handover", json={"code": "SHO-999999"}, headers=auth())
    assert r.status_code == 404
    r = client.post("/api/v1/orders/handover", json={"code": o["code"]}, headers=auth())
    assert r.status_code == 200 and r.get_json()["status"] == "collected"
    milk_line = next(ln for ln in r.get_json()["lines"] if ln["sku"] == "MILK-1L")
    body = {
        "client_key": key(),
        "lines": [
            {"line_id": milk_line["id"], "qty": 1, "disposition": "restock", "reason": "unopened"},
            {"line_id": milk_line["id"], "qty": 1, "disposition": "writeoff", "reason": "leaking"},
        ],
    }
    assert client.post(f"/api/v1/orders/{o['id']}/returns", json=body, headers=auth()).status_code == 403
    before = sum(_stock(hubctx, shop["milk"], b)["on_hand"] for b in (shop["bin1"], shop["bin2"]))
    r = client.post(f"/api/v1/orders/{o['id']}/returns", json=body, headers=auth("supervisor"))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["refund_due_minor"] == 2 * 1250 and r.get_json()["status"] == "collected"
    after = sum(_stock(hubctx, shop["milk"], b)["on_hand"] for b in (shop["bin1"], shop["bin2"]))
    assert after == before + 1
    again = client.post(f"/api/v1/orders/{o['id']}/returns", json=body, headers=auth("supervisor"))
    assert again.get_json()["duplicate"] is True
    more = client.post(
        f"/api/v1/orders/{o['id']}/returns", json={**body, "client_key": key()}, headers=auth("supervisor")
    )
    assert more.status_code == 422 and more.get_json()["error"]["code"] == "too_many"
    kinds = [
        r[0] for r in hubctx.db.read().execute("SELECT kind FROM movements WHERE ref = ? ORDER BY seq", (o["id"],))
    ]
    assert kinds.count("return") == 2 and kinds.count("writeoff") == 1
    history = [
        r[0]
        for r in hubctx.db.read().execute(
            "SELECT to_status FROM order_status_history WHERE order_id = ? ORDER BY seq", (o["id"],)
        )
    ]
    assert history == ["new", "allocated", "picking", "picked", "packed", "ready", "collected"]


def test_cancel_after_picking_puts_goods_back(client, auth, hubctx, shop):
    o = _new(client, auth, "W-cp", [{"sku": "RICE-5KG", "qty": 2}], paid_minor=2 * 4990)
    task = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()["tasks"][0]
    _pick(client, auth, task, item="96385074", qty=1)
    r = client.post(
        f"/api/v1/orders/{o['id']}/cancel", json={"reason": "customer cancelled"}, headers=auth("supervisor")
    )
    assert r.get_json()["status"] == "cancelled" and r.get_json()["refund_due_minor"] == 2 * 4990
    assert _stock(hubctx, shop["rice"], shop["bin3"]) | {} == {
        "on_hand": 10,
        "reserved": 0,
        "available": 10,
        "negative": False,
    }
    pl = client.get(f"/api/v1/pick-lists/{task['pick_list_id']}", headers=auth()).get_json()
    assert pl["status"] == "done" and pl["tasks"][0]["status"] == "cancelled"
    r = _pick(client, auth, task, item="96385074", qty=1)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "task_not_pending"


def test_cancelled_walk_sends_orders_back_and_the_next_walk_takes_the_rest(client, auth, hubctx, shop):
    o = _new(client, auth, "W-cw", [{"sku": "MILK-1L", "qty": 3}])
    pl = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    first = pl["tasks"][0]
    assert _pick(client, auth, first, item="5901234123457", qty=1).status_code == 200
    assert client.post(f"/api/v1/pick-lists/{pl['id']}/cancel", headers=auth()).status_code == 403
    r = client.post(f"/api/v1/pick-lists/{pl['id']}/cancel", headers=auth("supervisor"))
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert client.get(f"/api/v1/orders/{o['id']}", headers=auth()).get_json()["status"] == "allocated"
    again = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    assert sorted((t["location_code"], t["qty"]) for t in again["tasks"]) == [("A01-01", 1), ("A01-02", 1)]
    for t in again["tasks"]:
        assert _pick(client, auth, t, item="5901234123457").status_code == 200
    order = client.get(f"/api/v1/orders/{o['id']}", headers=auth()).get_json()
    assert order["status"] == "picked" and order["lines"][0]["qty_picked"] == 3
    assert sum(_stock(hubctx, shop["milk"], b)["reserved"] for b in (shop["bin1"], shop["bin2"])) == 0
    r = client.post(f"/api/v1/pick-lists/{pl['id']}/cancel", headers=auth("supervisor"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "pick_list_closed"

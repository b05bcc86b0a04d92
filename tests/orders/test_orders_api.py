"""Orders over HTTP: intake from channels, duplicates, allocation, review, split/back-order, import,
cancellation, SLA alerts — against the real app and SQLite ledger."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hub.inventory import ledger
from hub.kernel import settings
from hub.protocol.timeutil import iso, utcnow
from tests.support.orders import order_body, receive, store


@pytest.fixture
def shop(hubctx, sample):
    return store(hubctx, sample)


def _stock(hubctx, item, loc):
    return ledger.stock_of(hubctx.db.read(), item["id"], loc["id"])


def _outbox_kinds(hubctx):
    return [r[0] for r in hubctx.db.read().execute("SELECT kind FROM outbox ORDER BY seq")]


def test_order_is_created_allocated_in_walk_order_and_recorded(client, auth, hubctx, shop):
    r = client.post(
        "/api/v1/orders",
        json=order_body("W-1", [{"sku": "MILK-1L", "qty": 4}, {"sku": "APPLE", "grams": 750}]),
        headers=auth(),
    )
    assert r.status_code == 201, r.get_json()
    o = r.get_json()
    assert o["status"] == "allocated" and o["channel"] == "web" and o["code"] == "SHO-" + o["ref"]
    # 4 milk: 2 from A01-01 (walk 11) first, then 2 from A01-02 (walk 12)
    assert _stock(hubctx, shop["milk"], shop["bin1"])["reserved"] == 2
    assert _stock(hubctx, shop["milk"], shop["bin2"])["reserved"] == 2
    assert _stock(hubctx, shop["apples"], shop["bin1"])["reserved"] == 750
    # money: 4 × 12.50 + 750 g × 12.00/kg = 50.00 + 9.00
    assert o["total_minor"] == 4 * 1250 + 900
    kinds = _outbox_kinds(hubctx)
    assert "order.created" in kinds and "order.status" in kinds
    audit = hubctx.db.read().execute("SELECT action FROM audit_log WHERE target = ?", (o["id"],)).fetchall()
    assert {"order.create", "order.allocated"} <= {a[0] for a in audit}
    movements = hubctx.db.read().execute("SELECT kind, reason FROM movements WHERE ref = ?", (o["id"],)).fetchall()
    assert {m[0] for m in movements} == {"reserve"}


def test_duplicate_external_id_is_refused_with_existing_id(client, auth, hubctx, shop):
    body = order_body("W-dup", [{"sku": "RICE-5KG", "qty": 1}])
    first = client.post("/api/v1/orders", json=body, headers=auth())
    again = client.post("/api/v1/orders", json=body, headers=auth())
    assert first.status_code == 201
    assert again.status_code == 409
    err = again.get_json()["error"]
    assert err["code"] == "duplicate_order" and err["details"]["order_id"] == first.get_json()["id"]
    assert hubctx.db.read().execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 1
    assert _stock(hubctx, shop["rice"], shop["bin3"])["reserved"] == 1
    # the same external id from another channel is another order
    other = client.post("/api/v1/orders", json={**body, "channel": "app"}, headers=auth())
    assert other.status_code == 201


@pytest.mark.parametrize(
    "lines, field",
    [
        ([{"sku": "NOPE", "qty": 1}], "lines[0]"),
        ([{"sku": "APPLE", "qty": 2}], "lines[0]"),  # kg items are ordered in grams
        ([{"sku": "MILK-1L", "grams": 500}], "lines[0]"),  # each items by qty
        ([{"sku": "MILK-1L"}], "lines[0]"),
    ],
)
def test_bad_lines_are_refused_per_field(client, auth, shop, lines, field):
    r = client.post("/api/v1/orders", json=order_body("W-bad", lines), headers=auth())
    assert r.status_code == 400
    assert field in r.get_json()["error"]["details"]


def test_bad_requests(client, auth, shop):
    assert client.post("/api/v1/orders", json={"channel": "fax", "lines": []}, headers=auth()).status_code == 400
    r = client.post("/api/v1/orders", json={"channel": "web", "lines": [{"sku": "RICE-5KG", "qty": 1}]}, headers=auth())
    assert r.status_code == 400 and "external_id" in r.get_json()["error"]["details"]
    assert client.post("/api/v1/orders", data="{", content_type="application/json", headers=auth()).status_code == 400
    anonymous = client.application.test_client()
    assert anonymous.post("/api/v1/orders", json=order_body("x", [{"sku": "RICE-5KG", "qty": 1}])).status_code == 401
    assert client.get("/api/v1/orders/nope", headers=auth()).get_json()["error"]["code"] == "order_not_found"


def test_review_rules_hold_orders_for_a_person(client, auth, hubctx, shop):
    big = client.post(
        "/api/v1/orders",
        json=order_body("W-big", [{"sku": "RICE-5KG", "qty": 1, "unit_price_minor": 300_000}]),
        headers=auth(),
    ).get_json()
    assert (
        big["status"] == "new" and big["review_status"] == "pending" and big["review_reasons"] == ["amount_over_limit"]
    )
    nophone = client.post(
        "/api/v1/orders",
        json=order_body(
            "W-addr",
            [{"sku": "RICE-5KG", "qty": 1}],
            fulfilment="delivery",
            address={"line1": "1 Road", "city": "Shanghai", "postcode": "12"},
            customer={"name": "X"},
        ),
        headers=auth(),
    ).get_json()
    assert set(nophone["review_reasons"]) == {"phone_missing", "postcode_invalid"}
    assert _stock(hubctx, shop["rice"], shop["bin3"])["reserved"] == 0  # nothing reserved while in review
    queue = client.get("/api/v1/orders/review", headers=auth("supervisor")).get_json()["items"]
    assert {o["id"] for o in queue} == {big["id"], nophone["id"]}
    assert client.get("/api/v1/orders/review", headers=auth("associate")).status_code == 403
    r = client.post(
        f"/api/v1/orders/{big['id']}/review",
        json={"decision": "approve", "note": "known customer"},
        headers=auth("supervisor"),
    )
    assert r.status_code == 200 and r.get_json()["status"] == "allocated"
    r = client.post(
        f"/api/v1/orders/{nophone['id']}/review",
        json={"decision": "reject", "note": "bad address"},
        headers=auth("supervisor"),
    )
    assert r.get_json()["status"] == "cancelled"
    r = client.post(f"/api/v1/orders/{nophone['id']}/review", json={"decision": "approve"}, headers=auth("supervisor"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_in_review"


def test_review_rules_are_configurable(client, auth, hubctx, shop):
    with hubctx.db.write() as conn:
        settings.put(conn, "orders.review", {"review_channels": ["phone"]})
    o = client.post(
        "/api/v1/orders",
        json={**order_body("P-1", [{"sku": "RICE-5KG", "qty": 1}]), "channel": "phone"},
        headers=auth(),
    ).get_json()
    assert o["review_reasons"] == ["channel_needs_review"]
    past = client.post(
        "/api/v1/orders",
        json=order_body("W-past", [{"sku": "RICE-5KG", "qty": 1}], pickup_at=iso(utcnow() - timedelta(days=1))),
        headers=auth(),
    ).get_json()
    assert past["review_reasons"] == ["pickup_in_past"]


def test_partial_stock_splits_by_default(client, auth, hubctx, shop):
    o = client.post(
        "/api/v1/orders",
        json=order_body(
            "W-split", [{"sku": "MILK-1L", "qty": 7}, {"sku": "RICE-5KG", "qty": 2}], paid_minor=7 * 1250 + 2 * 4990
        ),
        headers=auth(),
    ).get_json()
    assert o["status"] == "allocated" and len(o["children"]) == 1
    milk = next(ln for ln in o["lines"] if ln["sku"] == "MILK-1L")
    assert milk["qty"] == 5 and milk["reserved"] == 5
    child = client.get(f"/api/v1/orders/{o['children'][0]}", headers=auth()).get_json()
    assert child["status"] == "backordered" and child["ref"] == o["ref"] + "-2" and child["split_kind"] == "split"
    assert [(ln["sku"], ln["qty"]) for ln in child["lines"]] == [("MILK-1L", 2)]
    # payment follows the goods: nobody is charged twice, nothing is owed back yet
    assert child["paid_minor"] == 2 * 1250 and o["paid_minor"] == 5 * 1250 + 2 * 4990
    assert o["refund_due_minor"] == 0 and child["refund_due_minor"] == 0
    # stock arrives: the back-order is allocated in the same transaction, nothing left to retry
    receive(hubctx.db, shop["milk"]["id"], shop["bin2"]["id"], 4)
    child = client.get(f"/api/v1/orders/{child['id']}", headers=auth()).get_json()
    assert child["status"] == "allocated" and child["lines"][0]["reserved"] == 2
    r = client.post("/api/v1/orders/backorders/retry", headers=auth("supervisor")).get_json()
    assert r["allocated"] == []


def test_backorder_policy_holds_the_whole_order(client, auth, hubctx, shop):
    with hubctx.db.write() as conn:
        settings.put(conn, "orders.partial_policy", "backorder")
    o = client.post(
        "/api/v1/orders",
        json=order_body("W-bo", [{"sku": "MILK-1L", "qty": 9}, {"sku": "RICE-5KG", "qty": 1}]),
        headers=auth(),
    ).get_json()
    assert o["status"] == "backordered" and o["children"] == []
    assert _stock(hubctx, shop["milk"], shop["bin1"])["reserved"] == 0
    assert _stock(hubctx, shop["rice"], shop["bin3"])["reserved"] == 0
    # on request, what is there is held for the waiting order (oldest first); it still waits for the rest
    assert client.post("/api/v1/orders/backorders/retry", headers=auth("supervisor")).get_json()["allocated"] == []
    held = client.get(f"/api/v1/orders/{o['id']}", headers=auth()).get_json()
    assert held["status"] == "backordered" and [ln["reserved"] for ln in held["lines"]] == [5, 1]
    receive(hubctx.db, shop["milk"]["id"], shop["bin2"]["id"], 4)
    assert client.get(f"/api/v1/orders/{o['id']}", headers=auth()).get_json()["status"] == "allocated"
    assert _stock(hubctx, shop["milk"], shop["bin2"])["reserved"] == 3 + 4


def test_cancel_releases_reservations_and_records_refund(client, auth, hubctx, shop):
    o = client.post(
        "/api/v1/orders", json=order_body("W-c", [{"sku": "MILK-1L", "qty": 3}], paid_minor=3750), headers=auth()
    ).get_json()
    assert (
        client.post(f"/api/v1/orders/{o['id']}/cancel", json={"reason": "customer called"}, headers=auth()).status_code
        == 403
    )
    r = client.post(f"/api/v1/orders/{o['id']}/cancel", json={"reason": "customer called"}, headers=auth("supervisor"))
    assert r.status_code == 200
    c = r.get_json()
    assert c["status"] == "cancelled" and c["refund_due_minor"] == 3750 and c["cancel_reason"] == "customer called"
    assert _stock(hubctx, shop["milk"], shop["bin1"])["reserved"] == 0
    assert _stock(hubctx, shop["milk"], shop["bin2"])["reserved"] == 0
    r = client.post(f"/api/v1/orders/{o['id']}/cancel", json={"reason": "again"}, headers=auth("supervisor"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "invalid_order_status"
    assert ledger.fold(hubctx.db.read()) == ledger.projection(hubctx.db.read())


def test_state_machine_refuses_skipping_states(client, auth, hubctx, shop):
    o = client.post(
        "/api/v1/orders", json=order_body("W-sm", [{"sku": "RICE-5KG", "qty": 1}]), headers=auth()
    ).get_json()
    r = client.post(f"/api/v1/orders/{o['id']}/ready", headers=auth())
    assert r.status_code == 409 and r.get_json()["error"]["details"]["allowed"] == ["cancelled", "picking"]
    r = client.post("/api/v1/orders/handover", json={"code": o["code"]}, headers=auth())
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_ready"


CSV = """channel,external_id,customer_name,customer_phone,fulfilment,address_line1,address_city,address_postcode,sku,qty,grams,paid_minor
web,W-100,Han Mei,13900000000,pickup,,,,MILK-1L,1,,3850
web,W-100,Han Mei,13900000000,pickup,,,,APPLE,,500,
phone,T-7,Wei,13700000000,delivery,2 Lane,Shanghai,200000,RICE-5KG,2,,
web,W-101,Bad,1,pickup,,,,NOSUCH,1,,
web,W-100,Han Mei,13900000000,pickup,,,,MILK-1L,1,,
"""


def test_csv_import_reports_created_duplicates_and_errors(client, auth, hubctx, shop):
    r = client.post("/api/v1/orders/import", json={"format": "csv", "content": CSV}, headers=auth("supervisor"))
    assert r.status_code == 200, r.get_json()
    rep = r.get_json()
    assert rep["counts"] == {"created": 2, "duplicates": 0, "errors": 1}
    assert rep["errors"][0]["external_id"] == "W-101" and rep["errors"][0]["code"] == "invalid_order"
    orders = {o["external_id"]: o for o in client.get("/api/v1/orders", headers=auth()).get_json()["items"]}
    w100 = client.get(f"/api/v1/orders/{orders['W-100']['id']}", headers=auth()).get_json()
    assert [(ln["sku"], ln["qty"]) for ln in w100["lines"]] == [("MILK-1L", 1), ("APPLE", 500), ("MILK-1L", 1)]
    assert orders["T-7"]["channel"] == "phone" and orders["T-7"]["fulfilment"] == "delivery"
    again = client.post(
        "/api/v1/orders/import", json={"format": "csv", "content": CSV}, headers=auth("supervisor")
    ).get_json()
    assert again["counts"] == {"created": 0, "duplicates": 2, "errors": 1}
    assert {d["order_id"] for d in again["duplicates"]} == {orders["W-100"]["id"], orders["T-7"]["id"]}
    assert hubctx.db.read().execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 2


def test_json_import_and_bad_files(client, auth, hubctx, shop):
    content = json.dumps(
        {
            "orders": [
                order_body("A-1", [{"sku": "RICE-5KG", "qty": 1}]) | {"channel": "app"},
                order_body("A-1", [{"sku": "RICE-5KG", "qty": 1}]) | {"channel": "app"},
            ]
        }
    )
    rep = client.post(
        "/api/v1/orders/import", json={"format": "json", "content": content}, headers=auth("supervisor")
    ).get_json()
    assert rep["counts"] == {"created": 1, "duplicates": 1, "errors": 0}
    r = client.post("/api/v1/orders/import", json={"format": "json", "content": "[1,"}, headers=auth("supervisor"))
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_import"
    r = client.post(
        "/api/v1/orders/import", json={"format": "csv", "content": "a,b\n1,2\n"}, headers=auth("supervisor")
    )
    assert r.status_code == 400 and r.get_json()["error"]["details"]["missing"] == ["channel", "sku"]


def test_cli_import(tmp_path, hubctx, shop):
    from click.testing import CliRunner

    from hub.cli import main

    f = tmp_path / "orders.csv"
    f.write_text(CSV, encoding="utf-8")
    hubctx.db.close()
    res = CliRunner().invoke(main, ["orders", "import", str(f), "--data-dir", str(hubctx.config.data_dir)])
    assert res.exit_code == 1, res.output  # one order had an error: non-zero exit, report printed
    report = json.loads(res.output)
    assert report["counts"] == {"created": 2, "duplicates": 0, "errors": 1}
    res = CliRunner().invoke(
        main, ["orders", "import", str(tmp_path / "missing.json"), "--data-dir", str(hubctx.config.data_dir)]
    )
    assert res.exit_code != 0


def test_sla_alerts(client, auth, hubctx, shop):
    o = client.post(
        "/api/v1/orders", json=order_body("W-sla", [{"sku": "RICE-5KG", "qty": 1}]), headers=auth()
    ).get_json()
    assert client.get("/api/v1/orders/alerts", headers=auth()).get_json()["items"] == []
    with hubctx.db.write() as conn:
        conn.execute(
            "UPDATE orders SET status_since = ? WHERE id = ?", (iso(utcnow() - timedelta(minutes=75)), o["id"])
        )
    items = client.get("/api/v1/orders/alerts", headers=auth()).get_json()["items"]
    assert len(items) == 1
    a = items[0]
    assert a["order_id"] == o["id"] and a["status"] == "allocated" and a["limit_min"] == 30
    assert a["severity"] == "critical" and a["waiting_min"] >= 75

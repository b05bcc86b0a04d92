"""Purchasing over HTTP: approval limits by role, approved twice refused, receiving replays counted once, the
unknown carton reported and answered 422, CSV download, recall, replenishment, the screens served."""

from __future__ import annotations

from datetime import date, timedelta

from tests.purchasing.conftest import MILK_CASE, carton

FUTURE = (date.today() + timedelta(days=30)).isoformat()


def test_po_approval_by_role_and_receiving_replays(client, auth, hubctx, supplied):
    s = supplied
    body = {
        "supplier_id": s["supplier"]["id"],
        "lines": [{"item_id": s["milk"]["id"], "cases": 100}],
        "idempotency_key": "po-key-0001",
    }
    assert client.post("/api/v1/purchasing/orders", json=body, headers=auth("associate")).status_code == 403
    r = client.post("/api/v1/purchasing/orders", json=body, headers=auth("supervisor"))
    assert r.status_code == 201, r.get_json()
    po = r.get_json()
    assert client.post("/api/v1/purchasing/orders", json=body, headers=auth("supervisor")).status_code == 200
    assert client.post(f"/api/v1/purchasing/orders/{po['id']}/submit", headers=auth("supervisor")).status_code == 200
    r = client.post(f"/api/v1/purchasing/orders/{po['id']}/approve", headers=auth("supervisor"))  # 840,000 > limit
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "approval_limit"
    r = client.post(f"/api/v1/purchasing/orders/{po['id']}/approve", headers=auth("manager"))
    assert r.status_code == 200 and r.get_json()["status"] == "approved"
    r = client.post(f"/api/v1/purchasing/orders/{po['id']}/approve", headers=auth("manager"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "po_already_approved"
    assert client.post(f"/api/v1/purchasing/orders/{po['id']}/send", headers=auth("supervisor")).status_code == 200
    csv_text = client.get(f"/api/v1/purchasing/orders/{po['id']}/csv?lang=zh-CN", headers=auth("associate"))
    assert csv_text.status_code == 200 and "采购订单" in csv_text.get_data(as_text=True)

    r = client.post(
        "/api/v1/purchasing/receipts",
        json={"po_number": po["number"], "idempotency_key": "rcpt-0001"},
        headers=auth("associate"),
    )
    assert r.status_code == 201
    rid = r.get_json()["id"]
    scan = {"code": carton(MILK_CASE, lot="L9", expiry=FUTURE, count=3), "idempotency_key": "scan-0001"}
    for _ in range(3):  # the offline queue replays the same scan: counted once
        r = client.post(f"/api/v1/purchasing/receipts/{rid}/scans", json=scan, headers=auth("associate"))
        assert r.status_code == 201
    assert r.get_json()["line"]["scanned"] == 36 and "receipt" not in r.get_json()
    unknown = {"code": "]C10110000000000007" + "10LX", "idempotency_key": "scan-0002"}
    for _ in range(2):
        r = client.post(f"/api/v1/purchasing/receipts/{rid}/scans", json=unknown, headers=auth("associate"))
        assert r.status_code == 422 and r.get_json()["error"]["code"] == "unknown_code"
    reported = client.get("/api/v1/unknown-codes", headers=auth("supervisor")).get_json()
    assert reported["total"] == 1
    confirm = {"idempotency_key": "conf-0001", "reasons": {s["milk"]["id"]: "short_shipped"}}
    for _ in range(2):
        r = client.post(f"/api/v1/purchasing/receipts/{rid}/confirm", json=confirm, headers=auth("associate"))
        assert r.status_code == 200, r.get_json()
    assert r.get_json()["duplicate"] is True and r.get_json()["po_status"] == "partly_received"
    conn = hubctx.db.read()
    assert conn.execute("SELECT SUM(qty_delta) FROM movements WHERE kind = 'receive'").fetchone()[0] == 36
    rec = client.get("/api/v1/purchasing/recall?lot=L9", headers=auth("supervisor")).get_json()
    assert rec["on_hand_total"] == 36
    assert client.get("/api/v1/purchasing/recall?lot=L9", headers=auth("associate")).status_code == 403
    item = client.get(f"/api/v1/purchasing/items/{s['milk']['id']}", headers=auth("associate")).get_json()
    assert item["lot_controlled"] and item["avg_cost_minor"] == 700
    run = client.post("/api/v1/purchasing/replenishment", json={"create_drafts": True}, headers=auth("manager"))
    assert run.status_code == 200 and run.get_json()["items"] == 2
    assert client.post("/api/v1/purchasing/replenishment", json={}, headers=auth("supervisor")).status_code == 403


def test_screens_and_settings_are_served(client, auth):
    assert {"purchasing", "purchasing_receive"} <= set(client.get("/screens.json").get_json()["screens"])
    for path in (
        "/screens/purchasing.js",
        "/screens/purchasing_receive.js",
        "/i18n/purchasing.zh-CN.json",
        "/i18n/purchasing_receive.en.json",
    ):
        assert client.get(path).status_code == 200, path
    doc = client.get("/api/v1/settings/schema", headers=auth("associate")).get_json()
    assert doc["purchasing.two_step_above_minor"]["schema"]["minimum"] == 0

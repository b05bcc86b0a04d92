"""Transfers between stores on one hub over HTTP: the sending side (propose → accept → pick → ship, replays,
refusals by role and state) and the receiving side (the central's relayed shipment applied as the downlink does,
a GS1 carton scan with a count, an over-delivery that needs a reason); the lot recall over HTTP, JSON and CSV."""

from __future__ import annotations

import csv
import io

from hub.inventory import ledger, locations
from hub.inventory.ledger import MovementRequest
from hub.kernel import settings
from hub.purchasing import lots, transfers

GS = "\x1d"
API = "/api/v1/purchasing/transfers"


def _store(conn) -> str:
    return locations.get_by_code(conn, "STORE")["id"]


def _stock_lot(hubctx, item_id: str, lot: str, qty: int, expiry: str = "2027-05-31") -> None:
    with hubctx.db.write() as conn:
        lots.set_lot_controlled(conn, item_id, True, actor="test")
        lots.intend(conn, f"recv-{lot}", lot, expiry)
        ledger.post(conn, MovementRequest("receive", item_id, _store(conn), qty, "delivery", "test", f"recv-{lot}"))


def _on_hand(hubctx, item_id: str) -> int:
    conn = hubctx.db.read()
    return ledger.stock_of(conn, item_id, _store(conn))["on_hand"]


def test_sending_store_ships_once_over_http(client, auth, hubctx, sample):
    milk = sample["milk"]["id"]
    _stock_lot(hubctx, milk, "LA1", 40)
    body = {"to_store": "store-b", "lines": [{"sku": "MILK-1L", "qty": 12}], "idempotency_key": "prop-0001"}
    assert client.post(API, json=body, headers=auth("associate")).status_code == 403
    r = client.post(API, json=body, headers=auth("supervisor"))
    assert r.status_code == 200, r.get_json()
    t = r.get_json()
    assert (t["status"], t["side"], t["lines"][0]["item_id"]) == ("proposed", "from", milk)
    assert client.post(API, json=body, headers=auth("supervisor")).get_json()["id"] == t["id"]  # replay
    tid = t["id"]
    # shipping before picking is refused by state
    r = client.post(f"{API}/{tid}/ship", json={"idempotency_key": "ship-0001"}, headers=auth("associate"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "transfer_bad_state"
    assert (
        client.post(
            f"{API}/{tid}/accept", json={"idempotency_key": "acc-00001"}, headers=auth("supervisor")
        ).status_code
        == 200
    )
    r = client.post(
        f"{API}/{tid}/pick",
        json={"idempotency_key": "pick-0001", "lines": [{"line_no": 1, "qty": 13}]},
        headers=auth("associate"),
    )
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "transfer_pick_invalid"
    r = client.post(
        f"{API}/{tid}/pick",
        json={"idempotency_key": "pick-0002", "lines": [{"line_no": 1, "qty": 10}]},
        headers=auth("associate"),
    )
    assert r.get_json()["lines"][0]["picked"] == 10
    before = _on_hand(hubctx, milk)
    for _ in range(2):  # the offline queue sends it twice
        r = client.post(f"{API}/{tid}/ship", json={"idempotency_key": "ship-0002"}, headers=auth("associate"))
        assert r.status_code == 200
    assert r.get_json()["duplicate"] is True
    assert r.get_json()["lines"][0]["lots"] == [{"lot": "LA1", "expiry": "2027-05-31", "qty": 10}]
    assert _on_hand(hubctx, milk) == before - 10
    transit = client.get(f"{API}/in-transit", headers=auth("associate")).get_json()["items"]
    assert [(x["transfer_id"], x["qty"], x["to_store"]) for x in transit] == [(tid, 10, "store-b")]
    r = client.post(
        f"{API}/{tid}/cancel", json={"idempotency_key": "canc-0001", "reason": "x"}, headers=auth("supervisor")
    )
    assert r.status_code == 409
    # this store cannot receive its own shipment
    r = client.post(
        f"{API}/{tid}/scans", json={"idempotency_key": "scan-0001", "code": "5901234123457"}, headers=auth("associate")
    )
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "transfer_wrong_store"
    facts = [
        row[0]
        for row in hubctx.db.read().execute(
            "SELECT json_extract(payload, '$.step') FROM outbox WHERE kind = 'transfer.step' ORDER BY seq"
        )
    ]
    assert facts == ["proposed", "accepted", "picked", "shipped"]


def test_receiving_store_scans_gs1_carton_and_reports_over(client, auth, hubctx, sample):
    milk = sample["milk"]["id"]
    with hubctx.db.write() as conn:
        lots.set_lot_controlled(conn, milk, True, actor="test")
        here = settings.get(conn, "store_id")
        doc = {
            "id": "0190aaaa-0000-7000-8000-000000000001",
            "from_store": "store-a",
            "to_store": here,
            "status": "shipped",
            "origin": "store",
            "proposed_by": "sup-a",
            "note": "",
            "lines": [
                {
                    "line_no": 1,
                    "item_id": "id-at-store-a",
                    "sku": "MILK-1L",
                    "qty": 10,
                    "picked": 10,
                    "shipped": 10,
                    "received": 0,
                    "lots": [{"lot": "LA1", "expiry": "2027-05-31", "qty": 10}],
                }
            ],
        }
        transfers.apply_downlink(conn, {"stage": "shipped", "transfer": doc})
        transfers.apply_downlink(conn, {"stage": "shipped", "transfer": doc})  # the same change again
        transfers.apply_downlink(conn, {"stage": "proposed", "transfer": doc})  # not for this store: ignored
    tid = doc["id"]
    t = client.get(f"{API}/{tid}", headers=auth("associate")).get_json()
    assert (t["status"], t["side"], t["lines"][0]["item_id"]) == ("shipped", "to", milk)
    label = "]C1" + "01" + "05901234123457" + "37" + "12" + GS + "10" + "LA1"
    r = client.post(
        f"{API}/{tid}/scans", json={"idempotency_key": "scan-0001", "code": label}, headers=auth("associate")
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["scanned"] == [{"item_id": milk, "sku": "MILK-1L", "qty": 12}]
    r = client.post(f"{API}/{tid}/confirm", json={"idempotency_key": "conf-0001"}, headers=auth("associate"))
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "transfer_reason_required"
    before = _on_hand(hubctx, milk)
    r = client.post(
        f"{API}/{tid}/confirm",
        json={"idempotency_key": "conf-0002", "reasons": {milk: "two extra in the carton"}},
        headers=auth("associate"),
    )
    assert r.status_code == 200
    assert r.get_json()["discrepancies"] == [
        {"item_id": milk, "sku": "MILK-1L", "kind": "over", "qty": 2, "reason": "two extra in the carton"}
    ]
    assert _on_hand(hubctx, milk) == before + 12
    by_lot = {x["lot"]: x["qty"] for x in lots.stock_by_lot(hubctx.db.read(), milk) if x["location_code"] == "STORE"}
    assert by_lot == {"LA1": 10, "": 2}  # the shipped lot, and the over-delivery unnamed
    assert lots.mismatches(hubctx.db.read()) == []
    r = client.post(f"{API}/{tid}/close", json={"idempotency_key": "close-001"}, headers=auth("supervisor"))
    assert r.get_json()["status"] == "closed"


def test_recall_over_http_names_receipts_and_transfers(client, auth, hubctx, sample):
    milk = sample["milk"]["id"]
    _stock_lot(hubctx, milk, "LR9", 20)
    with hubctx.db.write() as conn:
        ledger.post(conn, MovementRequest("sale", milk, _store(conn), 3, "sale", "cashier", "sale-1", ref="T1-0001"))
        t = transfers.propose(
            conn, to_store="store-z", lines=[{"item_id": milk, "qty": 5}], actor="s", idempotency_key="prop-rec1"
        )
        transfers.accept(conn, t["id"], actor="s", idempotency_key="acc-rec01")
        transfers.pick(conn, t["id"], picked=None, actor="s", idempotency_key="pick-rec1")
        transfers.ship(conn, t["id"], actor="s", idempotency_key="ship-rec1")
    r = client.get("/api/v1/purchasing/recall/full", query_string={"lot": "LR9"}, headers=auth("supervisor"))
    assert r.status_code == 200
    j = r.get_json()
    assert j["on_hand_total"] == 12
    assert [(s["qty"], s["receipt_code"]) for s in j["sales"]] == [(3, "T1-0001")]
    assert [(x["qty"], x["to_store"]) for x in j["transfers"]] == [(-5, "store-z")]
    r = client.get("/api/v1/purchasing/recall.csv", query_string={"lot": "LR9"}, headers=auth("supervisor"))
    assert r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert {(x["section"], x["qty"]) for x in rows} == {("on_hand", "12"), ("sold", "3"), ("transfer", "-5")}
    # the central learns the lots of each movement
    kinds = [
        k[0]
        for k in hubctx.db.read().execute(
            "SELECT json_extract(payload, '$.kind') FROM outbox WHERE kind = 'lot.moved' ORDER BY seq"
        )
    ]
    assert kinds == ["receive", "sale", "transfer_out"]

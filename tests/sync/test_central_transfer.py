"""A transfer between two stores through a real central (``storehub central serve`` on PostgreSQL), killed
mid-way: store A ships while the central is down, pushes later (and pushes again from the start: a replayed
push), the central relays the shipment to B through the downlink (applied twice), B receives by scan with a
replayed scan and a replayed confirm, short and wrong-item discrepancies reported with reasons. Everything is
counted once: A's stock leaves once, B's arrives once, the central's in-transit book empties. Then a recall of
the lot across both stores through the central's read API, JSON and CSV."""

from __future__ import annotations

import csv
import io

import pytest
import requests

from hub.inventory import ledger, locations
from hub.inventory.ledger import MovementRequest
from hub.kernel.errors import Conflict, NotFound, Unprocessable
from hub.purchasing import lots, transfers
from hub.synclink import state
from sync.central import office, stores
from sync.central import transfers as central_transfers
from sync.central.db import make_engine, migrate
from sync.worker import SyncError, SyncWorker, WorkerConfig
from tests.support.common import free_port
from tests.support.sync import CentralProcess, PgSchema, make_hub, pg_available

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not pg_available(), reason="PostgreSQL not reachable"),
]

A, B = "store-a", "store-b"
LOT = "L42"


def _store_loc(db) -> str:
    return locations.get_by_code(db.read(), "STORE")["id"]


def _on_hand(db, sku: str) -> int:
    conn = db.read()
    item = conn.execute("SELECT id FROM items WHERE sku = ?", (sku,)).fetchone()[0]
    return ledger.stock_of(conn, item, _store_loc(db))["on_hand"]


@pytest.fixture
def env(tmp_path):
    schema = PgSchema("xfer")
    engine = make_engine(schema.url)
    migrate(engine)
    central = CentralProcess(schema.url, tmp_path / "central", free_port()).start()
    hubs = {}
    for sid in (A, B):
        secret = stores.add_store(engine, sid, sid)
        cfg, db, ctx = make_hub(tmp_path / sid, sid)
        state.write_credentials(tmp_path / sid, central_url=central.url, store_id=sid, secret=secret)
        worker = SyncWorker(db, WorkerConfig(central_url=central.url, store_id=sid, secret=secret, timeout_s=5))
        with db.write() as conn:
            milk = conn.execute("SELECT id FROM items WHERE sku = 'MILK'").fetchone()[0]
            lots.set_lot_controlled(conn, milk, True, actor="test")
        hubs[sid] = {"db": db, "worker": worker, "milk": milk}
    # store A receives lot L42 of milk into its stock location (30), the lot the transfer will take
    a = hubs[A]
    with a["db"].write() as conn:
        lots.intend(conn, "recv-l42", LOT, "2027-03-31")
        ledger.post(
            conn, MovementRequest("receive", a["milk"], _store_loc(a["db"]), 30, "delivery", "test", "recv-l42")
        )
    yield {"engine": engine, "central": central, "hubs": hubs, "schema": schema}
    central.kill()
    for h in hubs.values():
        h["db"].close()
    engine.dispose()
    schema.drop()


def sync(h) -> None:
    while h["worker"].push_once():
        pass
    while h["worker"].pull_once():
        pass


def test_transfer_with_central_killed_mid_way_counted_once(env):
    a, b = env["hubs"][A], env["hubs"][B]
    dba, dbb = a["db"], b["db"]
    with dba.write() as conn:
        t = transfers.propose(
            conn, to_store=B, lines=[{"sku": "MILK", "qty": 10}], actor="sup-a", idempotency_key="prop-0001"
        )
    tid = t["id"]
    with dba.write() as conn:
        again = transfers.propose(
            conn, to_store=B, lines=[{"sku": "MILK", "qty": 10}], actor="sup-a", idempotency_key="prop-0001"
        )
    assert again["id"] == tid and again["duplicate"] is True
    with dba.write() as conn:
        transfers.accept(conn, tid, actor="sup-a", idempotency_key="acc-0001")
        transfers.pick(conn, tid, picked=None, actor="assoc-a", idempotency_key="pick-0001")
    sync(a)

    env["central"].kill()  # the central is down from here on
    before_a = _on_hand(dba, "MILK")
    with dba.write() as conn:
        shipped = transfers.ship(conn, tid, actor="assoc-a", idempotency_key="ship-0001")
    assert shipped["status"] == "shipped" and shipped["lines"][0]["lots"] == [
        {"lot": LOT, "expiry": "2027-03-31", "qty": 10}
    ]
    # the offline handheld replays the ship; another handheld ships again with a new key: neither moves stock
    with dba.write() as conn:
        assert transfers.ship(conn, tid, actor="assoc-a", idempotency_key="ship-0001")["duplicate"] is True
    with pytest.raises(Conflict) as exc, dba.write() as conn:
        transfers.ship(conn, tid, actor="assoc-b", idempotency_key="ship-0002")
    assert exc.value.code == "transfer_bad_state"
    assert _on_hand(dba, "MILK") == before_a - 10
    assert transfers.in_transit(dba.read())[0]["qty"] == 10
    with pytest.raises(SyncError):
        a["worker"].push_once()  # nothing reaches the central while it is down

    env["central"].start()
    sync(a)
    with dba.write() as conn:  # a replayed push: the whole outbox again from the start
        state.put(conn, "uplink_cursor", 0)
    sync(a)
    assert [r["qty"] for r in central_transfers.in_transit(env["engine"])] == [10]

    sync(b)  # the central relays the shipment to B through the downlink
    with dbb.write() as conn:  # the downlink page applied again (B lost its downlink version)
        state.put(conn, "downlink_version", 0)
    sync(b)
    tb = transfers.get(dbb.read(), tid)
    assert tb["status"] == "shipped" and tb["side"] == "to" and tb["lines"][0]["shipped"] == 10
    assert tb["lines"][0]["item_id"] == b["milk"]  # B's own item, matched by SKU
    with env["engine"].connect() as c:
        n_changes = c.exec_driver_sql("SELECT COUNT(*) FROM downlink_changes WHERE kind = 'transfer'").scalar()
    assert n_changes == 1  # relayed once, however often B polled

    before_b = _on_hand(dbb, "MILK")
    with dbb.write() as conn:
        transfers.scan(conn, tid, "5901234123457", qty=5, actor="assoc-b", idempotency_key="scan-0001")
        transfers.scan(conn, tid, "5901234123457", qty=5, actor="assoc-b", idempotency_key="scan-0001")  # replay
        transfers.scan(conn, tid, "5901234123457", qty=3, actor="assoc-b", idempotency_key="scan-0002")
        transfers.scan(conn, tid, "RICE", qty=1000, actor="assoc-b", idempotency_key="scan-0003")  # wrong item
    with pytest.raises(Unprocessable) as exc, dbb.write() as conn:
        transfers.confirm(conn, tid, reasons=None, actor="assoc-b", idempotency_key="conf-0001")
    assert exc.value.code == "transfer_reason_required"
    assert {d["kind"] for d in exc.value.details["discrepancies"]} == {"short", "wrong_item"}
    reasons = {b["milk"]: "2 broken in the crate"}
    rice = dbb.read().execute("SELECT id FROM items WHERE sku = 'RICE'").fetchone()[0]
    reasons[rice] = "packed by mistake"
    with dbb.write() as conn:
        done = transfers.confirm(conn, tid, reasons=reasons, actor="assoc-b", idempotency_key="conf-0001")
    with dbb.write() as conn:
        assert transfers.confirm(conn, tid, reasons=reasons, actor="assoc-b", idempotency_key="conf-0001")["duplicate"]
    assert done["status"] == "received"
    assert {(d["sku"], d["kind"], d["qty"]) for d in done["discrepancies"]} == {
        ("MILK", "short", 2),
        ("RICE", "wrong_item", 1000),
    }
    assert _on_hand(dbb, "MILK") == before_b + 8
    # the lot came along: B holds 8 of L42 at its stock location
    assert [
        (r["lot"], r["qty"]) for r in lots.stock_by_lot(dbb.read(), b["milk"]) if r["location_code"] == "STORE"
    ] == [(LOT, 8)]
    with dbb.write() as conn:
        transfers.close(conn, tid, actor="sup-b", idempotency_key="close-001")
    sync(b)
    assert central_transfers.in_transit(env["engine"]) == []
    disc = central_transfers.discrepancies(env["engine"])
    assert {(d["sku"], d["kind"], d["reason"]) for d in disc} == {
        ("MILK", "short", "2 broken in the crate"),
        ("RICE", "wrong_item", "packed by mistake"),
    }
    docs = central_transfers.documents(env["engine"])
    assert [(d["id"], d["status"]) for d in docs] == [(tid, "closed")]
    # exactly once at the central: one transfer_out movement for A, two transfer_in for B (milk, rice)
    with env["engine"].connect() as c:
        kinds = c.exec_driver_sql(
            "SELECT store_id, payload->>'kind', COUNT(*) FROM events WHERE kind = 'movement' "
            "AND payload->>'ref' = %(r)s GROUP BY 1, 2 ORDER BY 1, 2",
            {"r": f"xfer:{tid}"},
        ).fetchall()
    assert kinds == [(A, "transfer_out", 1), (B, "transfer_in", 2)]
    assert _on_hand(dba, "MILK") == before_a - 10
    sync(a)  # the receipt comes back to the sender: out of transit there too, with the discrepancies
    ta = transfers.get(dba.read(), tid)
    assert ta["status"] == "received" and ta["lines"][0]["received"] == 8
    assert [d["item_id"] for d in ta["discrepancies"] if d["sku"] == "MILK"] == [a["milk"]]  # A's own item id
    assert {(d["sku"], d["kind"], d["qty"]) for d in ta["discrepancies"]} == {
        ("MILK", "short", 2),
        ("RICE", "wrong_item", 1000),
    }
    assert transfers.in_transit(dba.read()) == []
    assert _on_hand(dba, "MILK") == before_a - 10


def test_recall_across_two_stores_through_the_central(env):
    a, b = env["hubs"][A], env["hubs"][B]
    dba, dbb = a["db"], b["db"]
    # B receives 12 of the same lot from the supplier; A sells 2, B sells 3 (FEFO takes the lot)
    with dbb.write() as conn:
        lots.intend(conn, "recv-b-l42", LOT, "2027-03-31")
        ledger.post(conn, MovementRequest("receive", b["milk"], _store_loc(dbb), 12, "delivery", "test", "recv-b-l42"))
    for h, db, n, code in ((a, dba, 2, "T1-20261202-0001"), (b, dbb, 3, "T1-20261202-0007")):
        with db.write() as conn:
            ledger.post(
                conn, MovementRequest("sale", h["milk"], _store_loc(db), n, "sale", "cashier", f"sale-{code}", ref=code)
            )
    sync(a)
    sync(b)
    user = office.add_user(env["engine"], "recall-viewer", "a-long-password-1", role="viewer")
    token = office.issue_token(env["engine"], user["id"])["token"]
    r = _get_recall(env, token)
    assert r["on_hand_by_store"] == {A: 28, B: 9}
    assert sorted((s["store_id"], s["qty"], s["receipt_code"]) for s in r["sold"]) == [
        (A, 2, "T1-20261202-0001"),
        (B, 3, "T1-20261202-0007"),
    ]
    rows = list(csv.DictReader(io.StringIO(_get_recall(env, token, csv_=True))))
    assert {(x["section"], x["store_id"], x["qty"]) for x in rows if x["section"] == "sold"} == {
        ("sold", A, "2"),
        ("sold", B, "3"),
    }
    assert sum(int(x["qty"]) for x in rows if x["section"] == "on_hand") == 37


def _get_recall(env, token, csv_=False):
    url = env["central"].url + ("/api/v1/recall.csv" if csv_ else "/api/v1/recall")
    resp = requests.get(url, params={"lot": LOT}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.text if csv_ else resp.json()


def test_head_office_proposes_from_the_suggestions_and_the_sender_gets_it(env):
    a, b = env["hubs"][A], env["hubs"][B]
    with b["db"].write() as conn:  # B runs low on milk: 1500 in its bins, 1495 written off
        for code, q in (("B1", 1000), ("B2", 495)):
            loc = locations.get_by_code(conn, code)["id"]
            ledger.post(conn, MovementRequest("writeoff", b["milk"], loc, q, "spoiled", "test", f"wo-{code}"))
    sync(a)
    sync(b)
    user = office.add_user(env["engine"], "ho-admin", "a-long-password-2", role="admin")
    hdr = {"Authorization": f"Bearer {office.issue_token(env['engine'], user['id'])['token']}"}
    url = env["central"].url + "/api/v1/transfers"
    sugg = requests.get(url + "/suggestions", headers=hdr, timeout=10).json()["items"]
    assert {"sku": "MILK", "from": A, "to": B, "qty": 35} in sugg
    s = next(x for x in sugg if x["sku"] == "MILK")
    r = requests.post(
        url,
        json={"from_store": s["from"], "to_store": s["to"], "lines": [{"sku": "MILK", "qty": s["qty"]}]},
        headers=hdr,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    tid = r.json()["payload"]["transfer"]["id"]
    sync(a)
    ta = transfers.get(a["db"].read(), tid)
    assert (ta["status"], ta["origin"], ta["side"]) == ("proposed", "head_office", "from")
    assert [(ln["item_id"], ln["qty"]) for ln in ta["lines"]] == [(a["milk"], 35)]
    sync(b)  # not B's to see until shipped
    with pytest.raises(NotFound):
        transfers.get(b["db"].read(), tid)

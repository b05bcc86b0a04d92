"""Receiving by scan: cases convert to units, lot and expiry from GS1 carton labels, refusals (lot missing,
expired, over tolerance, SSCC twice, unknown GTIN reported), replays counted once, confirm posts in one go with
lots, moving-average cost and discrepancies; blind receipts; returns to supplier; FEFO and recall."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.identify.barcode import ParseOptions
from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import settings
from hub.kernel.errors import Conflict, Unprocessable
from hub.purchasing import costing, lots, orders, receiving
from tests.purchasing.conftest import MILK_CASE, RICE_CASE, carton

OPTS = ParseOptions()
FUTURE = (date.today() + timedelta(days=60)).isoformat()
SOON = (date.today() + timedelta(days=3)).isoformat()
PAST = (date.today() - timedelta(days=1)).isoformat()


def _sent_po(conn, s, milk_cases=2, rice_cases=1):
    po, _ = orders.create(
        conn,
        supplier_id=s["supplier"]["id"],
        actor="sup",
        role="supervisor",
        idempotency_key="po-1",
        lines=[{"item_id": s["milk"]["id"], "cases": milk_cases}, {"item_id": s["rice"]["id"], "cases": rice_cases}],
    )
    orders.submit(conn, po["id"], actor="sup", role="supervisor")
    orders.approve(conn, po["id"], actor="sup2", role="manager")
    return orders.send(conn, po["id"], actor="sup", role="supervisor")


def _scan(conn, rid, code, key, **kw):
    return receiving.scan(conn, rid, code=code, actor="assoc", idempotency_key=key, options=OPTS, **kw)


def test_receive_cases_lots_cost_and_discrepancies(hubctx, supplied):
    s = supplied
    with hubctx.db.write() as conn:
        ledger.post(conn, MovementRequest("receive", s["milk"]["id"], s["bin1"]["id"], 12, "opening", "t", "open-1"))
        po = _sent_po(conn, s)
        r, created = receiving.open_receipt(conn, po_id=po["id"], actor="assoc", idempotency_key="r-1")
        assert created and [ln["still_expected"] for ln in r["lines"]] == [24, 6]
        out = _scan(conn, r["id"], carton(MILK_CASE, lot="L1", expiry=FUTURE), "s-1")
        assert out["scan"]["qty"] == 12 and out["scan"]["lot"] == "L1" and out["scan"]["expiry"] == FUTURE
        again = _scan(conn, r["id"], carton(MILK_CASE, lot="L1", expiry=FUTURE), "s-1")  # replayed: once
        assert again["duplicate"] and again["line"]["scanned"] == 12
        out = _scan(conn, r["id"], carton(RICE_CASE, count=0 or None), "s-2", count=1)  # one rice case = 6
        assert out["line"]["still_expected"] == 0 and out["line"] == receiving.view(conn, r["id"])["lines"][1]
        # AI 02 + 37: a pallet layer of 1 case of milk (contained GTIN) with its lot
        out = _scan(conn, r["id"], carton(MILK_CASE, lot="L2", expiry=SOON, count=1, contained=True), "s-3")
        assert out["line"]["scanned"] == 24 and out["totals"]["units"] == 30
        done = receiving.confirm(conn, r["id"], actor="assoc", idempotency_key="c-1")
        assert not done["duplicate"] and done["po_status"] == "received"
        assert sorted((m["lot"], m["qty"]) for m in done["movements"] if m["lot"]) == [("L1", 12), ("L2", 12)]
        replay = receiving.confirm(conn, r["id"], actor="assoc", idempotency_key="c-1")
        assert replay["duplicate"]
        with pytest.raises(Conflict) as e:
            receiving.confirm(conn, r["id"], actor="other", idempotency_key="c-2")
        assert e.value.code == "receipt_already_confirmed"
        milk_total = ledger.on_hand_total(conn, s["milk"]["id"])["on_hand"]
        assert milk_total == 36
        # moving average: 12 at the catalog's 800, then 24 at 700 → (12×800 + 24×700) / 36 = 733.33 → 733
        assert costing.average(conn, s["milk"]["id"]) == 733
        by_lot = {(x["lot"], x["location_code"]): x["qty"] for x in lots.stock_by_lot(conn, s["milk"]["id"])}
        assert by_lot == {("L1", "STORE"): 12, ("L2", "STORE"): 12, ("", "A01-01"): 12}
        assert lots.mismatches(conn) == []
        near = conn.execute("SELECT subject FROM alerts WHERE kind = 'near_expiry' AND cleared_at IS NULL").fetchall()
        assert [x[0] for x in near] == [f"lot:{s['milk']['id']}:L2"]
        n = conn.execute("SELECT COUNT(*) FROM movements WHERE kind = 'receive' AND ref = ?", (f"po:{po['id']}",))
        assert n.fetchone()[0] == 3


def test_refusals_are_clear_and_store_nothing(hubctx, supplied):
    s = supplied
    with hubctx.db.write() as conn:
        settings.put(conn, "purchasing.over_receipt_tolerance_pct", 10)
        po = _sent_po(conn, s, milk_cases=2)
        r, _ = receiving.open_receipt(conn, po_id=po["id"], actor="assoc", idempotency_key="r-1")
        with pytest.raises(Unprocessable) as e:
            _scan(conn, r["id"], carton(MILK_CASE, expiry=FUTURE), "s-1")
        assert e.value.code == "lot_required"
        with pytest.raises(Unprocessable) as e:
            _scan(conn, r["id"], carton(MILK_CASE, lot="OLD", expiry=PAST), "s-2")
        assert e.value.code == "expired_on_receipt"
        _scan(conn, r["id"], carton(MILK_CASE, lot="A", expiry=FUTURE), "s-3", count=2)  # 24 of 24
        _scan(conn, r["id"], "5901234123457", "s-4", lot="A", count=2)  # 26: within 10 %
        with pytest.raises(Conflict) as e:
            _scan(conn, r["id"], "5901234123457", "s-5", lot="A", count=1)  # 27 > 26.4
        assert e.value.code == "over_tolerance" and e.value.details["ordered"] == 24
        sscc = "106141412345678908"
        _scan(conn, r["id"], "]C100" + sscc, "s-6")
        with pytest.raises(Conflict) as e:
            _scan(conn, r["id"], "]C100" + sscc, "s-7")
        assert e.value.code == "sscc_already_received"
        unknown = carton("10000000000007"[:13] + "7", lot="X")
        out = _scan(conn, r["id"], unknown, "s-8")
        assert out["refused"]["code"] == "unknown_code"
        replay = _scan(conn, r["id"], unknown, "s-8")
        assert replay["duplicate"] and replay["refused"]["code"] == "unknown_code"
        assert conn.execute("SELECT COUNT(*) FROM unknown_codes WHERE code = ?", (unknown,)).fetchone()[0] == 1
        view = receiving.view(conn, r["id"])
        assert view["lines"][0]["scanned"] == 26 and view["ssccs"] == [sscc]
        done = receiving.confirm(
            conn, r["id"], actor="assoc", idempotency_key="c-1", reasons={s["rice"]["id"]: "damaged"}
        )
    kinds = {(d["kind"], d["reason"]) for d in done["discrepancies"]}
    assert kinds == {("over", "over_shipped"), ("under", "damaged")}
    assert done["po_status"] == "partly_received"


def test_wrong_item_is_a_discrepancy_not_stock_and_blind_hides_expected(hubctx, supplied):
    s = supplied
    with hubctx.db.write() as conn:
        po, _ = orders.create(
            conn,
            supplier_id=s["supplier"]["id"],
            actor="sup",
            role="supervisor",
            idempotency_key="po-2",
            lines=[{"item_id": s["milk"]["id"], "cases": 1}],
        )
        orders.submit(conn, po["id"], actor="sup", role="supervisor")
        orders.approve(conn, po["id"], actor="sup2", role="supervisor")
        r, _ = receiving.open_receipt(conn, po_id=po["id"], actor="assoc", idempotency_key="r-2", blind=True)
        assert r["lines"][0]["ordered"] is None and r["lines"][0]["still_expected"] is None
        out = _scan(conn, r["id"], carton(RICE_CASE), "s-1")
        assert out["scan"]["on_po"] is False and out["not_on_order"]["scanned"] == 6
        assert out["line"] is None and out["not_on_order"] == receiving.view(conn, r["id"])["not_on_order"][0]
        _scan(conn, r["id"], carton(MILK_CASE, lot="B", expiry=FUTURE), "s-2")
        done = receiving.confirm(conn, r["id"], actor="assoc", idempotency_key="c-1")
        assert done["lines"][0]["ordered"] == 12  # shown once confirmed
        assert [(d["kind"], d["expected"], d["received"]) for d in done["discrepancies"]] == [("wrong_item", 0, 6)]
        assert ledger.on_hand_total(conn, s["rice"]["id"])["on_hand"] == 0


def test_return_to_supplier_takes_the_lot_and_fefo_and_recall(hubctx, supplied):
    s = supplied
    milk, store = s["milk"]["id"], None
    with hubctx.db.write() as conn:
        po = _sent_po(conn, s, milk_cases=2, rice_cases=1)
        r, _ = receiving.open_receipt(conn, po_id=po["id"], actor="assoc", idempotency_key="r-1")
        _scan(conn, r["id"], carton(MILK_CASE, lot="LATE", expiry=FUTURE), "s-1")
        _scan(conn, r["id"], carton(MILK_CASE, lot="EARLY", expiry=SOON), "s-2")
        receiving.confirm(conn, r["id"], actor="assoc", idempotency_key="c-1")
        store = r["location_id"]
        # a sale takes the first-expiring lot
        ledger.post(conn, MovementRequest("sale", milk, store, 5, "sale", "till-1", "sale-1", ref="receipt-77"))
        by_lot = {x["lot"]: x["qty"] for x in lots.stock_by_lot(conn, milk)}
        assert by_lot == {"EARLY": 7, "LATE": 12}
        # a transfer keeps the lots
        ledger.transfer(
            conn,
            item_id=milk,
            from_location=store,
            to_location=s["bin1"]["id"],
            qty=8,
            reason="shelf",
            actor="t",
            idempotency_key="tr-1",
        )
        assert lots.mismatches(conn) == []
        row, created = receiving.return_to_supplier(
            conn,
            supplier_id=s["supplier"]["id"],
            item_id=milk,
            location_id=store,
            qty=4,
            lot="LATE",
            reason="damaged",
            actor="sup",
            role="supervisor",
            idempotency_key="rtv-1",
        )
        again, created2 = receiving.return_to_supplier(
            conn,
            supplier_id=s["supplier"]["id"],
            item_id=milk,
            location_id=store,
            qty=4,
            lot="LATE",
            reason="damaged",
            actor="sup",
            role="supervisor",
            idempotency_key="rtv-1",
        )
        assert created and not created2 and again["id"] == row["id"]
        assert ledger.on_hand_total(conn, milk)["on_hand"] == 24 - 5 - 4
        assert lots.mismatches(conn) == []
        rec = lots.recall(conn, "EARLY", item_id=milk)
    assert rec["on_hand_total"] == 7 and {x["location_code"] for x in rec["on_hand"]} <= {"STORE", "A01-01"}
    assert rec["sold"] == [{"ref": "receipt-77", "qty": 5, "ts": rec["sold"][0]["ts"]}]
    assert rec["received"][0]["po_number"] == po["number"] and rec["received"][0]["qty"] == 12
    late = lots.recall(hubctx.db.read(), "LATE")
    assert late["returned_to_supplier"][0]["qty"] == 4 and late["on_hand_total"] == 8

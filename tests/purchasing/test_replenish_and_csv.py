"""Replenishment (the formula, case packs, supplier minimum, draft orders replaced not piled up, demand kept by
the stock hook) and the supplier CSV import (all rows checked first, formula guard)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from statistics import NormalDist

import pytest

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import settings
from hub.purchasing import days, demand, lots, replenish, rules, suppliers, suppliers_csv
from hub.purchasing.suppliers_csv import SupplierImportError


def test_reorder_formula():
    lv = rules.reorder_levels(10.0, 3.0, 4, 0, 7, 0.95)
    z = NormalDist().inv_cdf(0.95)
    assert lv.safety_stock == math.ceil(z * 3 * 2)  # z·σ·√L = 1.645·3·2 → 10
    assert lv.reorder_point == math.ceil(40 + z * 6)  # 50
    assert lv.order_up_to == math.ceil(110 + z * 3 * math.sqrt(11))
    assert rules.round_to_cases(13, 12) == 24 and rules.round_to_cases(0, 12) == 0
    assert rules.moving_average(-5, 900, 10, 700) == 700 and rules.moving_average(10, 900, 10, 700) == 800


def test_run_suggests_case_rounded_drafts_and_replaces_them(hubctx, supplied):
    s = supplied
    today = date.today()
    with hubctx.db.write() as conn:
        settings.put(conn, "purchasing.demand_window_days", 28)
        tz = days.zone(conn)
        for i in range(1, 29):  # milk sells 10 a day, rice 1 a day (every other day 2)
            day = (today - timedelta(days=i)).isoformat()
            conn.execute("INSERT INTO daily_sales(item_id, day, qty) VALUES (?,?,?)", (s["milk"]["id"], day, 10))
            conn.execute(
                "INSERT INTO daily_sales(item_id, day, qty) VALUES (?,?,?)", (s["rice"]["id"], day, 2 if i % 2 else 0)
            )
        conn.execute("UPDATE suppliers SET min_order_minor = 200000")
        out = replenish.run(conn, today=today, actor="system:test")
        by_item = {x["item_id"]: x for x in out["suggestions"]}
        milk = by_item[s["milk"]["id"]]
        assert milk["safety_stock"] == 0 and milk["reorder_point"] == 30  # σ = 0: ROP = 10 × 3 days
        assert milk["suggest"] % 12 == 0 and milk["suggest"] >= 100
        assert len(out["drafts"]) == 1 and out["drafts"][0]["total_minor"] >= 200000  # raised to the minimum
        first = out["drafts"][0]["po_id"]
        second = replenish.run(conn, today=today, actor="system:test")
        assert second["drafts"][0]["po_id"] == first  # replaced, not piled up
        assert conn.execute("SELECT COUNT(*) FROM purchase_orders").fetchone()[0] == 1
        # stock arrives: nothing needed any more, the draft is cancelled
        ledger.post(conn, MovementRequest("receive", s["milk"]["id"], s["bin1"]["id"], 1000, "r", "t", "k-m"))
        ledger.post(conn, MovementRequest("receive", s["rice"]["id"], s["bin1"]["id"], 1000, "r", "t", "k-r"))
        third = replenish.run(conn, today=today, actor="system:test")
        assert third["drafts"] == [] and conn.execute("SELECT status FROM purchase_orders").fetchone()[0] == "cancelled"
        assert replenish.params_of(conn, s["milk"]["id"])["reorder_point"] == 30
        _ = tz


def test_demand_hook_keeps_daily_sales(hubctx, supplied):
    s = supplied
    with hubctx.db.write() as conn:
        ledger.post(conn, MovementRequest("receive", s["rice"]["id"], s["bin1"]["id"], 10, "r", "t", "k1"))
        ledger.post(conn, MovementRequest("sale", s["rice"]["id"], s["bin1"]["id"], 3, "s", "t", "k2"))
        ledger.post(conn, MovementRequest("return", s["rice"]["id"], s["bin1"]["id"], 1, "r", "t", "k3"))
        day = days.today(conn).isoformat()
        assert demand.history(conn, s["rice"]["id"], since=day) == [{"day": day, "qty": 2}]
        assert demand.rebuild(conn) == 1 and demand.history(conn, s["rice"]["id"], since=day)[0]["qty"] == 2


def test_expiry_alerts_per_category_and_cleared_when_gone(hubctx, supplied):
    s = supplied
    milk = s["milk"]["id"]
    with hubctx.db.write() as conn:
        settings.put(conn, "purchasing.near_expiry_days", {"default": 2, "categories": {"": 10}})
        lots.intend(conn, "k-1", "A", (date.today() + timedelta(days=5)).isoformat())
        ledger.post(conn, MovementRequest("receive", milk, s["bin1"]["id"], 4, "r", "t", "k-1"))
        lots.intend(conn, "k-2", "B", (date.today() - timedelta(days=1)).isoformat())
        ledger.post(conn, MovementRequest("receive", milk, s["bin1"]["id"], 2, "r", "t", "k-2"))
        setting = settings.get(conn, "purchasing.near_expiry_days")
        assert lots.check_expiry(conn, today=date.today(), setting=setting) == {"raised": 2, "cleared": 0}
        assert lots.check_expiry(conn, today=date.today(), setting=setting) == {"raised": 0, "cleared": 0}
        kinds = dict(conn.execute("SELECT subject, kind FROM alerts WHERE cleared_at IS NULL").fetchall())
        assert kinds == {f"lot:{milk}:A": "near_expiry", f"lot:{milk}:B": "expired_stock"}
        ledger.post(conn, MovementRequest("writeoff", milk, s["bin1"]["id"], 2, "expired", "t", "k-3"))  # FEFO: B
        assert lots.check_expiry(conn, today=date.today(), setting=setting) == {"raised": 0, "cleared": 1}


CSV_SUPPLIERS = (
    "code,name,contact_name,phone,email,lead_time_days,min_order_minor,payment_terms,active\r\n"
    "FRESH,Fresh Farms,Li Na,+86 10 1234,li@fresh.example,2,50000,NET15,true\r\n"
    "GRAIN,'=Grain Co,,,,5,0,NET30,yes\r\n"
)


def test_supplier_csv_import_checks_every_row_first(hubctx, supplied):
    with hubctx.db.write() as conn:
        out = suppliers_csv.import_csv(conn, "suppliers", CSV_SUPPLIERS.encode(), actor="m", today="2024-01-01")
        assert out["rows"] == 2 and suppliers.get_by_code(conn, "GRAIN")["name"] == "=Grain Co"
        bad = (
            "supplier_code,sku,case_gtin,case_units,cost_minor,valid_from,preferred\r\n"
            "FRESH,MILK-1L,15901234123454,12,650,2024-01-01,false\r\n"  # taken by DAIRY's case
            "FRESH,RICE-5KG,05901234123457,6,3100,,false\r\n"  # indicator 0
            "NOPE,APPLE,,1,700,,false\r\n"
            "GRAIN,RICE-5KG,,6,abc,,false\r\n"
        )
        with pytest.raises(SupplierImportError) as e:
            suppliers_csv.import_csv(conn, "items", bad.encode(), actor="m", today="2024-01-01")
        errs = {(x["row"], x["field"]) for x in e.value.details}
        assert {(2, "case_gtin"), (3, "case_gtin"), (4, "supplier_code"), (5, "cost_minor")} <= errs
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM supplier_items si JOIN suppliers s ON s.id = si.supplier_id "
                "WHERE s.code IN ('FRESH','GRAIN')"
            ).fetchone()[0]
            == 0
        )
        good = (
            "supplier_code,sku,supplier_sku,case_gtin,case_units,cost_minor,valid_from,valid_to,preferred\r\n"
            "FRESH,APPLE,F-APL,,1,650,2024-01-01,2024-06-30,false\r\n"
            "FRESH,APPLE,F-APL,,1,690,2024-07-01,,false\r\n"
        )
        suppliers_csv.import_csv(conn, "items", good.encode(), actor="m", today="2024-01-01")
        fresh = suppliers.get_by_code(conn, "FRESH")["id"]
        apple = supplied["apples"]["id"]
        assert suppliers.cost_on(conn, fresh, apple, "2024-03-01") == 650
        assert suppliers.cost_on(conn, fresh, apple, "2024-08-01") == 690

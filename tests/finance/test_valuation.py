"""Inventory valuation (issue 18): COGS at the moving-average cost of the moment (purchasing's average, updated by
each receipt), shrink at cost from counts and write-offs, returns back at the cost they left with, the facts for
the central, stock value at a past date against a hand fold of the ledger, gross margin, the routes and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from hub.finance import valuation
from hub.inventory import ledger
from hub.kernel.errors import ValidationError
from hub.protocol.timeutil import iso
from hub.purchasing import costing

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai (the test store's zone is UTC)


@pytest.fixture
def clock(monkeypatch):
    """The ledger's clock, moved by hand so movements land at known times."""
    now = {"t": T0}
    monkeypatch.setattr(ledger, "now_iso", lambda: iso(now["t"]))
    return now


def _post(conn, kind, item, loc, qty, key=None, ref=None):
    return ledger.post(
        conn, ledger.MovementRequest(kind, item, loc, qty, kind, "test", key or ledger.new_key(), ref=ref)
    )


def _receive(conn, item, loc, qty, unit_cost):
    before = ledger.on_hand_total(conn, item)["on_hand"]
    m = _post(conn, "receive", item, loc, qty)
    costing.on_receipt(conn, m, on_hand_before=before, unit_cost_minor=unit_cost)
    return m


def _has(d, want) -> bool:
    return {k: d.get(k) for k in want} == want


def _cost(conn, m):
    return valuation.costs_of(conn, m["id"])


def test_cogs_at_the_moving_average_of_the_moment_across_a_cost_change(hubctx, sample, clock):
    milk, loc = sample["milk"]["id"], sample["bin1"]["id"]
    with hubctx.db.write() as conn:
        _receive(conn, milk, loc, 10, 800)
        s1 = _post(conn, "sale", milk, loc, 3)
        _receive(conn, milk, loc, 10, 1100)  # avg = (7·800 + 10·1100) / 17 = 976.47 → 976
        s2 = _post(conn, "sale", milk, loc, 2)
        ret = _post(conn, "return", milk, loc, 1)  # back at the cost it left with (976)
        transfer = ledger.transfer(
            conn,
            item_id=milk,
            from_location=loc,
            to_location=sample["bin2"]["id"],
            qty=1,
            reason="t",
            actor="t",
            idempotency_key="tr-1",
        )
        _receive(conn, milk, loc, 4, 2000)  # a later cost does not move the return's value
    conn = hubctx.db.read()
    assert _has(_cost(conn, s1), {"line": "cogs", "unit_cost_minor": 800, "value_minor": -2400, "qty_delta": -3})
    assert costing.average(conn, milk) != 976
    assert _cost(conn, s2)["unit_cost_minor"] == 976
    assert _cost(conn, s2)["value_minor"] == -1952
    assert _cost(conn, ret)["unit_cost_minor"] == 976 and _cost(conn, ret)["value_minor"] == 976
    assert all(_cost(conn, m) is None for m in transfer)  # a transfer keeps the value in the store
    facts = [
        json.loads(r[0])
        for r in conn.execute("SELECT payload FROM outbox WHERE kind = 'finance.stock_cost' ORDER BY seq")
    ]
    assert [(f["kind"], f["value_minor"]) for f in facts] == [("sale", -2400), ("sale", -1952), ("return", 976)]
    assert facts[0]["category"] == sample["milk"]["category"]


def test_kg_items_are_costed_per_kg(hubctx, sample, clock):
    apples, loc = sample["apples"]["id"], sample["bin1"]["id"]
    with hubctx.db.write() as conn:
        _receive(conn, apples, loc, 5000, 640)  # 5 kg at 6.40/kg
        s = _post(conn, "sale", apples, loc, 1234)  # 1.234 kg → 7.8976 → 790
    assert valuation.costs_of(hubctx.db.read(), s["id"])["value_minor"] == -790


def test_shrink_at_cost_from_a_count_and_a_writeoff(hubctx, sample, clock):
    rice, loc = sample["rice"]["id"], sample["bin1"]["id"]
    with hubctx.db.write() as conn:
        _receive(conn, rice, loc, 20, 3000)  # no stock before: the average is the receipt's 3000
        count = _post(conn, "count", rice, loc, -3)  # the approved count found 3 fewer
        woff = _post(conn, "writeoff", rice, loc, 1)
        gain = _post(conn, "count", rice, loc, 2)  # a later count found 2 more
    conn = hubctx.db.read()
    assert _has(_cost(conn, count), {"line": "shrink", "kind": "count", "unit_cost_minor": 3000, "value_minor": -9000})
    assert _cost(conn, woff)["value_minor"] == -3000
    assert _cost(conn, gain)["value_minor"] == 6000
    day = T0.date().isoformat()
    m = valuation.margin(conn, day, day, by="store")
    assert m["totals"]["shrink_minor"] == 9000 + 3000 - 6000
    assert m["totals"]["cogs_minor"] == 0


def test_stock_value_at_a_past_date_equals_a_hand_fold(hubctx, sample, clock):
    milk, rice, apples = sample["milk"]["id"], sample["rice"]["id"], sample["apples"]["id"]
    b1, b2 = sample["bin1"]["id"], sample["bin2"]["id"]
    plan = [  # (day offset, kind, item, location, qty, unit cost of a receipt)
        (0, "receive", milk, b1, 10, 800),
        (0, "receive", rice, b2, 4, 3600),
        (0, "sale", milk, b1, 2, None),
        (1, "receive", apples, b1, 3000, 650),
        (1, "receive", milk, b2, 6, 1000),
        (2, "sale", milk, b1, 5, None),
        (2, "writeoff", rice, b2, 1, None),
        (3, "receive", rice, b2, 4, 4000),
        (3, "sale", apples, b1, 500, None),
    ]
    with hubctx.db.write() as conn:
        for off, kind, item, loc, qty, cost in plan:
            clock["t"] = T0 + timedelta(days=off, hours=1)
            if kind == "receive":
                _receive(conn, item, loc, qty, cost)
            else:
                _post(conn, kind, item, loc, qty)
        clock["t"] = T0 + timedelta(days=4)
        _post(conn, "sale", rice, b2, 1)
    conn = hubctx.db.read()

    def fold(upto_day: int) -> int:
        on_hand: dict[str, int] = {}
        avg: dict[str, int] = {}
        for off, kind, item, _loc, qty, cost in plan:
            if off > upto_day:
                break
            before = on_hand.get(item, 0)
            if kind == "receive":
                avg[item] = (
                    cost
                    if before <= 0 or item not in avg
                    else round((before * avg[item] + qty * cost) / (before + qty))
                )
                on_hand[item] = before + qty
            else:
                on_hand[item] = before - qty
        total = 0
        for item, q in on_hand.items():
            unit = "kg" if item == apples else "each"
            total += valuation.line_value(q, avg[item], unit) if q > 0 else 0
        return total

    # milk after day 1: 8 at 800 and 6 at 1000 → (8·800 + 6·1000) / 14 = 885.71 → 886
    assert fold(1) == 14 * 886 + 4 * 3600 + (3000 * 650 + 500) // 1000
    for off in range(4):
        day = (T0 + timedelta(days=off)).date().isoformat()
        assert valuation.stock_value(conn, day)["value_minor"] == fold(off), day
    before_all = (T0 - timedelta(days=1)).date().isoformat()
    assert _has(valuation.stock_value(conn, before_all), {"value_minor": 0, "items": 0})
    by_item = valuation.stock_value(conn, (T0 + timedelta(days=1)).date().isoformat(), by="item")
    assert sum(r["value_minor"] for r in by_item["lines"]) == fold(1)
    assert {r["sku"]: r["qty"] for r in by_item["lines"]} == {"MILK-1L": 14, "RICE-5KG": 4, "APPLE": 3000}
    with pytest.raises(ValidationError) as e:
        valuation.stock_value(conn, "2026-02-30")
    assert e.value.code == "invalid_valuation_date"


def test_margin_per_item_category_and_store_through_a_real_sale(hubctx, sample, client, auth, clock):
    milk, loc = sample["milk"]["id"], sample["store"]["id"]  # the till sells from the STORE location
    clock["t"] = datetime.now(UTC)
    with hubctx.db.write() as conn:
        _receive(conn, milk, loc, 10, 700)
    r = client.post("/api/v1/checkout/tills/T1/shifts", json={"float_counted": {"10000": 1}}, headers=auth())
    assert r.status_code == 201, r.get_json()
    cart = client.post("/api/v1/checkout/tills/T1/carts", json={}, headers=auth()).get_json()
    for _ in range(2):
        assert (
            client.post(
                f"/api/v1/checkout/carts/{cart['id']}/scan", json={"code": "5901234123457"}, headers=auth()
            ).status_code
            == 200
        )
    r = client.post(
        f"/api/v1/checkout/carts/{cart['id']}/tenders",
        json={"method": "cash", "idempotency_key": "margin-sale-0001", "received_minor": 5000},
        headers=auth(),
    )
    assert r.status_code == 200, r.get_json()
    sale = r.get_json()["sale"]
    line = (
        hubctx.db.read()
        .execute(
            "SELECT net_minor, tax_minor FROM checkout_sale_lines l JOIN checkout_sales s ON s.id = l.sale_id"
            " WHERE s.receipt_code = ?",
            (sale["receipt_code"],),
        )
        .fetchone()
    )
    day = datetime.now(UTC).date().isoformat()
    r = client.get(f"/api/v1/finance/margin?from={day}&to={day}&by=item", headers=auth("supervisor"))
    assert r.status_code == 200, r.get_json()
    (row,) = r.get_json()["rows"]
    ex_tax = line[0] - line[1]
    assert _has(
        row,
        {
            "sku": "MILK-1L",
            "qty": 2,
            "net_sales_minor": ex_tax,
            "cogs_minor": 1400,
            "gross_margin_minor": ex_tax - 1400,
        },
    )
    r = client.get(f"/api/v1/finance/stock-value?at={day}&by=category", headers=auth("supervisor"))
    assert r.get_json()["value_minor"] == 8 * 700
    assert client.get(f"/api/v1/finance/stock-value?at={day}", headers=auth("associate")).status_code == 403
    assert client.get("/api/v1/finance/stock-value?at=yesterday", headers=auth("supervisor")).status_code == 400


def test_cli_stock_value_and_margin(hubctx, sample, clock, data_dir):
    from hub.finance.valuation_cli import valuation_group

    with hubctx.db.write() as conn:
        _receive(conn, sample["rice"]["id"], sample["bin1"]["id"], 3, 3300)
    day = T0.date().isoformat()
    out = CliRunner().invoke(valuation_group, ["stock-value", "--data-dir", str(data_dir), "--at", day])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["value_minor"] == 9900
    out = CliRunner().invoke(valuation_group, ["stock-value", "--data-dir", str(data_dir), "--at", "nope"])
    assert out.exit_code == 1 and json.loads(out.output)["error"]["code"] == "invalid_valuation_date"


def test_an_approved_stocktake_count_is_shrink_at_the_moving_average(hubctx, sample, clock):
    from hub.stocktake import approval, scans, sessions

    milk, loc = sample["milk"]["id"], sample["bin1"]["id"]
    with hubctx.db.write() as conn:
        _receive(conn, milk, loc, 10, 1000)  # the average (10.00) is not the catalog cost (8.00)
    with hubctx.db.write() as conn:
        s, _ = sessions.create(conn, name="Weekly", actor="sup", uncounted="exclude")
        scans.record_scan(conn, s["id"], counter="u1", client_key="k-shelf", code="SHL-A01-01")
        scans.record_scan(conn, s["id"], counter="u1", client_key="k-milk", code="5901234123457", qty=7)
        sessions.close(conn, s["id"], actor="sup")
        approval.approve(conn, s["id"], actor="sup", role="supervisor", idempotency_key="approve-weekly-1")
    conn = hubctx.db.read()
    rows = [dict(r) for r in conn.execute("SELECT * FROM finance_stock_costs WHERE kind = 'count'")]
    assert [(r["qty_delta"], r["unit_cost_minor"], r["value_minor"], r["line"]) for r in rows] == [
        (-3, 1000, -3000, "shrink")
    ]
    day = T0.date().isoformat()
    assert valuation.margin(conn, day, day, by="store")["totals"]["shrink_minor"] == 3000
    assert valuation.stock_value(conn, day)["value_minor"] == 7 * 1000

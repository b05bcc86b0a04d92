"""Returns, shifts, cash, X/Z reports, the journal's chain, the printer simulator, and the property that the
ledger, journal, tenders and Z totals agree to the fen."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from devices.printer.documents import layout
from devices.printer.render import render
from devices.sim.escpos_decode import decode
from hub.checkout import journal
from hub.inventory import ledger
from hub.kernel import settings
from tests.support.common import ROOT


def _sale(till, codes, **pay):
    c = till.cart()
    for code in codes:
        till.scan(c["id"], code)
    return till.pay(c["id"], **pay)["sale"]


def test_partial_and_whole_returns_refund_what_was_paid(till, hubctx):
    sale = _sale(till, ["5901234123457", "5901234123457", "5901234123457", "96385074"])  # 3 × 12.50 + 49.90
    s = till.call("GET", f"/sales/{sale['receipt_code']}")
    milk = next(ln for ln in s["lines"] if ln["sku"] == "MILK-1L")
    r1 = till.call(
        "POST",
        "/returns",
        {
            "till_id": "T1",
            "receipt_code": sale["receipt_code"],
            "idempotency_key": "ret-000001",
            "lines": [{"line_no": milk["line_no"], "qty": 1}],
        },
        status=201,
    )
    assert r1["refund_minor"] == 1250 and r1["tenders"][0]["method"] == "cash"
    again = till.call(
        "POST",
        "/returns",
        {
            "till_id": "T1",
            "receipt_code": sale["receipt_code"],
            "idempotency_key": "ret-000001",
            "lines": [{"line_no": milk["line_no"], "qty": 1}],
        },
        status=201,
    )
    assert again["return_id"] == r1["return_id"]
    err = till.call(
        "POST",
        "/returns",
        {
            "till_id": "T1",
            "receipt_code": sale["receipt_code"],
            "idempotency_key": "ret-000002",
            "lines": [{"line_no": milk["line_no"], "qty": 3}],
        },
        status=409,
    )
    assert err["error"]["code"] == "return_exceeds_sale"
    rice = next(ln for ln in s["lines"] if ln["sku"] == "RICE-5KG")
    body = {
        "till_id": "T1",
        "receipt_code": sale["receipt_code"],
        "idempotency_key": "ret-000003",
        "lines": [
            {"line_no": milk["line_no"]},
            {"line_no": rice["line_no"], "disposition": "writeoff", "reason": "torn bag"},
        ],
    }
    with hubctx.db.write() as conn:
        settings.put(conn, "checkout.return_approval_limit_minor", 5000)
    err = till.call("POST", "/returns", body, status=403)  # ¥74.90 is above the ¥50 limit
    assert err["error"]["code"] == "approval_required"
    r2 = till.call("POST", "/returns", {**body, "approval_badge": "BADGE-supervisor"}, status=201)
    assert r1["refund_minor"] + r2["refund_minor"] == sale["tendered_minor"]
    conn = hubctx.db.read()
    assert ledger.on_hand_total(conn, till.shop["milk"]["id"])["on_hand"] == 0
    assert ledger.on_hand_total(conn, till.shop["rice"]["id"])["on_hand"] == -1  # written off
    assert journal.verify(conn)["ok"]


def test_card_sale_refunds_to_the_card(till):
    c = till.cart()
    till.scan(c["id"], "96385074")
    sale = till.pay(c["id"], "card", approval_code="XY12", card_last4="1111")["sale"]
    body = {
        "till_id": "T1",
        "receipt_code": sale["receipt_code"],
        "idempotency_key": "ret-card-01",
        "lines": [{"line_no": 1}],
    }
    err = till.call("POST", "/returns", body, status=400)
    assert err["error"]["code"] == "card_refund_approval_required"
    r = till.call("POST", "/returns", {**body, "card_approval_code": "RF99"}, status=201)
    assert [(t["method"], t["amount_minor"]) for t in r["tenders"]] == [("card", 4990)]


def test_shift_cash_blind_count_x_and_z(till, hubctx):
    _sale(till, ["96385074"], received_minor=5000)  # + 49.90 cash
    till.call(
        "POST",
        "/tills/T1/cash",
        {"kind": "paid_out", "amount_minor": 1000, "reason": "window cleaner", "idempotency_key": "cash-0000001"},
        role="supervisor",
        status=201,
    )
    till.call(
        "POST",
        "/tills/T1/cash",
        {"kind": "safe_drop", "amount_minor": 10000, "reason": "safe", "idempotency_key": "cash-0000002"},
        role="supervisor",
        status=201,
    )
    x = till.call("GET", "/tills/T1/x-report", role="supervisor")
    expected = 20000 + 4990 - 1000 - 10000
    assert x["totals"]["cash_expected_minor"] == expected and x["totals"]["sales"] == 1
    err = till.call("POST", "/tills/T1/z-report", role="supervisor", status=409)
    assert err["error"]["code"] == "shift_open"
    closed = till.call("POST", "/tills/T1/shifts/close", {"counted": {"5000": 2, "1000": 3, "100": 9, "10": 9}})
    assert closed["expected_minor"] == expected and closed["over_short_minor"] == 13990 - expected
    z = till.call("POST", "/tills/T1/z-report", role="supervisor", status=201)
    assert z["z_number"] == 1 and z["totals"]["net_sales_minor"] == 4990 and z["totals"]["tenders"] == {"cash": 4990}
    err = till.call("POST", "/tills/T1/shifts", {"float_minor": 1000}, status=409)
    assert err["error"]["code"] == "day_closed"  # a till cannot sell on a closed day
    err = till.call("POST", "/tills/T1/z-report", role="supervisor", status=409)
    assert err["error"]["code"] == "day_closed"
    facts = [
        json.loads(r[0])
        for r in hubctx.db.read().execute("SELECT payload FROM outbox WHERE kind = 'checkout.z_report'")
    ]
    assert facts[0]["z_number"] == 1


def test_printer_simulator_decodes_the_receipt_and_the_drawer_pulse(till, hubctx):
    with hubctx.db.write() as conn:
        settings.put(conn, "receipt_footer", "Thank you / 谢谢")
    sale = _sale(till, ["5901234123457", "96385074"], received_minor=10000)
    rows = (
        hubctx.db.read()
        .execute("SELECT payload FROM device_commands WHERE action = 'print' ORDER BY created_at")
        .fetchall()
    )
    doc = json.loads(rows[-1][0])["document"]
    jobs = decode(render(layout(doc, width=42), cjk=True))
    text = [ln for j in jobs for ln in j.lines]
    assert any(ln.startswith("TOTAL") and ln.endswith("62.40") for ln in text)
    assert any("Change" in ln and ln.endswith("37.60") for ln in text)
    assert [b["value"] for j in jobs for b in j.barcodes] == [sale["receipt_code"]]
    assert any(e["type"] == "drawer" for j in jobs for e in j.elements)
    till.call("POST", f"/sales/{sale['id']}/reprint")
    copy = json.loads(
        hubctx.db.read()
        .execute("SELECT payload FROM device_commands WHERE action = 'print' ORDER BY created_at DESC LIMIT 1")
        .fetchone()[0]
    )["document"]
    jobs = decode(render(layout(copy, width=42), cjk=True))
    assert "*** COPY ***" in [ln.strip() for j in jobs for ln in j.lines]
    assert not any(e["type"] == "drawer" for j in jobs for e in j.elements)


def test_verify_journal_cli_finds_a_tampered_entry(till, hubctx, data_dir):
    _sale(till, ["96385074"])
    _sale(till, ["5901234123457"])
    cmd = [sys.executable, "-m", "hub.cli", "checkout", "verify-journal", "--data-dir", str(data_dir), "--json"]
    ok = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout)["entries"] == 3, ok.stderr
    with hubctx.db.write() as conn:
        with pytest.raises(Exception, match="append-only"):
            conn.execute("UPDATE checkout_journal SET body = '{}' WHERE seq = 2")
        conn.execute("DROP TRIGGER checkout_journal_no_update")  # an attacker with the file
        conn.execute("UPDATE checkout_journal SET body = replace(body, '4990', '499') WHERE seq = 2")
    bad = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 1 and json.loads(bad.stdout)["problems"][0]["seq"] == 2


_CODES = ["5901234123457", "96385074", "6901234567892"]


# The examples share one hub (a function-scoped fixture), so no draw's bounds may depend on the hub's state
# (hypothesis replays choice sequences), and the run is derandomized: the same on every machine.
@hsettings(
    max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_ledger_journal_tenders_and_z_agree_to_the_fen(till, hubctx, data):
    conn = hubctx.db.read()
    step = data.draw(st.sampled_from([1, 10]))
    with hubctx.db.write() as w:
        settings.put(
            w, "checkout.cash_rounding", {"step_minor": step, "mode": data.draw(st.sampled_from(["half_up", "down"]))}
        )
        settings.put(w, "checkout.return_approval_limit_minor", 10**7)
    for _ in range(data.draw(st.integers(1, 3))):
        c = till.cart()
        for code in data.draw(st.lists(st.sampled_from(_CODES), min_size=1, max_size=4)):
            c = till.scan(c["id"], code, qty=data.draw(st.integers(1, 3)))
        if data.draw(st.booleans()):
            ln = c["lines"][0]
            till.call(
                "POST",
                f"/carts/{c['id']}/lines/{ln['id']}/discount",
                {"amount_minor": min(data.draw(st.integers(1, 1999)), ln["net_minor"]), "reason": "r"},
            )
            c = till.call("GET", f"/carts/{c['id']}")
        if data.draw(st.booleans()) and c["total_minor"] > 1:
            share = data.draw(st.integers(1, 999))  # of 1,000: never a bound that depends on the hub's state
            till.pay(
                c["id"],
                "card",
                amount_minor=max(1, (c["total_minor"] - 1) * share // 1000),
                approval_code="OK1",
                card_last4="4242",
            )
        sale = till.pay(c["id"], received_minor=10**6)["sale"]
        s = till.call("GET", f"/sales/{sale['receipt_code']}")
        for ln in s["lines"]:
            if data.draw(st.booleans()):
                drawn = data.draw(st.integers(1, 3))
                qty = ln["qty"] if ln["weighed"] else min(drawn, ln["qty"])
                till.call(
                    "POST",
                    "/returns",
                    {
                        "till_id": "T1",
                        "receipt_code": sale["receipt_code"],
                        "idempotency_key": uuid.uuid4().hex,
                        "card_approval_code": "RF1",
                        "lines": [{"line_no": ln["line_no"], "qty": qty}],
                    },
                    status=201,
                )
    date = conn.execute("SELECT business_date FROM checkout_shifts WHERE status = 'open'").fetchone()[0]
    x = till.call("GET", "/tills/T1/x-report", role="supervisor")["totals"]
    tender_net = sum(x["tenders"].values())
    # tenders = sales − refunds + rounding (Z totals)
    assert tender_net == x["net_sales_minor"] - x["refunds_minor"] + x["rounding_minor"]
    # the journal says the same
    entries = [
        json.loads(r[0]) | {"kind": r[1]}
        for r in conn.execute(
            "SELECT body, kind FROM checkout_journal WHERE kind IN ('sale','return') AND business_date = ?", (date,)
        )
    ]
    j_in = sum(e["tendered_minor"] for e in entries if e["kind"] == "sale")
    j_out = sum(e["refund_minor"] + e["rounding_minor"] for e in entries if e["kind"] == "return")
    assert j_in - j_out == tender_net
    assert sum(ln["net_minor"] for e in entries if e["kind"] == "sale" for ln in e["lines"]) == x["net_sales_minor"]
    # the ledger moved exactly the quantities sold less those returned
    sold = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT item_id, SUM(CASE s.kind WHEN 'sale' THEN l.qty ELSE -l.qty END)"
            " FROM checkout_sale_lines l JOIN checkout_sales s ON s.id = l.sale_id"
            " GROUP BY item_id"
        )
    }
    for item_id, qty in sold.items():
        assert -ledger.on_hand_total(conn, item_id)["on_hand"] == qty
    assert journal.verify(conn)["ok"]

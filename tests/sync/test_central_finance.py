"""P&L per store and budgets at the central (issue 18): two real hubs — one selling at its till, one moving stock
by the ledger — push their facts through the real sync path into the central (PostgreSQL and SQLite); COGS and
shrink come from the hubs' ``finance.stock_cost`` facts at the cost of the moment, sales from the sales
projection; other expenses and budgets are imported as CSV over the read API; actual vs budget flags the adverse
variances; a budget file naming an unknown store is refused with its line number and nothing of it is imported."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from hub.checkout import rules as checkout_rules
from hub.inventory import ledger
from sync.central import finance, office, stores
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from sync.central.members import points_entries
from sync.worker import SyncWorker, WorkerConfig
from tests.support.sync import ThreadedCentral, central_db_url, make_hub

STORE_A, STORE_B = "store-a", "store-b"


def _till(client, auth, path, body=None, status=200):
    r = client.post(f"/api/v1/checkout{path}", json=body, headers=auth("associate"))
    assert r.status_code == status, (path, r.status_code, r.get_json())
    return r.get_json()


def _push(db, url, store, secret):
    worker = SyncWorker(db, WorkerConfig(central_url=url, store_id=store, secret=secret))
    while worker.push_once():
        pass


@pytest.fixture(params=["postgres", "sqlite"])
def central(request, tmp_path, client, auth, sample, hubctx):
    milk, store_loc = sample["milk"]["id"], sample["store"]["id"]
    # store A: 10 milk in at the catalog cost (8.00), 2 sold at the till (12.50 each, VAT 13 %), 1 short at a count
    with hubctx.db.write() as conn:
        ledger.post(conn, ledger.MovementRequest("receive", milk, store_loc, 10, "opening", "t", ledger.new_key()))
    _till(client, auth, "/tills/T1/shifts", {"float_counted": {"10000": 1}}, status=201)
    cart = _till(client, auth, "/tills/T1/carts", {}, status=201)
    for _ in range(2):
        _till(client, auth, f"/carts/{cart['id']}/scan", {"code": "5901234123457"})
    _till(
        client,
        auth,
        f"/carts/{cart['id']}/tenders",
        {"method": "cash", "idempotency_key": uuid.uuid4().hex, "received_minor": 3000},
    )
    with hubctx.db.write() as conn:
        ledger.post(conn, ledger.MovementRequest("count", milk, store_loc, -1, "count", "t", ledger.new_key()))
    # store B: 5 milk sold and 2 written off by the ledger (cost 8.00 each)
    _cfg, db_b, ctx_b = make_hub(tmp_path / "hub-b", STORE_B)
    with db_b.write() as conn:
        m, b1 = ctx_b["items"][0], ctx_b["bins"][0]
        ledger.post(conn, ledger.MovementRequest("sale", m, b1, 5, "pos sale", "t", ledger.new_key()))
        ledger.post(conn, ledger.MovementRequest("writeoff", m, b1, 2, "broken", "t", ledger.new_key()))
    with central_db_url(request.param, tmp_path, "fin") as url:
        engine = make_engine(url)
        app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
        server = ThreadedCentral(app)
        office.add_user(engine, "olivia", "office-pass-123", "admin")
        office.add_user(engine, "victor", "office-pass-456", "viewer")
        _push(hubctx.db, server.url, STORE_A, stores.add_store(engine, STORE_A))
        _push(db_b, server.url, STORE_B, stores.add_store(engine, STORE_B))
        try:
            yield {"engine": engine, "app": app}
        finally:
            server.close()
            engine.dispose()
            db_b.close()


def _token(c, user, password):
    r = c.post("/api/v1/auth/token", json={"username": user, "password": password})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _month(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(select(func.min(finance.finance_cost_daily.c.day))).scalar().isoformat()[:7]


def test_pnl_of_two_stores_with_budget_variance(central):
    engine, c = central["engine"], central["app"].test_client()
    month = _month(engine)
    admin, viewer = _token(c, "olivia", "office-pass-123"), _token(c, "victor", "office-pass-456")
    net, vat = 2500, checkout_rules.tax_included(2500, "0.13")

    r = c.get(f"/api/v1/finance/pnl?month={month}", headers=viewer)
    assert r.status_code == 200, r.get_json()
    pnl = r.get_json()
    a, b = (next(s for s in pnl["stores"] if s["store_id"] == x) for x in (STORE_A, STORE_B))
    assert (a["net_sales_minor"], a["vat_minor"], a["net_sales_ex_vat_minor"]) == (net, vat, net - vat)
    assert (a["cogs_minor"], a["shrink_minor"], a["gross_margin_minor"]) == (1600, 800, net - vat - 1600)
    assert (b["net_sales_minor"], b["cogs_minor"], b["shrink_minor"]) == (0, 4000, 1600)
    assert pnl["total"]["cogs_minor"] == 5600 and pnl["total"]["shrink_minor"] == 2400

    csv_expenses = f"store,month,line,amount\n{STORE_A},{month},rent,1000.00\n{STORE_A},{month},wages,250.5\n"
    r = c.post("/api/v1/finance/expenses/import", data=csv_expenses, headers=admin, content_type="text/csv")
    assert r.status_code == 200, r.get_json()
    csv_budget = (
        f"store,month,sales,margin,expenses\n{STORE_A},{month},50.00,10.00,1200.00\n{STORE_B},{month},100.00,,50.00\n"
    )
    assert c.post("/api/v1/finance/budgets/import", data=csv_budget, headers=viewer).status_code == 403
    r = c.post("/api/v1/finance/budgets/import", data=csv_budget, headers=admin, content_type="text/csv")
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"rows": 2, "figures": 5}

    drill = c.get(f"/api/v1/finance/pnl/{STORE_A}?month={month}", headers=viewer).get_json()
    assert drill["total"]["expenses_minor"] == 125050
    assert drill["total"]["operating_result_minor"] == net - vat - 1600 - 800 - 125050
    assert [(x["category"], x["net_sales_minor"], x["cogs_minor"]) for x in drill["categories"]] == [("", net, 1600)]
    assert [e["line"] for e in drill["expenses"]] == ["rent", "wages"]

    v = c.get(f"/api/v1/finance/budget?month={month}", headers=viewer).get_json()
    lines = {(s["store_id"], x["line"]): x for s in v["stores"] for x in s["lines"]}
    assert lines[(STORE_A, "sales")] == {
        "line": "sales",
        "actual_minor": net - vat,
        "budget_minor": 5000,
        "variance_minor": net - vat - 5000,
        "variance_pct": float(round((net - vat - 5000) * 100 / 5000, 1)),
        "adverse": True,
    }
    assert lines[(STORE_A, "expenses")]["variance_minor"] == 125050 - 120000
    assert lines[(STORE_A, "expenses")]["adverse"] is False  # 4.2 % over: inside the 5 % tolerance
    assert lines[(STORE_B, "margin")]["budget_minor"] is None and not lines[(STORE_B, "margin")]["adverse"]
    assert lines[(STORE_B, "expenses")]["variance_minor"] == -5000
    assert lines[(STORE_B, "expenses")]["adverse"] is False  # under budget is favourable
    assert lines[(STORE_B, "sales")]["adverse"] is True
    total = {x["line"]: x for x in v["total"]}
    assert total["sales"]["budget_minor"] == 15000 and total["margin"]["budget_minor"] == 1000

    day = c.get(f"/api/v1/finance/pnl/{STORE_B}/days?month={month}", headers=viewer).get_json()["days"]
    assert sum(d["cogs_minor"] for d in day) == 4000 and all(d["expenses_minor"] == 0 for d in day)


def test_bad_budget_csv_is_refused_with_its_line_and_nothing_imported(central):
    engine, c = central["engine"], central["app"].test_client()
    month = _month(engine)
    admin = _token(c, "olivia", "office-pass-123")
    bad = f"store,month,sales,margin,expenses\n{STORE_A},{month},50.00,10.00,900.00\nnowhere,{month},1.00,1.00,1.00\n"
    r = c.post("/api/v1/finance/budgets/import", data=bad, headers=admin, content_type="text/csv")
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["code"] == "unknown_store" and err["details"] == {"line": 3, "store": "nowhere"}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(finance.finance_budgets)).scalar() == 0
    for text, code, line in (
        ("store,month,sales\n", "csv_bad_header", 1),
        (f"store,month,sales,margin,expenses\n{STORE_A},{month},12.345,,\n", "invalid_amount", 2),
        (f"store,month,sales,margin,expenses\n{STORE_A},2026-13,1,,\n", "invalid_month", 2),
        (f"store,month,sales,margin,expenses\n{STORE_A},{month},1,,\n{STORE_A},{month},2,,\n", "csv_duplicate_row", 3),
    ):
        r = c.post("/api/v1/finance/budgets/import", data=text, headers=admin, content_type="text/csv")
        assert r.status_code == 400, text
        assert (r.get_json()["error"]["code"], r.get_json()["error"]["details"]["line"]) == (code, line), text
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(finance.finance_budgets)).scalar() == 0
    r = c.put(
        "/api/v1/finance/budgets",
        json={"store_id": "nowhere", "month": month, "line": "sales", "amount_minor": 1},
        headers=admin,
    )
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "store_not_found"


def _login(c, user, password):
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    r = c.post("/login", data={"username": user, "password": password, "csrf": csrf, "next": "/"})
    assert r.status_code == 302
    return c


def test_the_pnl_page_drills_down_and_highlights_adverse_variances(central):
    engine, app = central["engine"], central["app"]
    month = _month(engine)
    finance.import_budgets(engine, f"store,month,sales,margin,expenses\n{STORE_A},{month},50.00,1.00,0\n", actor="t")
    c = app.test_client()
    assert c.get(f"/finance?month={month}").status_code == 302  # logged out: to the login page
    _login(c, "victor", "office-pass-456")
    html = c.get(f"/finance?month={month}&lang=en").get_data(as_text=True)
    assert "P&amp;L and budgets" in html and f'href="/finance/{STORE_A}?month={month}"' in html
    assert "¥56.00" in html  # COGS of the group: 16.00 + 40.00
    rows = re.findall(r'<tr class="(adverse|)"><td>([^<]+)</td><td>([^<]+)</td>', html)
    assert ("adverse", STORE_A, "Net sales ex VAT") in rows  # 22.12 against 50.00
    assert ("", STORE_A, "Gross margin") in rows  # 6.12 against 1.00: favourable
    html = c.get(f"/finance/{STORE_A}?month={month}&lang=zh-CN").get_data(as_text=True)
    assert "损益与预算" in html and "（未分类）" in html and "销售成本" in html and "¥16.00" in html
    assert c.get(f"/finance/nowhere?month={month}").status_code == 400


def test_points_liability_is_the_points_issued_net_at_the_store_in_the_period(central):
    """The members' points at the central (``points_entries``, as their projection keeps them): issued less burnt
    on the store's local days of the month, at the value of a point; other months and stores do not count."""
    engine = central["engine"]
    month = _month(engine)
    first = date.fromisoformat(month + "-01")
    inside = f"{month}-10T04:00:00.000Z"
    before = (first - timedelta(days=3)).isoformat() + "T04:00:00.000Z"
    with engine.begin() as conn:
        conn.execute(
            points_entries.insert(),
            [
                {
                    "entry_id": f"e{n}",
                    "member_id": "m1",
                    "store_id": store,
                    "kind": kind,
                    "points": pts,
                    "spend_minor": 0,
                    "at": at,
                    "merged_at": at,
                }
                for n, (store, kind, pts, at) in enumerate(
                    [
                        (STORE_A, "earn", 500, inside),
                        (STORE_A, "burn", -200, inside),
                        (STORE_A, "earn", 999, before),
                        (STORE_B, "earn", 40, inside),
                    ]
                )
            ],
        )
    pnl = finance.consolidated(engine, month=month, points_value_minor=2)
    by = {s["store_id"]: s for s in pnl["stores"]}
    assert by[STORE_A]["points_liability_minor"] == 600 and by[STORE_B]["points_liability_minor"] == 80
    a = by[STORE_A]
    assert a["operating_result_minor"] == a["gross_margin_minor"] - a["shrink_minor"] - 600
    default = {s["store_id"]: s for s in finance.consolidated(engine, month=month)["stores"]}  # 1 fen a point
    assert default[STORE_A]["points_liability_minor"] == 300

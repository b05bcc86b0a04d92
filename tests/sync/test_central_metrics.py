"""Head-office sales analytics (issue 19): real checkout sales and a return on a test hub, pushed through the real
sync path into the central (PostgreSQL and SQLite), folded by the sales projectors; the figures of
sync.central.metrics against hand-computed ones; the same figure on the page, in the CSV and from the read API;
replays never counted twice; the zh-CN page with formatted money."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from hub.inventory import catalog, ledger
from sync.central import ingest, metrics, office, projections, stores
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from sync.central.sales import sale_lines, sales, sales_hourly, sales_item_daily
from sync.worker import SyncWorker, WorkerConfig
from tests.support.sync import ThreadedCentral, central_db_url

STORE = "test-store"


def _till(client, auth, path, body=None, method="POST", status=200):
    r = client.open(f"/api/v1/checkout{path}", method=method, json=body, headers=auth("associate"))
    assert r.status_code == status, (path, r.status_code, r.get_json())
    return r.get_json()


def _sell(client, auth, codes: list[str], received: int) -> dict:
    c = _till(client, auth, "/tills/T1/carts", {}, status=201)
    for code in codes:
        _till(client, auth, f"/carts/{c['id']}/scan", {"code": code})
    return _till(
        client,
        auth,
        f"/carts/{c['id']}/tenders",
        {"method": "cash", "idempotency_key": uuid.uuid4().hex, "received_minor": received},
    )["sale"]


@pytest.fixture(params=["postgres", "sqlite"])
def synced(request, tmp_path, client, auth, sample, hubctx):
    """Two cash sales (milk ×3 + cola; rice + cola) and the return of one milk, synced to a central."""
    with hubctx.db.write() as conn:
        catalog.create_item(
            conn,
            {
                "sku": "COLA-330",
                "name_en": "Cola 330ml",
                "name_zh": "可乐 330毫升",
                "unit": "each",
                "price_minor": 350,
                "cost_minor": 200,
                "gtins": ["6901234567892"],
                "category": "drinks",
            },
            actor="test",
        )
        ledger.post(
            conn,
            ledger.MovementRequest(
                "receive", sample["milk"]["id"], sample["bin1"]["id"], 10, "opening", "test", ledger.new_key()
            ),
        )
    _till(
        client,
        auth,
        "/tills/T1/shifts",
        {"float_counted": {"10000": 1}, "printer_device": "printer-t1", "scale_device": "scale-t1"},
        status=201,
    )
    s1 = _sell(client, auth, ["5901234123457"] * 3 + ["6901234567892"], 5000)
    s2 = _sell(client, auth, ["96385074", "6901234567892"], 6000)
    lines = _till(client, auth, f"/sales/{s1['receipt_code']}", method="GET")["lines"]
    milk = next(ln for ln in lines if ln["sku"] == "MILK-1L")
    _till(
        client,
        auth,
        "/returns",
        {
            "till_id": "T1",
            "receipt_code": s1["receipt_code"],
            "idempotency_key": "ret-0001",
            "lines": [{"line_no": milk["line_no"], "qty": 1}],
        },
        status=201,
    )
    with central_db_url(request.param, tmp_path, "metr") as url:
        engine = make_engine(url)
        app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
        server = ThreadedCentral(app)
        office.add_user(engine, "olivia", "office-pass-123", "viewer")
        secret = stores.add_store(engine, STORE)
        worker = SyncWorker(hubctx.db, WorkerConfig(central_url=server.url, store_id=STORE, secret=secret))
        while worker.push_once():
            pass
        try:
            yield {"engine": engine, "app": app, "hub": hubctx, "sales": (s1, s2)}
        finally:
            server.close()
            engine.dispose()


def _login(c):
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert (
        c.post(
            "/login", data={"username": "olivia", "password": "office-pass-123", "csrf": csrf, "next": "/"}
        ).status_code
        == 302
    )
    return c


def _filters(engine) -> metrics.Filters:
    day = metrics.latest_day(engine)
    return metrics.Filters(start=day, end=day)


def _hub_lines(hubctx):
    return [
        dict(r)
        for r in hubctx.db.read().execute(
            "SELECT s.id AS sale_id, s.kind, l.line_no, l.sku, l.qty, l.net_minor, l.tax_minor FROM checkout_sale_lines l"
            " JOIN checkout_sales s ON s.id = l.sale_id ORDER BY s.id, l.line_no"
        )
    ]


def test_sales_projected_from_real_checkout_facts(synced):
    engine, hubctx = synced["engine"], synced["hub"]
    with engine.connect() as conn:
        heads = {r.sale_id: r for r in conn.execute(select(sales))}
        lines = {(r.sale_id, r.line_no): r for r in conn.execute(select(sale_lines))}
        hourly = conn.execute(select(func.sum(sales_hourly.c.sales), func.sum(sales_hourly.c.returns))).one()
        cats = dict(conn.execute(select(sales_item_daily.c.sku, sales_item_daily.c.category)).all())
    assert sorted(h.kind for h in heads.values()) == ["return", "sale", "sale"]
    assert {h.currency for h in heads.values()} == {"CNY"}
    assert (int(hourly[0]), int(hourly[1])) == (2, 1)
    assert cats == {"MILK-1L": "", "RICE-5KG": "", "COLA-330": "drinks"}
    hub = _hub_lines(hubctx)
    assert len(hub) == len(lines) == 5
    for h in hub:  # every line as the till recorded it (a return's net is its refund)
        c = lines[(h["sale_id"], h["line_no"])]
        assert (c.sku, c.qty, c.net_minor, c.kind) == (h["sku"], h["qty"], h["net_minor"], h["kind"])
        if h["kind"] == "sale":
            assert c.tax_minor == h["tax_minor"]

    f = _filters(engine)
    s = metrics.summary(engine, f)
    # by hand: 3 × 12.50 + 3.50 = 41.00; 49.90 + 3.50 = 53.40; one milk back: 12.50
    assert s["net_sales"] == 4100 + 5340 - 1250 == 8190
    assert s["gross_sales"] == 9440 and s["transactions"] == 2 and s["basket_size"] == 4720
    assert s["units"] == 6 and s["units_per_basket"] == 3.0
    assert s["returns_rate"] == pytest.approx(1250 / 9440) and s["discount_share"] == 0
    ex_tax = sum(h["net_minor"] - h["tax_minor"] for h in hub if h["kind"] == "sale")
    cost = 3 * 800 + 2 * 200 + 3500
    assert s["gross_margin"] == pytest.approx((ex_tax - cost) / ex_tax)
    assert s["member_share"] == 0.0 and s["net_sales_ly"] is None and s["vs_ly"] is None
    # the stock figures come from the movement projections the same sales moved
    # the stock figures read the movement projections the same sales moved: milk 10 − 3 + 1 back = 8 on hand,
    # rice and cola sold from no stock (apples never had a stock row)
    assert s["stock_out_rate"] == pytest.approx(2 / 3)
    assert s["days_of_inventory"] == pytest.approx(8 * 800 / (cost / 1))
    by_cat = {r["category"]: r for r in metrics.table(engine, f, "category", keys=["net_sales", "transactions"])}
    assert by_cat["drinks"]["net_sales"] == 700 and by_cat[""]["net_sales"] == 3750 + 4990 - 1250
    assert by_cat["drinks"]["transactions"] is None  # baskets are not a category figure
    assert sum(r["net_sales"] for r in metrics.table(engine, f, "hour")) == 8190
    assert [r["net_sales"] for r in metrics.table(engine, f, "store_day")] == [8190]


def test_replays_are_never_counted_twice(synced):
    engine = synced["engine"]
    f = _filters(engine)
    before = metrics.table(engine, f, "item")
    with engine.connect() as conn:
        evs = [
            {"seq": r.seq, "id": r.event_id, "kind": r.kind, "ts": r.hub_ts, "payload": r.payload}
            for r in conn.execute(
                select(ingest.t.events).where(ingest.t.events.c.kind.like("sale.%")).order_by(ingest.t.events.c.seq)
            )
        ]
        hw = conn.execute(select(ingest.t.stores.c.hw_seq)).scalar()
    assert len(evs) == 3
    # a push replayed after a lost acknowledgement: every event is a duplicate, nothing is folded
    ack = ingest.apply_batch(engine, STORE, {"after": 0, "through": hw, "events": evs})
    assert ack["applied"] == 0 and ack["duplicates"] == 3
    # and even if the same facts reached the projections again, the sale headers let nothing through twice
    with engine.begin() as conn:
        projections.apply(conn, STORE, projections.fold(evs, tz="UTC"))
    assert metrics.table(engine, f, "item") == before
    assert metrics.summary(engine, f)["net_sales"] == 8190


def _page_cells(html: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, text in re.findall(r'<td class="n[^"]*" data-metric="([a-z_]+)">([^<]*)</td>', html):
        out.setdefault(key, []).append(text)
    return out


def test_the_same_figure_on_the_page_in_the_csv_and_from_the_api(synced):
    engine, app = synced["engine"], synced["app"]
    f = _filters(engine)
    c = _login(app.test_client())
    q = f"start={f.start}&end={f.end}&store={STORE}&lang=en"  # a store: the page shows its categories
    page = c.get(f"/sales?{q}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    cells = _page_cells(html)
    rows = list(csv.DictReader(io.StringIO(c.get(f"/sales?{q}&format=csv").get_data(as_text=True).lstrip("\ufeff"))))
    api = c.get(f"/api/v1/analytics/sales?by=category&start={f.start}&end={f.end}&store={STORE}").get_json()
    assert api["currency"] == "CNY"
    direct = metrics.table(engine, metrics.Filters(f.start, f.end, STORE), "category")
    # same order, same figures: page text, CSV major units, API minor units, the metrics layer
    assert [r["net_sales"] for r in api["items"]] == [r["net_sales"] for r in direct] == [7490, 700]
    assert cells["net_sales"] == ["¥74.90", "¥7.00"]
    assert [r["Net sales (CNY)"] for r in rows] == ["74.90", "7.00"]
    assert [r["Category"] for r in rows] == ["(no category)", "drinks"]
    for api_row, csv_row, page_text in zip(api["items"], rows, cells["gross_margin"]):
        assert f"{api_row['gross_margin'] * 100:.2f}" == csv_row["Gross margin (%)"]
        assert f"{api_row['gross_margin'] * 100:.1f}%" == page_text
    # the headline tiles are the API's grain total
    total = c.get(f"/api/v1/analytics/sales?by=total&start={f.start}&end={f.end}").get_json()["items"][0]
    group = c.get(f"/sales?start={f.start}&end={f.end}&lang=en").get_data(as_text=True)
    tile = re.search(r'data-metric="net_sales"[^>]*><span>[^<]*</span><b>([^<]*)</b>', group).group(1)
    assert total["net_sales"] == 8190 and tile == "¥81.90"
    assert f'href="/sales?start={f.start}&amp;end={f.end}&amp;lang=en&amp;store={STORE}"' in group  # drill-down
    # the definitions are served once, from the same table
    keys = [m["key"] for m in c.get("/api/v1/analytics/metrics").get_json()["items"]]
    assert keys == [m.key for m in metrics.METRICS]


def test_zh_cn_page_formats_money_and_uses_human_titles(synced):
    engine, app = synced["engine"], synced["app"]
    f = _filters(engine)
    c = _login(app.test_client())
    html = c.get(
        f"/sales?start={f.start}&end={f.end}", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    ).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "净销售额" in html and "客单价" in html and "各门店销售" in html
    assert "¥81.90" in html and "¥47.20" in html  # net sales, average basket
    assert ">8190<" not in html and "net_sales<" not in html and "store_id<" not in html
    assert "<svg" in html
    # the toggle wins over the browser and is remembered
    en = c.get(f"/sales?start={f.start}&end={f.end}&lang=en", headers={"Accept-Language": "zh-CN"})
    assert "Net sales" in en.get_data(as_text=True)
    again = c.get(f"/sales?start={f.start}&end={f.end}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in again
    bad = c.get("/sales?start=2026-02-30")
    assert bad.status_code == 400


def test_csv_guards_text_cells(synced):
    engine, app = synced["engine"], synced["app"]
    f = _filters(engine)
    with engine.begin() as conn:  # a store-supplied category that a sheet would run
        conn.execute(
            sales_item_daily.update().where(sales_item_daily.c.category == "drinks").values(category='=HYPERLINK("x")')
        )
    c = _login(app.test_client())
    text = c.get(f"/sales?start={f.start}&end={f.end}&store={STORE}&format=csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text
    assert json.dumps(text)

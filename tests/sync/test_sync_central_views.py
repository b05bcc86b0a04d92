"""Head-office views, CSV exports and the cursor read API — real hubs synced into the
central, on PostgreSQL and on SQLite."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from xml.etree import ElementTree

import pytest

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import outbox
from sync.central import office, stores
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from sync.central.read_api import ROUTES, openapi_document
from sync.central.transfers import Level, suggest
from sync.worker import SyncWorker, WorkerConfig
from tests.support.sync import ThreadedCentral, central_db_url, hub_totals, make_hub, sell


@pytest.fixture(params=["postgres", "sqlite"])
def central(request, tmp_path):
    with central_db_url(request.param, tmp_path, "syncv") as url:
        engine = make_engine(url)
        app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
        server = ThreadedCentral(app)
        office.add_user(engine, "olivia", "office-pass-123", "viewer")
        office.add_user(engine, "adam", "admin-pass-1234", "admin")
        hubs = {}
        for sid, n in (("store-a", 300), ("store-b", 120)):
            secret = stores.add_store(engine, sid)
            cfg, db, ctx = make_hub(tmp_path / sid, sid)
            sell(db, ctx, n)
            hubs[sid] = (db, ctx, SyncWorker(db, WorkerConfig(central_url=server.url, store_id=sid, secret=secret)))
        # store-a runs low on milk (reorder point 20); store-b has plenty
        db, ctx, _ = hubs["store-a"]
        with db.write() as conn:
            for loc in ctx["bins"]:
                on = ledger.stock_of(conn, ctx["items"][0], loc)["on_hand"]
                ledger.post(
                    conn, MovementRequest("writeoff", ctx["items"][0], loc, on - 5, "damaged", "test", ledger.new_key())
                )
            # facts exactly as the order, bus and stocktake modules record them
            outbox.record(
                conn,
                "order.created",
                {
                    "id": "o1",
                    "ref": "A-1",
                    "channel": "web",
                    "external_id": "W-1",
                    "status": "new",
                    "fulfilment": "pickup",
                    "currency": "CNY",
                    "total_minor": 2500,
                    "paid_minor": 2500,
                    "parent_order_id": None,
                    "split_kind": None,
                    "created_at": "2026-11-20T09:00:00.000Z",
                    "lines": [
                        {"id": "ol1", "line_no": 1, "item_id": ctx["items"][0], "qty": 2, "unit_price_minor": 1250}
                    ],
                },
            )
            outbox.record(
                conn,
                "order.status",
                {
                    "order_id": "o1",
                    "ref": "A-1",
                    "from": "picked",
                    "to": "ready",
                    "actor": "u",
                    "ts": "2026-11-20T09:20:00.000Z",
                },
            )
            outbox.record(
                conn,
                "order.status",
                {
                    "order_id": "o1",
                    "ref": "A-1",
                    "from": "ready",
                    "to": "collected",
                    "actor": "u",
                    "ts": "2026-11-20T10:00:00.000Z",
                },
            )
            outbox.record(conn, "device.status", {"device_id": "scale-1", "status": "offline"})
            outbox.record(
                conn, "device.info", {"device_id": "scale-1", "kind": "scale", "model": "X", "firmware": "1.0"}
            )
            outbox.record(
                conn,
                "alert.raised",
                {
                    "id": "al1",
                    "kind": "device_offline",
                    "subject": "scale-1",
                    "severity": "critical",
                    "message": "scale-1 is offline",
                    "details": {},
                },
            )
            outbox.record(
                conn,
                "count.approved",
                {
                    "session_id": "cs1",
                    "approved_by": "u",
                    "ts": "2026-11-21T08:00:00.000Z",
                    "totals": {
                        "lines": 40,
                        "lines_exact": 36,
                        "lines_with_variance": 4,
                        "lines_uncounted_zeroed": 0,
                        "lines_excluded": 0,
                        "lines_mixed": 0,
                        "expected_units": 400,
                        "counted_units": 392,
                        "net_variance_units": -8,
                        "abs_variance_units": 10,
                        "shrink_cost_minor": -4200,
                        "gain_cost_minor": 300,
                        "net_variance_cost_minor": -3900,
                        "expected_cost_minor": 100000,
                        "line_accuracy_pct": 90.0,
                        "unit_accuracy_pct": 98.0,
                        "value_accuracy_pct": 96.1,
                        "movements": 4,
                    },
                },
            )
        for _db, _ctx, w in hubs.values():
            while w.push_once():
                pass
        client = app.test_client()
        yield {"engine": engine, "client": client, "hubs": hubs, "app": app}
        server.close()
        for db, _, _ in hubs.values():
            db.close()
        engine.dispose()


def login(client, user="olivia", pw="office-pass-123"):
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": user, "password": pw, "csrf": csrf, "next": "/"})


def csv_rows(resp):
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))


def test_views_need_login_and_csrf(central):
    c = central["client"]
    r = c.get("/stock")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert c.post("/login", data={"username": "olivia", "password": "office-pass-123"}).status_code == 400  # no csrf
    assert login(c, pw="wrong-password").status_code == 401
    r = login(c)
    assert r.status_code == 302
    assert c.get("/").status_code == 200
    assert c.post("/logout", data={}).status_code == 400
    page = c.get("/").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert c.post("/logout", data={"csrf": csrf}).status_code == 302
    assert c.get("/").status_code == 302


def test_pages_render_with_charts_and_csv_matches_hub_totals(central):
    c = central["client"]
    login(c)
    for path in ("/", "/stock", "/movements", "/low-stock", "/counts", "/orders", "/stock?q=MILK"):
        r = c.get(path)
        assert r.status_code == 200, path
        html = r.get_data(as_text=True)
        assert "<svg" in html or path in ("/stock", "/low-stock"), path
        for svg in re.findall(r"<svg.*?</svg>", html, re.S):  # charts are well-formed SVG
            root = ElementTree.fromstring(svg)
            assert root.tag.endswith("svg") and root.find("{http://www.w3.org/2000/svg}title") is not None
    overview = {r["store_id"]: r for r in csv_rows(c.get("/?format=csv"))}
    assert overview["store-a"]["status"] == "ok" and overview["store-a"]["devices_offline"] == "1"
    # open alerts: store-a's recorded device_offline fact, plus the stock alerts each hub's write-offs raised
    # (items at their reorder point or below safety stock: hub.bus.stockalerts) and still has open
    for sid, seeded in (("store-a", 1), ("store-b", 0)):
        db = central["hubs"][sid][0]
        hub_open = db.read().execute("SELECT COUNT(*) FROM alerts WHERE cleared_at IS NULL").fetchone()[0]
        assert overview[sid]["alerts_open"] == str(seeded + hub_open)
    assert "scale-1 is offline" in c.get("/").get_data(as_text=True)
    # stock CSV equals each hub's stock per sku
    got = {(r["store_id"], r["sku"]): int(r["on_hand"]) for r in csv_rows(c.get("/stock?format=csv"))}
    for sid, (db, _ctx, _) in central["hubs"].items():
        want = defaultdict(int)
        for r in db.read().execute("SELECT i.sku, s.on_hand FROM stock s JOIN items i ON i.id = s.item_id"):
            want[(sid, r[0])] += r[1]
        assert {k: v for k, v in got.items() if k[0] == sid} == dict(want)
    one = csv_rows(c.get("/stock?format=csv&store=store-b&q=RICE"))
    assert [(r["store_id"], r["sku"]) for r in one] == [("store-b", "RICE")]
    # movement lines per kind equal the hubs' ledgers
    mv = csv_rows(c.get("/movements?format=csv&start=2020-01-01"))
    lines = Counter()
    for r in mv:
        lines[(r["store_id"], r["kind"])] += int(r["lines"])
    for sid, (db, _, _) in central["hubs"].items():
        for kind, n in hub_totals(db)["movement_kinds"].items():
            assert lines[(sid, kind)] == n
    sales = [r for r in mv if r["kind"] == "sale" and r["store_id"] == "store-b"]
    assert sum(int(r["value_minor"]) for r in sales) > 0
    assert c.get("/movements?start=2026-13-01").status_code == 400
    assert c.get("/movements?start=2026-11-02&end=2026-11-01").status_code == 400


def test_low_stock_transfers_counts_and_orders(central):
    c = central["client"]
    login(c)
    low = csv_rows(c.get("/low-stock?format=csv"))
    assert {(r["store_id"], r["sku"]) for r in low} >= {("store-a", "MILK")}
    tr = csv_rows(c.get("/low-stock?format=csv&table=transfers"))
    milk = [r for r in tr if r["sku"] == "MILK"]
    assert milk == [{"sku": "MILK", "name_en": "Milk", "unit": "each", "from": "store-b", "to": "store-a", "qty": "30"}]
    counts = {r["store_id"]: r for r in csv_rows(c.get("/counts?format=csv&start=2020-01-01"))}
    assert counts["store-a"]["line_accuracy_pct"] == "90.0" and counts["store-a"]["shrink_cost_minor"] == "4200"
    db = central["hubs"]["store-a"][0]
    written_off = -db.read().execute("SELECT SUM(qty_delta) FROM movements WHERE kind = 'writeoff'").fetchone()[0]
    assert int(counts["store-a"]["writeoff_cost_minor"]) == written_off * 800 > 0  # milk costs 800
    orders = csv_rows(c.get("/orders?format=csv&start=2020-01-01"))
    assert orders == [
        {
            "store_id": "store-a",
            "orders": "1",
            "fulfilled": "1",
            "cancelled": "0",
            "ready_median_min": "20.0",
            "fulfil_median_min": "60.0",
            "fulfil_p90_min": "60.0",
        }
    ]


def test_transfer_suggestions_pure():
    levels = [Level("a", 5, 20), Level("b", 100, 20), Level("c", 50, 20), Level("d", -3, 10)]
    # a wants 2*20-5 = 35, d wants 2*10-0 = 20; b can give 100-40 = 60, c 50-40 = 10
    assert suggest(levels) == [{"from": "b", "to": "a", "qty": 35}, {"from": "b", "to": "d", "qty": 20}]
    assert suggest([Level("a", 0, 10), Level("b", 25, 10), Level("c", 30, 10)]) == [
        {"from": "c", "to": "a", "qty": 10},
        {"from": "b", "to": "a", "qty": 5},
    ]
    assert suggest([Level("a", 0, 0), Level("b", 100, 0)]) == []


def test_read_api_cursor_pages_every_event_once(central):
    c = central["client"]
    assert c.get("/api/v1/events").status_code == 401
    assert c.post("/api/v1/auth/token", json={"username": "olivia", "password": "nope-nope-nope"}).status_code == 401
    tok = c.post("/api/v1/auth/token", json={"username": "olivia", "password": "office-pass-123"}).get_json()["token"]
    h = {"Authorization": f"Bearer {tok}"}
    seen, cursor, pages = [], None, 0
    while True:
        r = c.get("/api/v1/events", query_string={"limit": 97, **({"cursor": cursor} if cursor else {})}, headers=h)
        assert r.status_code == 200
        doc = r.get_json()
        seen += [(e["store_id"], e["seq"]) for e in doc["events"]]
        cursor, pages = doc["next_cursor"], pages + 1
        if not doc["more"]:
            break
    want = sum(hub_totals(db)["outbox_rows"] for db, _, _ in central["hubs"].values())
    assert len(seen) == len(set(seen)) == want and pages > 3
    # new events after the last cursor: exactly those come next
    db, ctx, w = central["hubs"]["store-b"]
    sell(db, ctx, 10)
    while w.push_once():
        pass
    doc = c.get("/api/v1/events", query_string={"cursor": cursor}, headers=h).get_json()
    assert len(doc["events"]) == hub_totals(db)["outbox_rows"] - sum(1 for s, _ in seen if s == "store-b")
    assert {e["store_id"] for e in doc["events"]} == {"store-b"}
    only = c.get("/api/v1/events", query_string={"kind": "item.upsert", "limit": 5000}, headers=h).get_json()
    assert {e["kind"] for e in only["events"]} == {"item.upsert"} and len(only["events"]) == 4
    assert c.get("/api/v1/events?cursor=%%%", headers=h).status_code == 400
    assert c.get("/api/v1/events?limit=0", headers=h).status_code == 400
    st = c.get("/api/v1/stores", headers=h).get_json()["items"]
    assert [s["store_id"] for s in st] == ["store-a", "store-b"]
    assert c.get("/api/v1/stock?store=store-a&q=MILK", headers=h).get_json()["items"][0]["on_hand"] == 10
    # publishing needs an admin
    body = {"kind": "setting", "key": "store_name", "payload": {"value": "X"}}
    assert c.post("/api/v1/downlink", json=body, headers=h).status_code == 403
    atok = c.post("/api/v1/auth/token", json={"username": "adam", "password": "admin-pass-1234"}).get_json()["token"]
    r = c.post("/api/v1/downlink", json=body, headers={"Authorization": f"Bearer {atok}"})
    assert r.status_code == 201 and r.get_json()["version"] == 1
    r = c.post("/api/v1/downlink", json={**body, "key": "store_id"}, headers={"Authorization": f"Bearer {atok}"})
    assert r.status_code == 400


def test_openapi_document_matches_routes(central):
    app = central["app"]
    doc = openapi_document()
    served = central["client"].get("/api/v1/openapi.json").get_json()
    assert served == doc
    rules = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule.rule)
            for m in rule.methods - {"HEAD", "OPTIONS"}:
                rules.add((path, m.lower()))
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert rules == documented
    assert len(ROUTES) >= 7
    from jsonschema import Draft202012Validator

    for _p, ops in doc["paths"].items():
        for op in ops.values():
            for prm in op.get("parameters", []):
                Draft202012Validator.check_schema(prm["schema"])


def test_repeated_wrong_passwords_lock_the_login(central):
    c = central["client"]
    for _ in range(5):
        assert c.post("/api/v1/auth/token", json={"username": "olivia", "password": "wrong-wrong"}).status_code == 401
    r = c.post("/api/v1/auth/token", json={"username": "olivia", "password": "office-pass-123"})
    assert r.status_code == 429 and r.get_json()["error"]["details"]["retry_after_s"] > 0
    assert login(c).status_code == 429  # the web login is locked too
    assert c.post("/api/v1/auth/token", json={"username": "adam", "password": "admin-pass-1234"}).status_code == 200

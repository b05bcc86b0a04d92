"""The supplier scorecard at the central (sync/central/scorecard.py) on a hand-built history of purchasing facts
from two stores: on-time rate, fill rate, actual vs promised lead time, price variance and quality returns, per
supplier across stores and per store; and the read API route."""

from __future__ import annotations

import itertools
import re
from datetime import date

import pytest

from sync.central import office, scorecard, stores
from sync.central import schema as t
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine, migrate

TODAY = date(2026, 3, 31)
_seq = itertools.count(1)


@pytest.fixture
def engine(tmp_path):
    e = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(e)
    stores.add_store(e, "S1", "Store 1")
    stores.add_store(e, "S2", "Store 2")
    yield e
    e.dispose()


def _fact(e, store: str, kind: str, payload: dict, ts: str) -> None:
    n = next(_seq)
    with e.begin() as conn:
        conn.execute(
            t.events.insert().values(
                store_id=store,
                month=date.fromisoformat(ts[:7] + "-01"),
                seq=n,
                event_id=f"e{n}",
                kind=kind,
                hub_ts=ts,
                received_at=ts,
                payload=payload,
            )
        )


def _supplier(e, store, sid, code, lead):
    _fact(
        e,
        store,
        "supplier.upsert",
        {"id": sid, "code": code, "name": f"{code} Co", "lead_time_days": lead},
        "2026-01-01T00:00:00Z",
    )


def _po(e, store, po_id, sid, expected, lines, *, sent, status="sent"):
    po = {
        "id": po_id,
        "number": f"PO-{po_id}",
        "supplier_id": sid,
        "status": status,
        "expected_date": expected,
        "lines": [{"item_id": i, "qty": q, "unit_cost_minor": c} for i, q, c in lines],
    }
    _fact(e, store, "po.step", {"step": "sent", "po": po, "actor": "sup", "ts": sent}, sent)


def _receipt(e, store, po_id, sid, lines, ts):
    _fact(
        e,
        store,
        "po.receipt",
        {
            "receipt_id": f"r-{po_id}-{ts}",
            "po_id": po_id,
            "supplier_id": sid,
            "lines": [{"item_id": i, "qty": q, "unit_cost_minor": c} for i, q, c in lines],
            "ts": ts,
        },
        ts,
    )


def _history(e) -> None:
    # the same supplier DAIRY has its own id in each store (S1: a1, S2: b1), promised 3 days; FRESH only in S2
    _supplier(e, "S1", "a1", "DAIRY", 3)
    _supplier(e, "S2", "b1", "DAIRY", 3)
    _supplier(e, "S2", "b2", "FRESH", 2)
    # S1 / P1: sent 03-01, expected 03-04, all 100 arrive 03-03 at the ordered cost → on time, 2 days
    _po(e, "S1", "P1", "a1", "2026-03-04", [("milk", 100, 500)], sent="2026-03-01T02:00:00Z")
    _receipt(e, "S1", "P1", "a1", [("milk", 100, 500)], "2026-03-03T09:00:00Z")
    # S1 / P2: sent 03-10, expected 03-13; 60 of 100 on 03-12 at 520, the rest on 03-16 at 500 → late, 6 days
    _po(e, "S1", "P2", "a1", "2026-03-13", [("milk", 100, 500)], sent="2026-03-10T02:00:00Z")
    _receipt(e, "S1", "P2", "a1", [("milk", 60, 520)], "2026-03-12T09:00:00Z")
    _receipt(e, "S1", "P2", "a1", [("milk", 40, 500)], "2026-03-16T09:00:00Z")
    # S2 / Q1: expected 03-20, only 30 of 50 arrived (03-19), still open on 03-31 → due, late, fill 30/50
    _po(e, "S2", "Q1", "b1", "2026-03-20", [("milk", 50, 500)], sent="2026-03-17T02:00:00Z")
    _receipt(e, "S2", "Q1", "b1", [("milk", 30, 490)], "2026-03-19T09:00:00Z")
    # S2 / Q2: expected after today, nothing yet → not judged; a cancelled one → left out
    _po(e, "S2", "Q2", "b1", "2026-04-05", [("milk", 10, 500)], sent="2026-03-30T02:00:00Z")
    _po(e, "S2", "Q3", "b1", "2026-03-05", [("milk", 10, 500)], sent="2026-03-01T02:00:00Z", status="cancelled")
    # S2 / F1 from FRESH: on time, 1 day
    _po(e, "S2", "F1", "b2", "2026-03-03", [("veg", 20, 100)], sent="2026-03-01T02:00:00Z")
    _receipt(e, "S2", "F1", "b2", [("veg", 20, 100)], "2026-03-02T09:00:00Z")
    # returns: S1 sends 5 milk back for quality, 2 as over-shipped (not quality); S2 3 damaged
    for store, sid, qty, reason in (
        ("S1", "a1", 5, "quality"),
        ("S1", "a1", 2, "over_shipped"),
        ("S2", "b1", 3, "damaged"),
    ):
        _fact(
            e,
            store,
            "supplier.return",
            {"id": f"rtv-{store}-{reason}", "supplier_id": sid, "item_id": "milk", "qty": qty, "reason": reason},
            "2026-03-20T00:00:00Z",
        )


def test_scorecard_across_two_stores(engine):
    e = engine
    _history(e)
    out = scorecard.compute(e, today=TODAY)
    by = {s["code"]: s for s in out["suppliers"]}
    assert sorted(by) == ["DAIRY", "FRESH"]
    d = by["DAIRY"]
    assert d["name"] == "DAIRY Co" and d["orders"] == 4 and d["due"] == 3  # P1, P2, Q1 judged; Q2 not yet; Q3 out
    assert d["on_time"] == 1 and d["on_time_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (d["ordered_units"], d["filled_units"]) == (250, 230) and d["fill_rate"] == pytest.approx(0.92)
    assert d["lead_time_days"] == 4.0 and d["promised_lead_time_days"] == 3.0  # (2 + 6) / 2 vs 3
    # variance: P2 60 × +20 = +1200; Q1 30 × −10 = −300 → +900 over 230 × 500 = 115,000 → +0.78 %
    assert d["price_variance_minor"] == 900 and d["price_variance_pct"] == pytest.approx(0.78)
    assert d["received_units"] == 230 and d["returned_units"] == 10 and d["quality_returned_units"] == 8
    assert d["quality_return_rate"] == pytest.approx(8 / 230, abs=1e-4)
    s1, s2 = d["stores"]
    assert s1["store_id"] == "S1" and (s1["due"], s1["on_time"], s1["fill_rate"]) == (2, 1, 1.0)
    assert s1["lead_time_days"] == 4.0 and s1["price_variance_minor"] == 1200 and s1["quality_returned_units"] == 5
    assert s2["store_id"] == "S2" and (s2["orders"], s2["due"], s2["on_time"]) == (2, 1, 0)
    assert s2["fill_rate"] == 0.6 and s2["lead_time_days"] is None and s2["price_variance_minor"] == -300
    f = by["FRESH"]
    assert (f["on_time_rate"], f["fill_rate"], f["lead_time_days"], f["promised_lead_time_days"]) == (
        1.0,
        1.0,
        1.0,
        2.0,
    )
    assert f["quality_return_rate"] == 0.0 and [x["store_id"] for x in f["stores"]] == ["S2"]
    # one store only
    only = scorecard.compute(e, today=TODAY, store_id="S1")
    assert [s["code"] for s in only["suppliers"]] == ["DAIRY"] and only["suppliers"][0]["due"] == 2


def test_read_api_and_office_page_in_both_languages(engine, tmp_path):
    _history(engine)
    app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
    office.add_user(engine, "victor", "office-pass-456", "viewer")
    c = app.test_client()
    r = c.post("/api/v1/auth/token", json={"username": "victor", "password": "office-pass-456"})
    auth = {"Authorization": f"Bearer {r.get_json()['token']}"}
    assert c.get("/api/v1/purchasing/scorecard").status_code == 401
    r = c.get("/api/v1/purchasing/scorecard?today=2026-03-31&store_id=S2", headers=auth)
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == scorecard.compute(engine, today=TODAY, store_id="S2")
    assert c.get("/api/v1/purchasing/scorecard?today=yesterday", headers=auth).status_code == 400
    r = c.get("/api/v1/purchasing/forecasts?store_id=S1", headers=auth)
    assert r.status_code == 200 and r.get_json() == {"forecasts": []}

    assert c.get("/purchasing").status_code == 302  # logged out: to the login page
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert c.post("/login", data={"username": "victor", "password": "office-pass-456", "csrf": csrf}).status_code == 302
    zh = c.get("/purchasing?lang=zh-CN").get_data(as_text=True)
    assert "供应商评分卡" in zh and "DAIRY DAIRY Co" in zh and "准时率" in zh
    en = c.get("/purchasing?lang=en").get_data(as_text=True)
    # the page judges as of the real today (after every expected day here): Q2 counts as late too
    assert "Supplier scorecard" in en and "On time" in en and "1/4" in en and "88.5 %" in en

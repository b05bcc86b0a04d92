"""Orders rules that used to live in routes, at the domain level: the order list and search, the analytics window,
substitutes for a pick, pack-and-print, and what a scan means for picking and packing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.kernel.errors import Conflict, Unprocessable, ValidationError
from hub.orders import fulfilment, packing, picking, queries, scanning
from hub.protocol.timeutil import iso, parse_iso, utcnow
from tests.support.common import key
from tests.support.orders import order_body, store


@pytest.fixture
def shop(hubctx, sample):
    return store(hubctx, sample)


def _new(client, auth, ext, lines, **extra):
    r = client.post("/api/v1/orders", json=order_body(ext, lines, **extra), headers=auth())
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_list_orders_filters_and_finds_a_scanned_order_code(client, auth, hubctx, shop):
    a = _new(client, auth, "W-1", [{"sku": "MILK-1L", "qty": 1}])
    b = _new(client, auth, "W-2", [{"sku": "RICE-5KG", "qty": 1}], customer={"name": "Han Meimei"})
    conn = hubctx.db.read()
    items, total = queries.list_orders(conn)
    assert total == 2 and {o["id"] for o in items} == {a["id"], b["id"]} and "lines" not in items[0]
    items, total = queries.list_orders(conn, q=f"  sho-{b['ref']} ")
    assert total == 1 and items[0]["id"] == b["id"]
    assert queries.list_orders(conn, q="Meimei")[1] == 1
    assert queries.list_orders(conn, status="cancelled") == ([], 0)
    items, total = queries.list_orders(conn, limit=1, offset=1)
    assert total == 2 and len(items) == 1


def test_analytics_window_defaults_and_errors():
    since, until = queries.analytics_window()
    assert parse_iso(until) - parse_iso(since) == timedelta(days=1)
    assert abs(parse_iso(until) - utcnow()) < timedelta(seconds=5)
    since, until = queries.analytics_window(until="2026-03-02T08:00:00+08:00")
    assert until == iso(parse_iso("2026-03-02T00:00:00Z")) and since == iso(parse_iso("2026-03-01T00:00:00Z"))
    assert queries.analytics_window("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")[0] == iso(
        parse_iso("2026-01-01T00:00:00Z")
    )
    with pytest.raises(ValidationError) as e:
        queries.analytics_window(since="yesterday")
    assert e.value.message == "since/until: ISO-8601 times with an offset" and "error" in e.value.details


def test_substitutes_only_where_the_line_allows_them(client, auth, hubctx, shop):
    _new(client, auth, "W-s", [{"sku": "MILK-1L", "qty": 1, "allow_substitute": True}])
    _new(client, auth, "W-n", [{"sku": "MILK-1L", "qty": 1, "allow_substitute": False}])
    with hubctx.db.write() as conn:
        pl = picking.create_pick_list(conn, actor="test", max_orders=2)
    tasks = picking.get_pick_list(hubctx.db.read(), pl["id"])["tasks"]
    assert sorted(bool(t["allow_substitute"]) for t in tasks) == [False, True]
    conn = hubctx.db.read()
    for t in tasks:
        subs = [s["sku"] for s in queries.task_substitutes(conn, t["id"])]
        assert subs == (["OATMILK-1L"] if t["allow_substitute"] else [])


def test_pack_and_print_packs_queues_documents_and_returns_the_view(client, auth, hubctx, shop):
    o = _new(client, auth, "W-p", [{"sku": "RICE-5KG", "qty": 1}], paid_minor=4990)
    with pytest.raises(Conflict):
        with hubctx.db.write() as conn:
            packing.pack_and_print(conn, o["id"], actor="test")
    pl = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    [task] = pl["tasks"]
    with hubctx.db.write() as conn:
        picking.confirm_pick(
            conn, task["id"], client_key=key(), location_code=task["location_label"], item_code="96385074", actor="test"
        )
    with pytest.raises(Unprocessable) as e:
        with hubctx.db.write() as conn:
            packing.pack_and_print(conn, o["id"], actor="test")
    assert e.value.code == "pack_incomplete"
    assert hubctx.db.read().execute("SELECT COUNT(*) FROM device_commands").fetchone()[0] == 0
    with hubctx.db.write() as conn:
        fulfilment.pack_scan(conn, o["id"], code="96385074", client_key=key(), actor="test")
        out = packing.pack_and_print(conn, o["id"], actor="test", printer="printer-9")
    assert out["status"] == "packed" and out["pack"]["complete"] is True
    assert [(j["document"], j["device_id"]) for j in out["printed"]] == [
        ("pack_label", "printer-9"),
        ("receipt", "printer-9"),
    ]
    assert len(out["print_jobs"]) == 2


def test_scans_for_picking_map_resolver_errors(hubctx, shop):
    conn = hubctx.db.read()
    res = scanning.read(conn, "]d2010590123412345717261100\x1d10L42\x1d3012")
    assert res.kind == "item" and res.item["sku"] == "MILK-1L" and res.count == 12
    assert scanning.read(conn, "SHL-B01-01").own_code == "B01-01"
    assert scanning.read(conn, "SHO-W-7").own_code == "W-7"
    for code, err, reason in (
        ("4006381333930", "unreadable_code", "invalid_check_digit"),
        ("4012345000016", "unknown_item", None),
        ("  ", "empty_scan", None),
        ("MILK-1L", "unreadable_code", "unparseable"),
    ):
        with pytest.raises(Unprocessable) as e:
            scanning.read(conn, code)
        assert e.value.code == err and (reason is None or e.value.details["reason"] == reason)

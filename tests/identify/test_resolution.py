"""The one scan resolver: a typed Resolution for every kind of code, its JSON, and the callers that react to it."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
import pytest

from hub.bus import builtin
from hub.identify import resolve as scan
from hub.identify.api import RESOLVE_SCHEMA
from hub.identify.barcode import BarcodeError, ParsedCode
from hub.inventory import catalog
from hub.kernel import settings
from hub.kernel.errors import Conflict, NotFound
from hub.protocol.epc import encode_sgtin96


def _resolve(conn, code, **kw):
    return scan.resolve(conn, code, settings=settings.get_all(conn), with_stock=False, **kw)


def test_item_by_gtin_is_typed_and_its_json_is_the_route_schema(hubctx, sample):
    conn = hubctx.db.read()
    res = _resolve(conn, "]E05901234123457")
    assert isinstance(res, scan.Resolution) and isinstance(res.parsed, ParsedCode)
    assert (res.kind, res.item["id"], res.qty, res.weight_g, res.price_minor) == (
        "item",
        sample["milk"]["id"],
        1,
        None,
        None,
    )
    assert res.location is None and res.order_ref is None and res.badge is None and res.epc is None
    body = res.to_dict()
    jsonschema.validate(body, RESOLVE_SCHEMA)
    assert list(body) == ["kind", "code", "parsed", "item", "location", "order_ref", "qty", "weight_g"]
    assert body["parsed"]["gtin"] == "05901234123457" and body["parsed"]["symbology"] == "EAN-13"
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.kind = "location"  # frozen


def test_variable_measure_price_label(hubctx, sample):
    # CN in-store label: 23 02148 01086 K = apples, 10.86 CNY at 12.00 CNY/kg -> 905 g
    res = _resolve(hubctx.db.read(), "2302148010865")
    assert res.kind == "item" and res.item["sku"] == "APPLE"
    assert res.price_minor == 1086 and res.weight_g == 905 and res.qty == 905
    assert res.parsed.variable_measure is True and res.parsed.currency == "CNY"


def test_location_badge_and_order_codes(hubctx, sample):
    conn = hubctx.db.read()
    loc = _resolve(conn, "SHL-A01-02")
    assert loc.kind == "location" and loc.location["id"] == sample["bin2"]["id"] and loc.own_code == "A01-02"
    assert loc.item is None and loc.qty is None
    badge = _resolve(conn, "SHB-BADGE-associate")
    assert badge.kind == "badge" and badge.badge == "BADGE-associate" and badge.own_code == "BADGE-associate"
    assert badge.to_dict()["order_ref"] is None
    order = _resolve(conn, "SHO-PO-2026-0042")
    assert order.kind == "order" and order.order_ref == "PO-2026-0042" and order.own_code == "PO-2026-0042"
    for r in (loc, badge, order):
        jsonschema.validate(r.to_dict(), RESOLVE_SCHEMA)
    with pytest.raises(NotFound) as e:
        _resolve(conn, "SHL-Z99")
    assert e.value.code == "unknown_code"


def test_item_epc_only_when_accepted(hubctx, sample):
    conn = hubctx.db.read()
    tag = encode_sgtin96("05901234123457", 42)
    res = _resolve(conn, tag, accept_epc=True)
    assert res.kind == "epc" and res.names_item and res.item["sku"] == "MILK-1L"
    assert res.epc == tag and res.qty == 1 and res.parsed is None
    with pytest.raises(BarcodeError):
        _resolve(conn, tag)  # the HTTP route and the bus do not read EPCs
    with pytest.raises(BarcodeError):  # a case-level tag (filter 2) is not one item
        _resolve(conn, encode_sgtin96("05901234123457", 42, filter=2), accept_epc=True)
    with pytest.raises(BarcodeError):  # an item EPC of a GTIN the store does not sell
        _resolve(conn, encode_sgtin96("04006381333931", 1), accept_epc=True)


def test_exact_sku_only_when_accepted(hubctx, sample):
    conn = hubctx.db.read()
    res = _resolve(conn, "MILK-1L", accept_sku=True)
    assert res.kind == "item" and res.item["id"] == sample["milk"]["id"] and res.qty == 1 and res.parsed is None
    kg = _resolve(conn, "APPLE", accept_sku=True)
    assert kg.item["sku"] == "APPLE" and kg.qty is None  # a kg item named by SKU still has to be weighed
    with pytest.raises(BarcodeError):
        _resolve(conn, "MILK-1L")
    with pytest.raises(BarcodeError):
        _resolve(conn, "NO-SUCH-SKU", accept_sku=True, accept_epc=True)
    # a readable barcode is never re-read as a SKU: unknown stays unknown
    with hubctx.db.write() as w:
        catalog.create_item(
            w, {"sku": "4006381333931", "name_en": "x", "price_minor": 1, "cost_minor": 1}, actor="test"
        )
    with pytest.raises(NotFound):
        _resolve(hubctx.db.read(), "4006381333931", accept_sku=True)


def test_with_stock_and_ambiguous_plu(hubctx, sample):
    conn = hubctx.db.read()
    res = scan.resolve(conn, "96385074", settings=settings.get_all(conn))
    assert res.item["totals"]["on_hand"] == 0 and res.item["stock"] == []
    with hubctx.db.write() as w:
        settings.put(w, "barcode_region", "NO")
        settings.put(w, "rcn_layouts", [])
        for sku in ("HAM-A", "HAM-B"):
            catalog.create_item(
                w,
                {
                    "sku": sku,
                    "name_en": sku,
                    "unit": "kg",
                    "price_minor": 100,
                    "cost_minor": 1,
                    "variable_measure": True,
                    "plu": "21482",
                },
                actor="test",
            )
    with pytest.raises(Conflict) as e:
        _resolve(hubctx.db.read(), "2302148210869")
    assert e.value.code == "ambiguous_plu"


def test_route_returns_the_resolution_json(client, auth, hubctx, sample):
    r = client.get("/api/v1/scan/resolve?code=2302148010865", headers=auth())
    conn = hubctx.db.read()
    expected = scan.resolve(conn, "2302148010865", settings=settings.get_all(conn)).to_dict()
    assert r.status_code == 200 and r.get_json() == json.loads(json.dumps(expected))


def test_bus_keeps_unknown_and_unreadable_scans(hubctx, sample):
    conn = hubctx.db.read()
    item_id, summary = builtin.resolve_code(conn, "5901234123457")
    assert item_id == sample["milk"]["id"]
    assert summary == {
        "kind": "item",
        "qty": 1,
        "weight_g": None,
        "order_ref": None,
        "location_id": None,
        "sku": "MILK-1L",
    }
    assert builtin.resolve_code(conn, "SHL-A01-01")[1]["location_id"] == sample["bin1"]["id"]
    assert builtin.resolve_code(conn, "4006381333931") == (
        None,
        {"kind": None, "error": "unknown_code", "message": "GTIN 04006381333931 is not in this store's catalog"},
    )
    item_id, summary = builtin.resolve_code(conn, "garbage!!")
    assert item_id is None and summary["kind"] is None and summary["error"] == "unparseable"


def test_bus_rereads_barcode_settings_at_most_every_few_seconds(hubctx, sample, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(builtin.time, "monotonic", lambda: now[0])
    monkeypatch.setitem(builtin._OPTS, "value", None)
    conn = hubctx.db.read()
    first = builtin._parse_options(conn)
    with hubctx.db.write() as w:
        settings.put(w, "barcode_region", "US")
    now[0] += builtin.OPTIONS_TTL_S - 1
    assert builtin._parse_options(hubctx.db.read()) is first
    now[0] += 2
    assert builtin._parse_options(hubctx.db.read()).region == "US"

"""GET /api/v1/scan/resolve and the unknown-code reports, against a real hub on a temporary data directory."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from hub.identify import resolve as scan
from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import settings
from tests.support.common import key

RESOLVE_KEYS = {"kind", "code", "parsed", "item", "location", "order_ref", "qty", "weight_g"}


def get_resolve(client, auth, code, role="associate"):
    return client.get(f"/api/v1/scan/resolve?code={quote(code, safe='')}", headers=auth(role))


def test_resolve_ean13_with_stock(client, auth, sample, hubctx):
    with hubctx.db.write() as conn:
        ledger.post(
            conn, MovementRequest("receive", sample["milk"]["id"], sample["bin1"]["id"], 12, "delivery", "test", key())
        )
    r = get_resolve(client, auth, "]E05901234123457")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert set(body) == RESOLVE_KEYS
    assert body["kind"] == "item" and body["code"] == "]E05901234123457"
    assert body["item"]["id"] == sample["milk"]["id"]
    assert body["item"]["totals"]["on_hand"] == 12
    assert body["item"]["stock"][0]["location_code"] == "A01-01"
    assert body["qty"] == 1 and body["weight_g"] is None and body["location"] is None and body["order_ref"] is None
    assert body["parsed"]["symbology"] == "EAN-13" and body["parsed"]["gtin"] == "05901234123457"


@pytest.mark.parametrize(
    "code",
    [
        "96385074",
        "00000096385074",
        "]E496385074",
        "]C10100000096385074",
        "https://id.gs1.org/01/00000096385074",
        "(01)00000096385074",
    ],
)
def test_resolve_every_form_of_one_gtin(client, auth, sample, code):
    r = get_resolve(client, auth, code)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["item"]["sku"] == "RICE-5KG"


def test_resolve_gs1_lot_expiry_count(client, auth, sample):
    r = get_resolve(client, auth, "]d2010590123412345717261100\x1d10L42\x1d3012")
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["item"]["sku"] == "MILK-1L" and body["qty"] == 12
    assert body["parsed"]["lot"] == "L42" and body["parsed"]["expiry"] == "2026-11-30"


def test_resolve_variable_measure_label_by_base_gtin_cn_layout(client, auth, sample):
    # Store region CN (default): 23 02148 01086 K = apples (base 2302148000002), 10.86 CNY at 12.00 CNY/kg.
    r = get_resolve(client, auth, "2302148010865")
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["item"]["sku"] == "APPLE"
    assert body["parsed"]["price_minor"] == 1086 and body["parsed"]["variable_measure"] is True
    assert body["qty"] == 905 and body["weight_g"] == 905  # 1086 / 1200 kg, in grams


def test_resolve_variable_measure_weight_region_no(client, auth, sample, hubctx):
    with hubctx.db.write() as conn:
        settings.put(conn, "barcode_region", "NO")
        settings.put(conn, "rcn_layouts", [])
    # NO rules: 23 + item 021482 + 1.086 kg; the base GTIN differs from the catalog's, so the PLU decides.
    r = get_resolve(client, auth, "2302148210869")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_code"
    from hub.inventory import catalog

    with hubctx.db.write() as conn:
        catalog.update_item(conn, sample["apples"]["id"], {"plu": "21482"}, actor="test")
    body = get_resolve(client, auth, "2302148210869").get_json()
    assert body["item"]["sku"] == "APPLE" and body["qty"] == 1086 and body["weight_g"] == 1086


def test_resolve_us_price_label_by_plu(client, auth, hubctx, sample):
    from hub.inventory import catalog

    with hubctx.db.write() as conn:
        settings.put(conn, "barcode_region", "US")
        settings.put(conn, "currency", "USD")
        catalog.create_item(
            conn,
            {
                "sku": "DELI-HAM",
                "name_en": "Deli ham",
                "unit": "each",
                "price_minor": 0,
                "variable_measure": True,
                "plu": "12345",
            },
            actor="test",
        )
    body = get_resolve(client, auth, "212345703496").get_json()
    assert body["kind"] == "item" and body["item"]["sku"] == "DELI-HAM"
    assert body["parsed"]["price_minor"] == 349 and body["parsed"]["currency"] == "USD" and body["qty"] == 1
    # the same label with a wrong price check digit (6 instead of 7) is refused
    r = get_resolve(client, auth, "212345603499")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_price_check_digit"


def test_resolve_location_badge_order(client, auth, sample):
    body = get_resolve(client, auth, "SHL-A01-02").get_json()
    assert body["kind"] == "location" and body["location"]["id"] == sample["bin2"]["id"] and body["item"] is None
    body = get_resolve(client, auth, "]C0SHB-BADGE-associate").get_json()
    assert body["kind"] == "badge" and body["parsed"]["own_code"] == "BADGE-associate"
    body = get_resolve(client, auth, "SHO-PO-2026-0042").get_json()
    assert body["kind"] == "order" and body["order_ref"] == "PO-2026-0042"
    r = get_resolve(client, auth, "SHL-Z99")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_code"


@pytest.mark.parametrize(
    "code,status,err",
    [
        ("4006381333931", 404, "unknown_code"),  # valid GTIN, not in the catalog
        ("5901234123458", 400, "invalid_check_digit"),  # milk with the wrong check digit
        ("]C100106141411234567897", 404, "unknown_code"),  # an SSCC names no item
        ("garbage!!", 400, "unparseable"),
        ("59012341\x0023457", 400, "unstorable_text"),  # NUL: refused at the HTTP entry, before the parser
        ("59012341\x0723457", 400, "invalid_characters"),  # a control character the parser refuses
    ],
)
def test_resolve_errors(client, auth, sample, code, status, err):
    r = get_resolve(client, auth, code)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["code"] == err


def test_resolve_needs_login_and_code(client, auth, sample):
    assert client.get("/api/v1/scan/resolve?code=96385074").status_code == 401
    r = client.get("/api/v1/scan/resolve", headers=auth())
    assert r.status_code == 400


def test_unknown_code_reports(client, auth, sample, hubctx):
    r = client.post(
        "/api/v1/unknown-codes",
        headers=auth(),
        json={"code": "4006381333931", "note": "shelf A01", "location_id": sample["bin1"]["id"]},
    )
    assert r.status_code == 201, r.get_json()
    rep = r.get_json()
    assert rep["gtin"] == "04006381333931" and rep["kind"] == "gtin" and rep["parse_error"] is None
    r = client.post("/api/v1/unknown-codes", headers=auth(), json={"code": "5901234123458"})
    assert r.status_code == 201 and r.get_json()["parse_error"] == "invalid_check_digit"
    r = client.post("/api/v1/unknown-codes", headers=auth(), json={"code": "4006381333931", "location_id": "nope"})
    assert r.status_code == 422
    assert client.get("/api/v1/unknown-codes", headers=auth("associate")).status_code == 403
    listing = client.get("/api/v1/unknown-codes", headers=auth("supervisor")).get_json()
    assert listing["total"] == 2 and {i["code"] for i in listing["items"]} == {"4006381333931", "5901234123458"}
    conn = hubctx.db.read()
    facts = [json.loads(r[0]) for r in conn.execute("SELECT payload FROM outbox WHERE kind='unknown_code.report'")]
    assert {f["id"] for f in facts} == {i["id"] for i in listing["items"]}
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE action='unknown_code.report'")]
    assert len(actions) == 2


def test_resolve_is_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/scan/resolve" in doc["paths"] and "/api/v1/unknown-codes" in doc["paths"]


def test_resolve_domain_function_directly(hubctx, sample):
    conn = hubctx.db.read()
    res = scan.resolve(conn, "]E05901234123457", settings=settings.get_all(conn), with_stock=False)
    assert res.item["sku"] == "MILK-1L" and "stock" not in res.item


def test_fuzz_scan_endpoints_never_5xx(app, client, sample):
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings

    from tests.support.common import login

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema = schema.include(path_regex=r"/scan/|/unknown-codes")
    headers = {"Authorization": f"Bearer {login(client, 'supervisor')}"}
    errors, ops = [], 0
    for result in schema.get_all_operations():
        op = result.ok()
        ops += 1

        @given(case=op.as_strategy())
        @hsettings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            resp = case.call(headers=headers)
            if resp.status_code >= 500:  # run() is called right below, in this iteration: op is this one
                errors.append((op.method, op.path, case.query, case.body, resp.text[:200]))  # noqa: B023

        run()
    assert ops == 3
    assert not errors, errors[:3]


def test_unresolved_scans_are_logged(client, auth, sample, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="storehub.scan"):
        get_resolve(client, auth, "5901234123458")
        get_resolve(client, auth, "4006381333931")
    msgs = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "storehub.scan"]
    assert ("WARNING", "scan not resolved: 400 invalid_check_digit code='5901234123458'") == (
        msgs[0][0],
        msgs[0][1].split(" device=")[0],
    )
    assert msgs[1][0] == "INFO" and "unknown_code" in msgs[1][1]

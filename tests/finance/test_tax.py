"""VAT categories as data with validity dates (issue 18): the rate in force for an item at a time switches at the
first local day of a new period; overlapping periods are refused; an item's own category wins over its catalog
category's, and an item with neither keeps the ``checkout.tax_rates`` setting; the routes; the till prices with it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.finance import tax
from hub.kernel import settings
from hub.kernel.errors import NotFound, ValidationError


@pytest.fixture
def rates(hubctx, sample):
    with hubctx.db.write() as conn:
        settings.put(conn, "timezone", "Asia/Shanghai")
        tax.put_category(conn, "standard", name_en="Standard", name_zh="标准税率", actor="t")
        tax.put_category(conn, "food", name_en="Agricultural", name_zh="农产品", actor="t")
        tax.add_rate(conn, "standard", "0.16", "2018-05-01", "2019-03-31", actor="t")
        tax.add_rate(conn, "standard", "0.13", "2019-04-01", actor="t")
        tax.add_rate(conn, "food", "0.10", "2018-05-01", "2019-03-31", actor="t")
        tax.add_rate(conn, "food", "0.09", "2019-04-01", actor="t")
        tax.assign_item(conn, sample["milk"]["id"], "food", actor="t")
        tax.assign_catalog_category(conn, "fruit", "food", actor="t")
        conn.execute("UPDATE items SET category = 'fruit' WHERE id = ?", (sample["apples"]["id"],))
    return sample


def test_the_rate_switches_on_the_first_local_day_of_the_new_period(hubctx, rates):
    conn = hubctx.db.read()
    milk = rates["milk"]["id"]
    # 2019-03-31 23:59 in Shanghai is 15:59 UTC; midnight local is 16:00 UTC
    assert tax.rate_for(conn, milk, datetime(2019, 3, 31, 15, 59, tzinfo=UTC)) == "0.10"
    assert tax.rate_for(conn, milk, datetime(2019, 3, 31, 16, 0, tzinfo=UTC)) == "0.09"
    assert tax.rate_for(conn, milk, "2019-04-01T00:00:00Z") == "0.09"
    assert tax.rate_for(conn, rates["apples"]["id"], "2018-12-01T00:00:00Z") == "0.10"  # by its catalog category
    assert tax.rate_for(conn, rates["rice"]["id"], "2018-12-01T00:00:00Z") == "0.13"  # no category: the setting
    lines = [{"item_id": rates[k]["id"], "category": c} for k, c in (("milk", ""), ("apples", "fruit"), ("rice", ""))]
    assert tax.line_rates(conn, lines, {"default": "0.06"}, "2020-01-01T00:00:00Z") == ["0.09", "0.09", "0.06"]


def test_periods_never_overlap_and_bad_input_is_refused(hubctx, rates):
    with hubctx.db.write() as conn:
        with pytest.raises(ValidationError) as e:
            tax.add_rate(conn, "standard", "0.11", "2024-01-01", actor="t")
        assert e.value.code == "tax_rate_overlap" and e.value.details["valid_from"] == "2019-04-01"
        with pytest.raises(ValidationError) as e:
            tax.add_rate(conn, "food", "0.05", "2017-01-01", "2018-05-01", actor="t")
        assert e.value.code == "tax_rate_overlap"
        for rate, start, end, code in (
            ("1.5", "2030-01-01", None, "invalid_tax_rate"),
            ("0.123456", "2030-01-01", None, "invalid_tax_rate"),
            ("abc", "2030-01-01", None, "invalid_tax_rate"),
            ("0.05", "2030-02-30", None, "invalid_tax_period"),
        ):
            with pytest.raises(ValidationError) as e:
                tax.add_rate(conn, "standard", rate, start, end, actor="t")
            assert e.value.code == code, rate
        with pytest.raises(NotFound):
            tax.add_rate(conn, "luxury", "0.13", "2030-01-01", actor="t")
        # ending the open period then adding the next one is how a rate changes
        assert tax.end_rate(conn, "standard", "2029-12-31", actor="t")["valid_to"] == "2029-12-31"
        tax.add_rate(conn, "standard", "0.12", "2030-01-01", actor="t")
        v = tax.version(conn)
    conn = hubctx.db.read()
    assert tax.rate_for(conn, rates["rice"]["id"], "2030-06-01T00:00:00Z") == "0.13"  # rice has no category
    with hubctx.db.write() as conn:
        tax.assign_item(conn, rates["rice"]["id"], "standard", actor="t")
        assert tax.version(conn) == v + 1
    assert tax.rate_for(hubctx.db.read(), rates["rice"]["id"], "2030-06-01T00:00:00Z") == "0.12"
    assert tax.rate_for(hubctx.db.read(), rates["rice"]["id"], "2029-12-31T12:00:00Z") == "0.13"


def test_a_category_without_a_rate_that_day_is_an_error_not_a_guess(hubctx, rates):
    with pytest.raises(ValidationError) as e:
        tax.rate_for(hubctx.db.read(), rates["milk"]["id"], "2010-01-01T00:00:00Z")
    assert e.value.code == "tax_rate_missing" and e.value.details == {"category": "food", "day": "2010-01-01"}


def test_routes(client, auth, hubctx, rates):
    r = client.put(
        "/api/v1/finance/tax/categories/zero", json={"name_en": "Zero", "name_zh": "零税率"}, headers=auth("manager")
    )
    assert r.status_code == 200, r.get_json()
    r = client.post(
        "/api/v1/finance/tax/categories/zero/rates",
        json={"rate": "0", "valid_from": "2020-01-01"},
        headers=auth("manager"),
    )
    assert r.status_code == 201, r.get_json()
    r = client.post(
        "/api/v1/finance/tax/categories/zero/rates",
        json={"rate": "0", "valid_from": "2021-01-01"},
        headers=auth("manager"),
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "tax_rate_overlap"
    assert (
        client.post(
            "/api/v1/finance/tax/categories/zero/rates",
            json={"rate": "0", "valid_from": "2022-01-01"},
            headers=auth("associate"),
        ).status_code
        == 403
    )
    r = client.put(
        f"/api/v1/finance/tax/items/{rates['rice']['id']}", json={"category": "zero"}, headers=auth("manager")
    )
    assert r.status_code == 200
    r = client.get(f"/api/v1/finance/tax/items/{rates['rice']['id']}/rate?at=2024-05-01", headers=auth())
    assert r.get_json()["rate"] == "0"
    cats = {c["code"]: c for c in client.get("/api/v1/finance/tax/categories", headers=auth()).get_json()["items"]}
    assert [x["rate"] for x in cats["standard"]["rates"]] == ["0.16", "0.13"]
    assert (
        client.put("/api/v1/finance/tax/items/nope", json={"category": "zero"}, headers=auth("manager")).status_code
        == 404
    )


def test_the_till_prices_with_the_rate_in_force(client, auth, hubctx, rates):
    def post(path, body, status=200):
        r = client.post(f"/api/v1/checkout{path}", json=body, headers=auth())
        assert r.status_code == status, r.get_json()
        return r.get_json()

    post("/tills/T1/shifts", {"float_counted": {"10000": 1}}, 201)
    cart = post("/tills/T1/carts", {}, 201)
    view = post(f"/carts/{cart['id']}/scan", {"code": "5901234123457"})  # milk: its own category, food
    view = post(f"/carts/{cart['id']}/scan", {"code": "96385074"})  # rice: no category, the setting's default
    by_sku = {ln["sku"]: ln for ln in view["lines"]}
    assert (by_sku["MILK-1L"]["tax_rate"], by_sku["RICE-5KG"]["tax_rate"]) == ("0.09", "0.13")
    assert by_sku["MILK-1L"]["tax_minor"] == round(1250 * 9 / 109)
    with hubctx.db.write() as conn:  # a change of the tax data reaches the very next price (no stale cache)
        tax.assign_item(conn, rates["rice"]["id"], "food", actor="t")
    view = post(f"/carts/{cart['id']}/scan", {"code": "5901234123457"})
    assert {ln["sku"]: ln["tax_rate"] for ln in view["lines"]} == {"MILK-1L": "0.09", "RICE-5KG": "0.09"}

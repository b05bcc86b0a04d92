"""``%`` and ``_`` typed into a search are text, not wildcards (issue 11, hole 7): the hub's item and order
searches and head office's stock report escape every LIKE pattern built from user input
(:mod:`hub.kernel.sqllike`)."""

from __future__ import annotations

from hub.kernel.sqllike import LIKE_ESCAPE, like_contains, like_escape
from tests.support.orders import order_body


def test_like_escape_keeps_text_literal():
    assert like_escape("50%_off!") == "50!%!_off!!" and like_contains("a_b") == "%a!_b%" and LIKE_ESCAPE == "!"


def test_item_search_takes_percent_and_underscore_literally(client, auth, sample):
    h = auth("manager")
    assert client.get("/api/v1/items", headers=h).get_json()["total"] >= 3
    for q in ("%", "_", "%25", "!"):
        assert client.get("/api/v1/items", query_string={"q": q}, headers=h).get_json()["total"] == 0, q
    made = client.post(
        "/api/v1/items",
        json={"sku": "TEA_50%", "name_en": "Tea 50% off", "unit": "each", "price_minor": 100},
        headers=h,
    )
    assert made.status_code in (200, 201), made.get_json()
    for q in ("%", "_50", "50%", "TEA_"):
        got = client.get("/api/v1/items", query_string={"q": q}, headers=h).get_json()
        assert [i["sku"] for i in got["items"]] == ["TEA_50%"], q
    # a GTIN search still finds a code by its end
    assert [i["sku"] for i in client.get("/api/v1/items?q=23457", headers=h).get_json()["items"]] == ["MILK-1L"]


def test_order_search_takes_percent_and_underscore_literally(client, auth, sample):
    h = auth("manager")
    for ext in ("W-1", "W_2"):
        r = client.post("/api/v1/orders", json=order_body(ext, [{"sku": "MILK-1L", "qty": 1}]), headers=h)
        assert r.status_code in (200, 201), r.get_json()
    assert client.get("/api/v1/orders", query_string={"q": "%"}, headers=h).get_json()["total"] == 0
    got = client.get("/api/v1/orders", query_string={"q": "W_"}, headers=h).get_json()
    assert [o["external_id"] for o in got["items"]] == ["W_2"]

"""Schemathesis fuzzes every orders/picking operation (as admin, on a stocked store with live orders):
no input may cause a 5xx."""

import schemathesis

from tests.support.common import login
from tests.support.fuzz import assert_no_server_errors
from tests.support.orders import order_body, store


def test_orders_api_has_no_server_errors(app, client, hubctx, sample):
    store(hubctx, sample)
    headers = {"Authorization": f"Bearer {login(client, 'admin')}"}
    for i in range(3):
        client.post(
            "/api/v1/orders",
            json=order_body(f"F-{i}", [{"sku": "MILK-1L", "qty": 1}, {"sku": "APPLE", "grams": 300}]),
            headers=headers,
        )
    client.post("/api/v1/pick-lists", json={"max_orders": 2}, headers=headers)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema = schema.include(path_regex=r"^/api/v1/(orders|pick-lists|pick-tasks)")
    assert_no_server_errors(schema, headers, min_operations=25)

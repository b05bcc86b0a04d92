"""Schemathesis fuzzes the device-bus routes (as admin): no input may cause a 5xx."""

import schemathesis

from tests.support.common import login
from tests.support.fuzz import assert_no_server_errors


def test_device_routes_never_fail_with_5xx(app, client, sample):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema = schema.include(path_regex=r"/(devices|dead-letters|alerts|device-commands|device-scans|shelves)")
    assert_no_server_errors(schema, {"Authorization": f"Bearer {login(client, 'admin')}"}, min_operations=11)

"""Schemathesis fuzzes the sync routes of the hub and every documented route of the central's
read API: no input may cause a 5xx."""

from __future__ import annotations

import schemathesis

from sync.central import office
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from tests.support.common import login
from tests.support.fuzz import assert_no_server_errors


def _fuzz(schema, headers, min_ops):
    assert_no_server_errors(schema, headers, min_operations=min_ops)


def test_hub_sync_routes_never_5xx(app, client, sample):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex=r"/sync/")
    _fuzz(schema, {"Authorization": f"Bearer {login(client, 'admin')}"}, 4)


def test_central_read_api_never_5xx(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    app = create_app(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=engine)
    office.add_user(engine, "adam", "admin-pass-1234", "admin")
    tok = app.test_client().post("/api/v1/auth/token", json={"username": "adam", "password": "admin-pass-1234"})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    _fuzz(schema, {"Authorization": f"Bearer {tok.get_json()['token']}"}, 7)
    engine.dispose()

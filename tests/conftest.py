"""Shared fixtures: a hub on a temporary data directory, users of each role, a sample store, browser pages.

Each test folder (``tests/<domain>/``) has its own ``conftest.py`` for its own fixtures; plain helpers live in
``tests/support/``. Test modules never import fixtures from each other."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from hub.app import create_app
from hub.kernel.config import HubConfig
from tests.support.common import PASSWORDS, PINS, login

# Browser fixtures (hub_server, ui_browser, phone) for every folder's UI tests, and the check of every fact
# the suite records against its declared schema.
pytest_plugins = ["tests.support.ui", "tests.support.facts"]


# ---------------------------------------------------------------- leaving the test process
# Playwright's sync API runs on greenlet. On CPython 3.11 greenlet can segfault in its thread-state
# destructor while the interpreter shuts down (python-greenlet/greenlet#411): seen here once after
# "571 passed", turning a green run into exit 139. Once pytest has written every report and cache
# (this hook runs last of all), the process ends with pytest's own exit status and skips that teardown.
_SESSION: list[pytest.Session] = []


def pytest_sessionstart(session):
    _SESSION.append(session)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _SESSION and "greenlet" in sys.modules and os.environ.get("STOREHUB_TEST_HARD_EXIT", "1") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(_SESSION[-1].exitstatus))


@pytest.fixture
def data_dir(tmp_path) -> Path:
    d = tmp_path / "hub"
    d.mkdir()
    return d


@pytest.fixture
def app(data_dir):
    from hub.auth import users
    from hub.store import initialise

    application = create_app(HubConfig(data_dir=data_dir, testing=True))
    ctx = application.extensions["storehub"]
    initialise(ctx.db, store_id="test-store", store_name="Test Store", currency="CNY", language="en")
    with ctx.db.write() as conn:
        for role, pin in PINS.items():
            users.create(conn, username=role, role=role, pin=pin, badge=f"BADGE-{role}", secret_key=ctx.secret_key)
        for role, pw in PASSWORDS.items():
            users.create(
                conn,
                username=role,
                role=role,
                password=pw,
                pin="9999" if role == "manager" else None,
                secret_key=ctx.secret_key,
            )
    yield application
    ctx.db.close()


@pytest.fixture
def hubctx(app):
    return app.extensions["storehub"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    """auth('manager') -> headers with a bearer token for that role."""
    cache: dict[str, dict] = {}

    def _headers(role: str = "associate") -> dict:
        if role not in cache:
            cache[role] = {"Authorization": f"Bearer {login(client, role)}"}
        return cache[role]

    return _headers


@pytest.fixture
def sample(hubctx):
    """A small store: two bins and three items (one by weight)."""
    from hub.inventory import catalog, locations

    with hubctx.db.write() as conn:
        store = locations.get_by_code(conn, "STORE")
        area = locations.create(
            conn, code="FLOOR", name="Sales floor", kind="area", parent_id=store["id"], walk_seq=1, actor="test"
        )
        aisle = locations.create(
            conn, code="A01", name="Aisle 1", kind="aisle", parent_id=area["id"], walk_seq=10, actor="test"
        )
        bin1 = locations.create(
            conn, code="A01-01", name="Aisle 1 bin 1", kind="bin", parent_id=aisle["id"], walk_seq=11, actor="test"
        )
        bin2 = locations.create(
            conn, code="A01-02", name="Aisle 1 bin 2", kind="bin", parent_id=aisle["id"], walk_seq=12, actor="test"
        )
        milk = catalog.create_item(
            conn,
            {
                "sku": "MILK-1L",
                "name_en": "Milk 1L",
                "name_zh": "牛奶 1升",
                "unit": "each",
                "price_minor": 1250,
                "cost_minor": 800,
                "gtins": ["5901234123457"],
                "unit_weight_g": 1030,
            },
            actor="test",
        )
        rice = catalog.create_item(
            conn,
            {
                "sku": "RICE-5KG",
                "name_en": "Rice 5kg",
                "name_zh": "大米 5公斤",
                "unit": "each",
                "price_minor": 4990,
                "cost_minor": 3500,
                "gtins": ["96385074"],
            },
            actor="test",
        )
        apples = catalog.create_item(
            conn,
            {
                "sku": "APPLE",
                "name_en": "Apples",
                "name_zh": "苹果",
                "unit": "kg",
                "price_minor": 1200,
                "cost_minor": 700,
                "variable_measure": True,
                "plu": "4131",
                "gtins": ["2302148000002"],
            },
            actor="test",
        )
    return {
        "bin1": bin1,
        "bin2": bin2,
        "aisle": aisle,
        "area": area,
        "store": store,
        "milk": milk,
        "rice": rice,
        "apples": apples,
    }

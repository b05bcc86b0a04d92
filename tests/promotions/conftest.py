"""Fixtures of the promotions tests (the shared hub fixtures are in tests/conftest.py; builders of promotions and
baskets in tests/support/promotions.py)."""

import pytest


@pytest.fixture
def hub_db(hubctx):
    """The test hub's database (migrated, with the promotions domain's ``coupon_codes``)."""
    return hubctx.db

"""Fixtures of the members tests (the shared hub fixtures are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from hub.members import identity

CONSENT = {"purpose": "loyalty", "granted": True}


@pytest.fixture
def enrol(hubctx):
    """enrol(phone, **kw) -> the member's till view (a new member, or the one the phone already names)."""

    def _enrol(phone: str, **kw):
        with hubctx.db.write() as conn:
            member, _created = identity.enrol(conn, phone=phone, consent=kw.pop("consent", CONSENT), actor="test", **kw)
        return member

    return _enrol

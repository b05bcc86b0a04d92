"""Fixtures of the staff tests (the shared hub fixtures are in tests/conftest.py): more people than the shared
hub has, so a supervisor can decide about someone else and a roster has a crew."""

from __future__ import annotations

import pytest

from hub.auth import users


@pytest.fixture
def crew(hubctx):
    """User ids by username: the shared hub's users plus a second supervisor and two associates."""
    with hubctx.db.write() as conn:
        users.create(
            conn,
            username="supervisor2",
            role="supervisor",
            pin="3333",
            badge="BADGE-sup2",
            secret_key=hubctx.secret_key,
        )
        users.create(
            conn,
            username="li",
            role="associate",
            pin="4444",
            badge="BADGE-li",
            display_name="Li Wei",
            secret_key=hubctx.secret_key,
        )
        users.create(
            conn,
            username="zhang",
            role="associate",
            pin="5555",
            badge="BADGE-zhang",
            display_name="Zhang Min",
            secret_key=hubctx.secret_key,
        )
    return {u["username"]: u["id"] for u in users.list_all(hubctx.db.read())}

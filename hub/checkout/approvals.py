"""A supervisor's approval at the till: the supervisor scans their badge on the cashier's screen.

The badge is checked like a badge login (``hub.auth.users.authenticate``: failures are counted and audited,
lockouts apply) but opens no session; the approver's user id is recorded on what they approved."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.auth import users
from hub.kernel.errors import Forbidden, StoreHubError

BADGE_PREFIX = "SHB-"


def approve(
    conn: sqlite3.Connection,
    badge: str | None,
    *,
    secret_key: bytes,
    what: str,
    device: str | None = None,
    role: str = "supervisor",
) -> dict[str, Any]:
    """The approving user, or ``Forbidden(approval_required|approval_refused)``: never a 401, which the
    till's screen would take for the cashier's own session ending."""
    if not badge:
        raise Forbidden(f"{what} needs a supervisor's badge", code="approval_required", details={"what": what})
    text = badge.strip()
    if text.upper().startswith(BADGE_PREFIX):
        text = text[len(BADGE_PREFIX) :]
    try:
        user = users.authenticate(conn, secret_key=secret_key, badge=text, device=device)
    except StoreHubError:
        raise Forbidden("that badge is not a supervisor's", code="approval_refused", details={"what": what}) from None
    if not users.has_role(user["role"], role):
        raise Forbidden("that badge is not a supervisor's", code="approval_refused", details={"what": what})
    return user

"""Facts the auth domain records in the outbox: a staff member's public record (``hub/auth/users.py``).

``user.upsert`` is also recorded by ``hub/synclink/downlink.py`` when the central sends a user; both write
``users.get(conn, id)``, so it is declared once, here. Credential hashes and badge digests never appear in it."""

from __future__ import annotations

from hub.domain import Fact, object_schema

ROLES = ["associate", "supervisor", "manager", "admin"]  # hub.auth.users.ROLES
LANGUAGES = ["en", "zh-CN"]  # hub.auth.users.LANGUAGES

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="user.upsert",
        schema=object_schema(
            {
                "id": _STR,
                "username": _STR,
                "display_name": _STR,
                "role": {"type": "string", "enum": ROLES},
                "language": {"type": "string", "enum": LANGUAGES},
                "active": _BOOL,
                "has_pin": _BOOL,
                "has_password": _BOOL,
                "has_badge": _BOOL,
            }
        ),
        description="A staff member was created on the hub or created/updated from the central's downlink.",
        live=False,
        projected=False,
        note="Not folded into any central table: kept only in the central's raw events table (sync/central/ingest.py "
        "stores every accepted event there), readable by kind through the central read API's GET /events.",
    ),
)

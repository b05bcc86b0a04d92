"""Facts the auth domain records in the outbox: a staff member's public record (``hub/auth/users.py``).

``user.upsert`` is also recorded by ``hub/synclink/downlink.py`` when the central sends a user; both write
``users.fact(conn, id)``, so it is declared once, here. Credential hashes and badge digests never appear in it, and
the display name only sealed to the central (``display_name_sealed``; hub/kernel/pii.py)."""

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
                # the display name sealed to the central (hub.kernel.pii.seal; null: this hub has no central key
                # yet, the name stays on the hub); never in plain text
                "display_name_sealed": {"type": ["string", "null"], "pattern": "^seal1:s[0-9a-f]{8}:[A-Za-z0-9_-]+$"},
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
        projected=True,  # the central keeps the sealed name encrypted at rest (sync/central/personal.py)
    ),
)

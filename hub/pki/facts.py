"""Facts the pki domain records in the outbox, each with its JSON Schema (see docs/facts.md)."""

from __future__ import annotations

from hub.domain import Fact, object_schema

FINGERPRINT = {"type": "string", "pattern": "^([0-9A-F]{2}:){31}[0-9A-F]{2}$"}

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="pki.enrolled",
        schema=object_schema(
            {
                "device_id": {"type": "string", "minLength": 1, "maxLength": 64},
                "ca_fingerprint": FINGERPRINT,
                "enrolled_at": {"type": "string"},
                "user_agent": {"type": ["string", "null"], "maxLength": 300},
            },
            required=["device_id", "ca_fingerprint", "enrolled_at"],
        ),
        description="A handheld or till loaded the app over HTTPS for the first time with this store CA "
        "(it trusts the CA: it is enrolled).",
        projected=False,
        note="Kept in the central's raw events table (which devices of a store are enrolled, and when); no "
        "central view reads it yet.",
    ),
)

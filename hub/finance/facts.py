"""Facts the finance domain records in the outbox, each with its JSON Schema (see docs/facts.md)."""

from __future__ import annotations

from hub.domain import Fact, object_schema

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="finance.recorded",
        schema=object_schema({
            "id": {"type": "string"},
            "title": {"type": "string", "minLength": 1},
            "created_by": {"type": "string"},
            "device": {"type": ["string", "null"]},
            "created_at": {"type": "string"},
        }),
        description="A finance record was created.",
        live=True,
        projected=False,
        note="Kept in the central's raw events table until the central has a finance projection.",
    ),
)

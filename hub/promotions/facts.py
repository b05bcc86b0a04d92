"""Facts the promotions domain records in the outbox (docs/facts.md): the redemption of a single-use coupon."""

from __future__ import annotations

from typing import Any

from hub.domain import Fact, object_schema

_STR: dict[str, Any] = {"type": "string"}

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="coupon.redeemed",
        schema=object_schema(
            {
                "code": _STR,
                "promotion_id": _STR,
                "sale_id": _STR,
                "discount_minor": {"type": "integer", "minimum": 0},
                "online": {"type": "boolean"},
                "at": _STR,
                "reserved_as": _STR,
            },
            ["code", "promotion_id", "sale_id", "discount_minor", "online", "at"],
        ),
        description="A single-use coupon was redeemed in a sale (online: reserved at the central first; offline: "
        "accepted under the offline rules). The central counts it against the promotion's budget and reports a "
        "code redeemed twice.",
    ),
)

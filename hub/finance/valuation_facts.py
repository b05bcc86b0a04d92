"""Facts of finance's valuation (issue 18), merged into the domain's ``FACTS`` by ``hub/finance/__init__.py``."""

from __future__ import annotations

from hub.domain import Fact, object_schema

_STR = {"type": "string", "minLength": 1}
_INT = {"type": "integer"}

VALUATION_FACTS: tuple[Fact, ...] = (
    Fact(
        kind="finance.stock_cost",
        schema=object_schema(
            {
                "movement_seq": {"type": "integer", "minimum": 1},
                "movement_id": _STR,
                "kind": {"enum": ["sale", "pick", "return", "writeoff", "count", "adjust"]},
                "line": {"enum": ["cogs", "shrink"]},
                "item_id": _STR,
                "location_id": _STR,
                "category": {"type": "string"},
                "qty_delta": _INT,
                "unit_cost_minor": {"type": ["integer", "null"], "minimum": 0},
                "value_minor": _INT,
                "ref": {"type": ["string", "null"]},
                "ts": _STR,
            }
        ),
        description=(
            "The cost of a stock movement that moves the P&L, at the moving-average cost of the moment: COGS for a "
            "sale or pick (a return back at the cost it left with), shrink for a write-off or a count/adjustment "
            "(value_minor is the signed stock value change: negative when stock left)."
        ),
        projected=True,
    ),
)

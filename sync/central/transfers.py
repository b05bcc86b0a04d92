"""Suggested transfers between stores for items running low (pure logic).

An item is *short* in a store when on hand is at or below its reorder point; it
wants to get back to twice the reorder point. A store can *give* what it holds
above twice its own reorder point. Givers with the most surplus are matched to
the neediest stores first; quantities are whole units of stock (pieces or grams).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    store_id: str
    on_hand: int
    reorder_point: int


def suggest(levels: list[Level]) -> list[dict]:
    """Transfers for one item: [{"from", "to", "qty"}]."""
    need = sorted(
        (
            (2 * lv.reorder_point - max(lv.on_hand, 0), lv.store_id)
            for lv in levels
            if lv.reorder_point > 0 and lv.on_hand <= lv.reorder_point
        ),
        reverse=True,
    )
    give = sorted(
        ((lv.on_hand - 2 * lv.reorder_point, lv.store_id) for lv in levels if lv.on_hand > 2 * lv.reorder_point),
        reverse=True,
    )
    give = [[qty, sid] for qty, sid in give if qty > 0]
    out = []
    for wanted, to in need:
        for g in give:
            if wanted <= 0:
                break
            if g[0] <= 0 or g[1] == to:
                continue
            qty = min(g[0], wanted)
            out.append({"from": g[1], "to": to, "qty": qty})
            g[0] -= qty
            wanted -= qty
    return out

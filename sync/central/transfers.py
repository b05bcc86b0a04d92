"""Suggested transfers between stores for items running low (pure logic).

An item is *short* in a store when on hand is at or below its reorder point; it
wants to get back to twice the reorder point. A store can *give* what it holds
above twice its own reorder point. Givers with the most surplus are matched to
the neediest stores first; quantities are whole units of stock (pieces or grams).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from hub.protocol.ids import new_id
from sync.central import downlink
from sync.central import schema as t


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


# ------------------------------------------------------------------------------------------------ transfer documents
# A transfer between stores lives on two hubs (hub/purchasing/transfers.py). The central sees its steps as
# ``transfer.step`` facts in the raw events table; it relays the shipped step to the receiving store through the
# downlink (kind ``transfer``, key ``<id>:shipped``, scope the receiving store), proposes transfers for head office
# (key ``<id>:proposed``, scope the sending store) and shows the in-transit book across stores.


def _steps(conn: Connection, *, step: str | None = None) -> list[dict[str, Any]]:
    q = select(t.events.c.store_id, t.events.c.seq, t.events.c.payload, t.events.c.hub_ts).where(
        t.events.c.kind == "transfer.step"
    )
    if step is not None:
        q = q.where(t.events.c.payload["step"].as_string() == step)
    return [dict(r) for r in conn.execute(q.order_by(t.events.c.hub_ts, t.events.c.seq)).mappings()]


def relay(engine: Engine, store_id: str) -> int:
    """Author the downlink changes ``store_id`` has not been sent yet: the shipments to it (from the sending
    store's own report) and the receipts of what it sent (from the receiving store's report, so the sender's copy
    leaves transit and shows the discrepancies). Idempotent, keyed ``<id>:<stage>``; called before the store reads
    its downlink, so a central restarted between storing a step and relaying it relays it at the next poll.
    Returns how many changes it authored."""
    with engine.connect() as conn:
        todo = [
            ("shipped", s)
            for s in _steps(conn, step="shipped")
            if s["payload"]["transfer"].get("to_store") == store_id
            and s["store_id"] == s["payload"]["transfer"].get("from_store")
        ] + [
            ("received", s)
            for s in _steps(conn, step="received")
            if s["payload"]["transfer"].get("from_store") == store_id
            and s["store_id"] == s["payload"]["transfer"].get("to_store")
        ]
        if not todo:
            return 0
        done = set(
            conn.execute(
                select(t.downlink_changes.c.key).where(
                    t.downlink_changes.c.kind == "transfer", t.downlink_changes.c.scope == store_id
                )
            ).scalars()
        )
        known = conn.execute(select(t.stores.c.store_id).where(t.stores.c.store_id == store_id)).first() is not None
    if not known:
        return 0
    n = 0
    for stage, s in todo:
        doc = s["payload"]["transfer"]
        if f"{doc['id']}:{stage}" in done:
            continue
        downlink.author(
            engine, "transfer", {"stage": stage, "transfer": doc}, scope=store_id, author=f"relay:{s['store_id']}"
        )
        done.add(f"{doc['id']}:{stage}")
        n += 1
    return n


def propose(
    engine: Engine,
    *,
    from_store: str,
    to_store: str,
    lines: list[dict[str, Any]],
    author: str,
    note: str = "",
) -> dict[str, Any]:
    """Head office proposes a transfer: it goes down to the sending store (which accepts, picks and ships it)."""
    out = []
    with engine.connect() as conn:
        for i, ln in enumerate(lines, start=1):
            sku = ln.get("sku")
            item_id = ln.get("item_id")
            if not item_id:
                row = conn.execute(
                    select(t.store_items.c.item_id).where(
                        t.store_items.c.store_id == from_store, t.store_items.c.sku == sku
                    )
                ).first()
                item_id = row[0] if row else ""
            out.append(
                {
                    "line_no": i,
                    "item_id": item_id,
                    "sku": sku,
                    "qty": int(ln.get("qty") or 0),
                    "picked": 0,
                    "shipped": 0,
                    "received": 0,
                    "lots": [],
                }
            )
    doc = {
        "id": new_id(),
        "from_store": from_store,
        "to_store": to_store,
        "status": "proposed",
        "origin": "head_office",
        "proposed_by": author,
        "note": note,
        "lines": out,
    }
    return downlink.author(engine, "transfer", {"stage": "proposed", "transfer": doc}, scope=from_store, author=author)


def documents(engine: Engine) -> list[dict[str, Any]]:
    """Every transfer's latest state across stores (the last step either store reported), newest first."""
    with engine.connect() as conn:
        latest: dict[str, dict[str, Any]] = {}
        for s in _steps(conn):
            doc = s["payload"]["transfer"]
            cur = latest.get(doc["id"])
            step = s["payload"]["step"]
            if cur is None or _RANK[step] >= _RANK[cur["status"]]:
                latest[doc["id"]] = {**doc, "status": step, "reported_by": s["store_id"], "updated_at": s["hub_ts"]}
    return sorted(latest.values(), key=lambda d: d["updated_at"], reverse=True)


_RANK = {s: i for i, s in enumerate(("proposed", "accepted", "picked", "shipped", "received", "closed", "cancelled"))}


def in_transit(engine: Engine) -> list[dict[str, Any]]:
    """The in-transit book across stores: per transfer line shipped and not yet received by the other store."""
    out = []
    for d in documents(engine):
        if d["status"] != "shipped":
            continue
        for ln in d["lines"]:
            if ln.get("shipped"):
                out.append(
                    {
                        "transfer_id": d["id"],
                        "from_store": d["from_store"],
                        "to_store": d["to_store"],
                        "item_id": ln["item_id"],
                        "sku": ln["sku"],
                        "qty": ln["shipped"],
                        "shipped_at": d["updated_at"],
                    }
                )
    return out


def discrepancies(engine: Engine) -> list[dict[str, Any]]:
    """Discrepancies the receiving stores reported, per transfer."""
    return [
        {"transfer_id": d["id"], "from_store": d["from_store"], "to_store": d["to_store"], **x}
        for d in documents(engine)
        if d["status"] in ("received", "closed")
        for x in d.get("discrepancies") or []
    ]


def suggestions(engine: Engine) -> list[dict[str, Any]]:
    """:func:`suggest` over every item across stores, from the projected stock (summed over each store's
    locations, less what is already in transit to it) and each store's reorder point: ``[{sku, from, to, qty}]``,
    ready for head office to propose (``POST /api/v1/transfers``)."""
    from collections import defaultdict

    from sqlalchemy import func

    with engine.connect() as conn:
        points = {
            (r["store_id"], r["sku"]): (r["item_id"], int(r["reorder_point"]))
            for r in conn.execute(
                select(
                    t.store_items.c.store_id,
                    t.store_items.c.item_id,
                    t.store_items.c.sku,
                    t.store_items.c.reorder_point,
                ).where(t.store_items.c.active.is_(True))
            ).mappings()
        }
        held = {
            (r["store_id"], r["item_id"]): int(r["on_hand"])
            for r in conn.execute(
                select(t.stock.c.store_id, t.stock.c.item_id, func.sum(t.stock.c.on_hand).label("on_hand")).group_by(
                    t.stock.c.store_id, t.stock.c.item_id
                )
            ).mappings()
        }
    coming: dict[tuple[str, str], int] = defaultdict(int)
    for x in in_transit(engine):
        coming[(x["to_store"], x["sku"])] += int(x["qty"])
    by_sku: dict[str, list[Level]] = defaultdict(list)
    for (store, sku), (item_id, rp) in points.items():
        by_sku[sku].append(Level(store, held.get((store, item_id), 0) + coming[(store, sku)], rp))
    return [{"sku": sku, **s} for sku in sorted(by_sku) for s in suggest(by_sku[sku])]

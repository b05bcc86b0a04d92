"""Recall of a lot across stores at the central: where it is now in every store, what each store sold when
(receipts), to which members (where known) and for which orders, and the transfers between stores that carried it;
exportable as CSV (the same columns as the hub's export, hub/purchasing/recall.py).

Read from the facts the hubs push, kept in the raw events table: ``lot.moved`` (the lots of each movement of a
lot-controlled item, FEFO where the movement named none), ``sale.completed`` (receipt code → sale id, till,
time), ``points.entry`` (sale id → member), ``order.created`` (order id → reference)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from hub.kernel.errors import NotFound
from hub.purchasing.recall import CSV_COLUMNS, to_csv
from sync.central import schema as t

__all__ = ["CSV_COLUMNS", "recall", "rows", "to_csv"]


def _events(conn, kind: str, store_ids: set[str] | None = None):
    q = select(t.events.c.store_id, t.events.c.payload, t.events.c.hub_ts).where(t.events.c.kind == kind)
    if store_ids is not None:
        q = q.where(t.events.c.store_id.in_(sorted(store_ids)))
    return conn.execute(q.order_by(t.events.c.store_id, t.events.c.seq)).mappings()


def recall(engine: Engine, lot: str, *, item_id: str | None = None) -> dict[str, Any]:
    if not lot:
        raise NotFound("a lot is required", code="lot_required")
    on_hand: dict[tuple[str, str, str], int] = defaultdict(int)
    expiry: dict[tuple[str, str], str | None] = {}
    sold: list[dict[str, Any]] = []
    picked: list[dict[str, Any]] = []
    transfers: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for e in _events(conn, "lot.moved"):
            p = e["payload"]
            if item_id and p["item_id"] != item_id:
                continue
            for lt in p["lots"]:
                if lt["lot"] != lot:
                    continue
                s = e["store_id"]
                on_hand[(s, p["item_id"], p["location_id"])] += lt["qty_delta"]
                expiry[(s, p["item_id"])] = lt.get("expiry") or expiry.get((s, p["item_id"]))
                base = {"store_id": s, "item_id": p["item_id"], "ts": p["ts"], "ref": p.get("ref")}
                if p["kind"] == "sale" and lt["qty_delta"] < 0:
                    sold.append({**base, "qty": -lt["qty_delta"], "receipt_code": p.get("ref")})
                elif p["kind"] == "pick" and lt["qty_delta"] < 0:
                    picked.append({**base, "qty": -lt["qty_delta"], "order_id": p.get("ref")})
                elif (p.get("ref") or "").startswith("xfer:"):
                    transfers.append({**base, "kind": p["kind"], "qty": lt["qty_delta"], "transfer_id": p["ref"][5:]})
        stores = {r["store_id"] for r in sold} | {r["store_id"] for r in picked}
        receipts: dict[tuple[str, str], dict[str, Any]] = {}
        if sold:
            codes = {(r["store_id"], r["receipt_code"]) for r in sold}
            for e in _events(conn, "sale.completed", stores):
                p = e["payload"]
                if (e["store_id"], p.get("receipt_code")) in codes:
                    receipts[(e["store_id"], p["receipt_code"])] = p
            sale_ids = {p["sale_id"]: k for k, p in receipts.items()}
            member_of: dict[str, str] = {}
            for e in _events(conn, "points.entry", stores):
                p = e["payload"]
                if p.get("ref") in sale_ids and p.get("kind") == "earn":
                    member_of.setdefault(p["ref"], p["member_id"])
            for r in sold:
                sale = receipts.get((r["store_id"], r["receipt_code"]))
                r["sale_id"] = sale["sale_id"] if sale else None
                r["till_id"] = sale.get("till_id") if sale else None
                r["ts"] = sale["ts"] if sale else r["ts"]
                r["member_id"] = member_of.get(r["sale_id"]) if sale else None
        if picked:
            refs: dict[tuple[str, str], str] = {}
            for e in _events(conn, "order.created", stores):
                p = e["payload"]
                if p.get("id"):
                    refs[(e["store_id"], p["id"])] = p.get("ref")
            for r in picked:
                r["order_ref"] = refs.get((r["store_id"], r["order_id"] or ""))
        skus = {
            (r["store_id"], r["item_id"]): r["sku"]
            for r in conn.execute(
                select(t.store_items.c.store_id, t.store_items.c.item_id, t.store_items.c.sku)
            ).mappings()
        }
        codes_of = {
            (r["store_id"], r["location_id"]): r["code"]
            for r in conn.execute(
                select(t.store_locations.c.store_id, t.store_locations.c.location_id, t.store_locations.c.code)
            ).mappings()
        }
    now = [
        {
            "store_id": s,
            "item_id": i,
            "sku": skus.get((s, i)),
            "location_id": loc,
            "location_code": codes_of.get((s, loc)),
            "expiry": expiry.get((s, i)),
            "qty": q,
        }
        for (s, i, loc), q in sorted(on_hand.items())
        if q != 0
    ]
    for r in sold + picked + transfers:
        r["sku"] = skus.get((r["store_id"], r["item_id"]))
    by_store: dict[str, int] = defaultdict(int)
    for r in now:
        by_store[r["store_id"]] += r["qty"]
    return {
        "lot": lot,
        "item_id": item_id,
        "on_hand": now,
        "on_hand_by_store": dict(sorted(by_store.items())),
        "sold": sold,
        "orders": picked,
        "transfers": transfers,
        "members": sorted({(r["store_id"], r["member_id"]) for r in sold if r.get("member_id")}),
        "stores": sorted({r["store_id"] for r in now} | stores | {r["store_id"] for r in transfers}),
    }


def rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    lot = r["lot"]
    out: list[dict[str, Any]] = []
    for h in r["on_hand"]:
        out.append({"section": "on_hand", "lot": lot, **h, "where": h["location_code"] or h["location_id"]})
    for s in r["sold"]:
        out.append({"section": "sold", "lot": lot, **s, "where": s.get("till_id")})
    for o in r["orders"]:
        out.append({"section": "order", "lot": lot, **o})
    for x in r["transfers"]:
        out.append({"section": "transfer", "lot": lot, **x, "ref": x["transfer_id"]})
    return out

"""Supplier scorecard at the central (issue 16): per supplier across stores, and per supplier × store, from the
purchasing facts every hub sends up (kept raw in ``events``): ``supplier.upsert`` (code, name, promised lead
time), ``po.step`` (the whole order after each step), ``po.receipt`` (what arrived, at what cost) and
``supplier.return`` (returns to supplier with their reason).

A supplier is known across stores by its **code** (each hub gives its supplier rows its own ids). Per order that
was sent (cancelled orders are left out):

- *due*: received in full, or its expected day is before ``today`` (else it is not judged yet);
- *on time*: received in full by the end of its expected day (UTC day of the last receipt);
- *fill rate*: units received (each line capped at what was ordered) / units ordered, over due orders;
- *lead time*: days from sent to the receipt that completed it, against the promised lead time the supplier had
  (its latest ``supplier.upsert`` in that store), over orders received in full;
- *price variance*: Σ (received unit cost − ordered unit cost) × units received, and that over Σ ordered unit
  cost × units received (a percent; positive = paid more than ordered);
- *quality returns*: units returned to the supplier for a quality reason (``quality``, ``damaged``, ``expired``)
  / units received from it.

Pure reading: one query per fact kind, folded in Python (the purchasing facts are few next to sales)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from hub.protocol.timeutil import parse_iso
from sync.central import schema as t

QUALITY_REASONS = ("quality", "damaged", "expired")
KINDS = ("supplier.upsert", "po.step", "po.receipt", "supplier.return")


def _events(conn, store_id: str | None):
    c = t.events.c
    q = select(c.store_id, c.kind, c.seq, c.payload).where(c.kind.in_(KINDS))
    if store_id is not None:
        q = q.where(c.store_id == store_id)
    return conn.execute(q.order_by(c.store_id, c.seq)).all()


def _day(ts: str) -> date:
    return parse_iso(ts).date()


class _Acc:
    def __init__(self) -> None:
        self.orders = 0
        self.due = 0
        self.on_time = 0
        self.ordered = 0
        self.filled = 0
        self.lead_days: list[int] = []
        self.promised_days: list[int] = []
        self.received_units = 0
        self.variance_minor = 0
        self.ordered_value_minor = 0
        self.quality_units = 0
        self.returned_units = 0

    def out(self) -> dict[str, Any]:
        def ratio(a: float, b: float) -> float | None:
            return round(a / b, 4) if b else None

        def mean(xs: list[int]) -> float | None:
            return round(sum(xs) / len(xs), 2) if xs else None

        return {
            "orders": self.orders,
            "due": self.due,
            "on_time": self.on_time,
            "on_time_rate": ratio(self.on_time, self.due),
            "ordered_units": self.ordered,
            "filled_units": self.filled,
            "fill_rate": ratio(self.filled, self.ordered),
            "lead_time_days": mean(self.lead_days),
            "promised_lead_time_days": mean(self.promised_days),
            "price_variance_minor": self.variance_minor,
            "price_variance_pct": None
            if not self.ordered_value_minor
            else round(100 * self.variance_minor / self.ordered_value_minor, 2),
            "received_units": self.received_units,
            "returned_units": self.returned_units,
            "quality_returned_units": self.quality_units,
            "quality_return_rate": ratio(self.quality_units, self.received_units),
        }


def compute(engine: Engine, *, today: date, store_id: str | None = None) -> dict[str, Any]:
    """``{"suppliers": [{code, name, stores: [...], ...figures}], "today"}`` — each supplier's figures across
    stores, with ``stores`` holding the same figures per store."""
    with engine.connect() as conn:
        rows = _events(conn, store_id)
    suppliers: dict[tuple[str, str], dict[str, Any]] = {}  # (store, supplier id) -> latest supplier.upsert
    orders: dict[tuple[str, str], dict[str, Any]] = {}  # (store, po id) -> latest po
    sent_at: dict[tuple[str, str], str] = {}
    receipts: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    returns: list[tuple[str, dict[str, Any]]] = []
    for store, kind, _seq, p in rows:
        if kind == "supplier.upsert":
            suppliers[(store, p["id"])] = p
        elif kind == "po.step":
            po = p["po"]
            orders[(store, po["id"])] = po
            if p["step"] == "sent":
                sent_at.setdefault((store, po["id"]), p["ts"])
        elif kind == "po.receipt":
            receipts[(store, p["po_id"])].append(p)
        else:
            returns.append((store, p))

    def code_of(store: str, supplier_id: str) -> str:
        s = suppliers.get((store, supplier_id))
        return s["code"] if s else supplier_id

    total: dict[str, _Acc] = defaultdict(_Acc)
    per_store: dict[tuple[str, str], _Acc] = defaultdict(_Acc)
    for key, po in orders.items():
        store = key[0]
        if key not in sent_at or po["status"] == "cancelled":
            continue
        code = code_of(store, po["supplier_id"])
        accs = (total[code], per_store[(code, store)])
        ordered = {ln["item_id"]: (ln["qty"], ln["unit_cost_minor"]) for ln in po["lines"]}
        got: dict[str, int] = defaultdict(int)
        variance = value = units = 0
        done_ts = None
        for r in sorted(receipts.get(key, []), key=lambda r: r["ts"]):
            for ln in r["lines"]:
                got[ln["item_id"]] += ln["qty"]
                units += ln["qty"]
                if ln["item_id"] in ordered:
                    cost = ordered[ln["item_id"]][1]
                    variance += (ln["unit_cost_minor"] - cost) * ln["qty"]
                    value += cost * ln["qty"]
            if done_ts is None and all(got[i] >= q for i, (q, _c) in ordered.items()):
                done_ts = r["ts"]
        expected = date.fromisoformat(po["expected_date"]) if po.get("expected_date") else None
        complete = done_ts is not None
        due = complete or (expected is not None and expected < today)
        supplier = suppliers.get((store, po["supplier_id"]))
        for a in accs:
            a.orders += 1
            a.received_units += units
            a.variance_minor += variance
            a.ordered_value_minor += value
            if not due:
                continue
            a.due += 1
            a.ordered += sum(q for q, _c in ordered.values())
            a.filled += sum(min(got[i], q) for i, (q, _c) in ordered.items())
            if done_ts is not None:
                if expected is None or _day(done_ts) <= expected:
                    a.on_time += 1
                a.lead_days.append((_day(done_ts) - _day(sent_at[key])).days)
                if supplier is not None:
                    a.promised_days.append(int(supplier["lead_time_days"]))
    for store, r in returns:
        code = code_of(store, r["supplier_id"])
        for a in (total[code], per_store[(code, store)]):
            a.returned_units += r["qty"]
            if r["reason"] in QUALITY_REASONS:
                a.quality_units += r["qty"]
    names = {s["code"]: s["name"] for s in suppliers.values()}
    out = []
    for code in sorted(total):
        out.append(
            {
                "code": code,
                "name": names.get(code, code),
                **total[code].out(),
                "stores": [{"store_id": st, **acc.out()} for (c, st), acc in sorted(per_store.items()) if c == code],
            }
        )
    return {"today": today.isoformat(), "store_id": store_id, "suppliers": out}


def suggested_orders(engine: Engine, *, store_id: str | None = None) -> dict[str, Any]:
    """Head office's view of what replenishment suggests across stores: each store's current draft orders written
    by its replenishment run (``po.step`` facts of orders with origin ``replenishment`` whose latest state is
    ``draft``; a later run replaces or cancels them, so only the newest remain), with supplier code and lines."""
    with engine.connect() as conn:
        rows = _events(conn, store_id)
    suppliers: dict[tuple[str, str], dict[str, Any]] = {}
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for store, kind, _seq, p in rows:
        if kind == "supplier.upsert":
            suppliers[(store, p["id"])] = p
        elif kind == "po.step":
            latest[(store, p["po"]["id"])] = {**p["po"], "updated": p["ts"]}
    out = []
    for (store, _po_id), po in sorted(latest.items(), key=lambda kv: (kv[0][0], kv[1]["number"])):
        if po.get("origin") != "replenishment" or po["status"] != "draft":
            continue
        sup = suppliers.get((store, po["supplier_id"]))
        out.append(
            {
                "store_id": store,
                "po_id": po["id"],
                "number": po["number"],
                "supplier_code": sup["code"] if sup else po["supplier_id"],
                "supplier_name": sup["name"] if sup else "",
                "currency": po.get("currency"),
                "total_minor": po.get("total_minor", 0),
                "updated": po["updated"],
                "lines": [
                    {
                        "item_id": ln["item_id"],
                        "sku": ln.get("sku", ""),
                        "qty": ln["qty"],
                        "unit_cost_minor": ln["unit_cost_minor"],
                    }
                    for ln in po["lines"]
                ],
            }
        )
    return {
        "orders": out,
        "stores": sorted({o["store_id"] for o in out}),
        "total_minor": sum(o["total_minor"] for o in out),
    }

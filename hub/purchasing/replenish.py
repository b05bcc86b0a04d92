"""Replenishment on the hub: reorder point and safety stock per item from its sales, its supplier's lead time
and the store's target service level; suggested quantities rounded to case packs and supplier minimums,
grouped into draft purchase orders per supplier. Run on demand (``POST /purchasing/replenishment``) and by the
nightly timer (``storehub purchasing replenish``). The formula is in :func:`hub.purchasing.rules.reorder_levels`
and docs/purchasing.md.

Demand is read from ``daily_sales`` (one aggregate query: the sum and the sum of squares per item over the
window, days without a row counting as zero), so the run's cost grows with items, not with sales. Stock
position = on hand − reserved + still to come on orders in approval, approved, sent or partly received, and on
drafts people made; the drafts this process made are replaced on every run (and cancelled when no longer
needed), so a nightly run never piles up orders.

Demand source per item (``demand_source`` in each suggestion): when the central has sent down a fresh forecast
for the item (hub/purchasing/forecasts.py; made at most a week ago and reaching over lead time + review period),
the mean daily demand is the forecast's over those days (``"forecast"``, with its ``forecast_model``); otherwise
the hub's own velocity over the demand window (``"velocity"``). The spread (sd) is always the hub's history."""

from __future__ import annotations

import math
import sqlite3
from datetime import date, timedelta
from typing import Any

from hub.kernel import outbox, settings
from hub.kernel.errors import ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.purchasing import forecasts, orders, rules

# The authority the nightly process drafts orders with: it may draft (a supervisor's right), never approve.
SYSTEM_ROLE = "supervisor"
_ON_ORDER = ("pending_approval", "approved", "sent", "partly_received")


def _supply(conn: sqlite3.Connection) -> dict[str, sqlite3.Row]:
    """Each active item's source: its preferred supplier, else its only (or first) active supplier."""
    out: dict[str, sqlite3.Row] = {}
    for r in conn.execute(
        "SELECT si.item_id, si.supplier_id, si.case_units, si.preferred, s.lead_time_days, s.lead_time_sd_days,"
        " i.unit, i.cost_minor, i.sku FROM supplier_items si JOIN suppliers s ON s.id = si.supplier_id"
        " AND s.active = 1 JOIN items i ON i.id = si.item_id AND i.active = 1"
        " ORDER BY si.item_id, si.preferred DESC, s.code"
    ):
        out.setdefault(r["item_id"], r)
    return out


def compute(conn: sqlite3.Connection, *, today: date) -> list[dict[str, Any]]:
    """Every sourced item's figures and, where its stock position is at or below the reorder point, the
    suggested quantity (``suggest`` > 0) rounded up to whole cases. Reads only."""
    window = settings.get(conn, "purchasing.demand_window_days")
    level = settings.get(conn, "purchasing.service_level")
    review = settings.get(conn, "purchasing.review_period_days")
    since = (today - timedelta(days=window)).isoformat()
    demand = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT item_id, SUM(qty), SUM(qty * qty) FROM daily_sales WHERE day >= ? AND day < ? GROUP BY item_id",
            (since, today.isoformat()),
        )
    }
    stock = {
        r[0]: r[1] - r[2]
        for r in conn.execute("SELECT item_id, SUM(on_hand), SUM(reserved) FROM stock GROUP BY item_id")
    }
    on_order = {
        r[0]: r[1]
        for r in conn.execute(
            f"SELECT l.item_id, SUM(l.qty - l.received) FROM po_lines l JOIN purchase_orders p ON p.id = l.po_id"
            f" WHERE l.qty > l.received AND (p.status IN ({','.join('?' * len(_ON_ORDER))})"
            f" OR (p.status = 'draft' AND p.origin != 'replenishment')) GROUP BY l.item_id",
            _ON_ORDER,
        )
    }
    day = today.isoformat()
    costs = {
        (r[0], r[1]): r[2]
        for r in conn.execute(
            "SELECT supplier_id, item_id, cost_minor FROM supplier_prices WHERE valid_from <= ? AND"
            " (valid_to IS NULL OR valid_to >= ?) ORDER BY valid_from",
            (day, day),
        )
    }
    fresh = forecasts.all_fresh(conn, today)
    out = []
    for item_id, src in _supply(conn).items():
        total, squares = demand.get(item_id, (0, 0))
        velocity = total / window
        sd = math.sqrt(max(squares / window - velocity * velocity, 0.0))
        f = fresh.get(item_id)
        mean = forecasts.lead_time_demand(f, math.ceil(src["lead_time_days"] + review)) if f else None
        source = "velocity" if mean is None else "forecast"
        if mean is None:
            mean = velocity
        lv = rules.reorder_levels(mean, sd, src["lead_time_days"], src["lead_time_sd_days"], review, level)
        position = stock.get(item_id, 0) + on_order.get(item_id, 0)
        suggest = 0
        if mean > 0 and position <= lv.reorder_point:
            suggest = rules.round_to_cases(lv.order_up_to - position, src["case_units"])
        cost = costs.get((src["supplier_id"], item_id), src["cost_minor"])
        out.append(
            {
                "item_id": item_id,
                "sku": src["sku"],
                "supplier_id": src["supplier_id"],
                "unit": src["unit"],
                "avg_daily": mean,
                "velocity_daily": velocity,
                "demand_source": source,
                "forecast_model": f[0] if source == "forecast" and f else None,
                "sd_daily": sd,
                "lead_time_days": src["lead_time_days"],
                "safety_stock": lv.safety_stock,
                "reorder_point": lv.reorder_point,
                "order_up_to": lv.order_up_to,
                "position": position,
                "case_units": src["case_units"],
                "unit_cost_minor": cost,
                "suggest": suggest,
                "days_of_cover": (position / mean) if mean > 0 else None,
            }
        )
    return out


def _meet_minimum(lines: list[dict[str, Any]], minimum: int) -> bool:
    """Add whole cases, most urgent line first, round after round, until the order reaches the supplier's
    minimum value. False when it cannot (every line costs nothing)."""

    def value() -> int:
        return sum(rules.line_value(x["unit"], x["suggest"], x["unit_cost_minor"]) for x in lines)

    if value() >= minimum:
        return True
    if all(x["unit_cost_minor"] == 0 for x in lines):
        return False
    order = sorted(lines, key=lambda x: x["days_of_cover"] if x["days_of_cover"] is not None else math.inf)
    while value() < minimum:
        for x in order:
            x["suggest"] += x["case_units"]
            x["bumped_for_minimum"] = True
            if value() >= minimum:
                break
    return True


def run(
    conn: sqlite3.Connection, *, today: date, actor: str, create_drafts: bool = True, device: str | None = None
) -> dict[str, Any]:
    """Compute every item's figures (kept in ``replenishment_params``), group the suggestions per supplier,
    raise them to the supplier's minimum and, with ``create_drafts``, write one draft order per supplier
    (replacing this process's earlier draft for that supplier). Inside the caller's write transaction."""
    if not conn.in_transaction:
        raise RuntimeError("replenish.run outside a write transaction")
    rows = compute(conn, today=today)
    ts = now_iso()
    conn.execute("DELETE FROM replenishment_params")
    conn.executemany(
        "INSERT INTO replenishment_params(item_id, supplier_id, avg_daily, sd_daily, lead_time_days, safety_stock,"
        " reorder_point, order_up_to, computed_at) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (
                r["item_id"],
                r["supplier_id"],
                r["avg_daily"],
                r["sd_daily"],
                r["lead_time_days"],
                r["safety_stock"],
                r["reorder_point"],
                r["order_up_to"],
                ts,
            )
            for r in rows
        ],
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["suggest"] > 0:
            groups.setdefault(r["supplier_id"], []).append(r)
    minimums = {s[0]: s[1] for s in conn.execute("SELECT id, min_order_minor FROM suppliers")}
    below_min = [sid for sid, lines in groups.items() if not _meet_minimum(lines, minimums.get(sid, 0))]
    drafts = []
    if create_drafts:
        old = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT supplier_id, id FROM purchase_orders WHERE status = 'draft' AND origin = 'replenishment'"
            )
        }
        for sid, lines in sorted(groups.items()):
            body = [
                {"item_id": x["item_id"], "qty": x["suggest"], "unit_cost_minor": x["unit_cost_minor"]} for x in lines
            ]
            if sid in old:
                po = orders.set_lines(conn, old.pop(sid), body, actor=actor, role=SYSTEM_ROLE, device=device)
            else:
                po, _ = orders.create(
                    conn,
                    supplier_id=sid,
                    lines=body,
                    actor=actor,
                    role=SYSTEM_ROLE,
                    idempotency_key=f"replenish:{new_id()}",
                    origin="replenishment",
                    device=device,
                )
            drafts.append(
                {
                    "po_id": po["id"],
                    "number": po["number"],
                    "supplier_id": sid,
                    "lines": len(po["lines"]),
                    "total_minor": po["total_minor"],
                }
            )
        for po_id in old.values():
            orders.cancel(
                conn, po_id, reason="no longer needed (replenishment run)", actor=actor, role=SYSTEM_ROLE, device=device
            )
    summary = {
        "id": new_id(),
        "day": today.isoformat(),
        "items": len(rows),
        "suggested_items": sum(len(v) for v in groups.values()),
        "suppliers": len(groups),
        "drafts": drafts,
        "below_minimum": below_min,
        "ts": ts,
    }
    outbox.record(conn, "replenishment.run", summary, ts=ts)
    return {
        **summary,
        "suggestions": sorted((r for r in rows if r["suggest"] > 0), key=lambda r: (r["supplier_id"], r["sku"])),
    }


def params_of(conn: sqlite3.Connection, item_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM replenishment_params WHERE item_id = ?", (item_id,)).fetchone()
    if row is None:
        raise ValidationError("no replenishment run has computed this item yet", code="not_computed")
    return dict(row)

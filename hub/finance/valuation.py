"""Inventory valuation (issue 18, docs/valuation.md): the cost of goods sold and of shrink, stock value at any date,
gross margin.

**Cost of the moment.** Purchasing keeps the moving-average cost per item (``hub.purchasing.costing``: the
average in ``purchasing_items``, its trail in ``item_cost_history``, the catalog's ``cost_minor`` until the first
receipt). The ledger runs :func:`on_stock_out` / :func:`on_stock_in` inside the transaction of every movement that
changes stock on hand; they record, for each movement that moves the P&L, the unit cost in force at that moment
and the signed value in ``finance_stock_costs`` and as a ``finance.stock_cost`` fact for the central:

- ``sale`` and ``pick`` (an order leaving the shelf) are **COGS** at the average of the moment;
- ``writeoff`` and a count or adjustment down are **shrink** at that average; a count or adjustment up is a
  shrink gain at it (negative shrink);
- a ``return`` comes back at the cost it left with: the unit cost of the latest sale or pick of that item at that
  location (the current average if none is recorded), and lowers COGS by that value;
- receipts (costed by purchasing) and transfers (value stays in the store) are not P&L movements.

**Stock value at a date** is folded from the ledger, never read from a snapshot: on hand per item at the instant
(the sum of the movements before it) × the average in force at that instant (the last ``item_cost_history`` row
before it, else the catalog cost) — one SQL statement over the ``finance_movements_item_ts`` covering index.
Negative on-hand carries no value (as in purchasing's moving average) and is reported as such.

Amounts in fen; a kg item's quantity is grams and its cost is per kg, so value = grams × cost / 1000 rounded half
up (as the central's sale-line cost)."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.kernel import outbox, settings
from hub.kernel.errors import ValidationError
from hub.protocol.timeutil import iso, parse_iso

COGS_KINDS = frozenset({"sale", "pick", "return"})
SHRINK_KINDS = frozenset({"writeoff", "count", "adjust"})


def line_value(qty: int, unit_cost: int, unit: str) -> int:
    """Signed value of ``qty`` (pieces, or grams for a kg item) at ``unit_cost`` (per piece or per kg)."""
    if unit != "kg":
        return qty * unit_cost
    v = abs(qty) * unit_cost
    return (1 if qty >= 0 else -1) * ((v + 500) // 1000)


def _cost_now(conn: sqlite3.Connection, item_id: str) -> tuple[int | None, str, str]:
    """(moving-average unit cost now — the catalog cost until purchasing has one; None when neither is set, the
    item's unit, its category), in one query."""
    row = conn.execute(
        "SELECT i.unit, i.cost_minor, p.avg_cost_minor, i.category FROM items i"
        " LEFT JOIN purchasing_items p ON p.item_id = i.id WHERE i.id = ?",
        (item_id,),
    ).fetchone()
    if row is None:
        return None, "each", ""
    cost = row[2] if row[2] is not None else (row[1] or None)
    return cost, row[0], row[3]


def _cost_left_with(conn: sqlite3.Connection, item_id: str, location_id: str) -> int | None:
    row = conn.execute(
        "SELECT unit_cost_minor FROM finance_stock_costs WHERE item_id = ? AND location_id = ? AND kind IN"
        " ('sale', 'pick') AND unit_cost_minor IS NOT NULL ORDER BY movement_seq DESC LIMIT 1",
        (item_id, location_id),
    ).fetchone()
    return row[0] if row else None


def _record(conn: sqlite3.Connection, movement: dict[str, Any]) -> None:
    kind = movement["kind"]
    if kind not in COGS_KINDS and kind not in SHRINK_KINDS:
        return
    cost, unit, category = _cost_now(conn, movement["item_id"])
    if kind == "return":
        cost = _cost_left_with(conn, movement["item_id"], movement["location_id"]) or cost
    qty = int(movement["qty_delta"])
    row = {
        "movement_seq": movement["seq"],
        "movement_id": movement["id"],
        "kind": kind,
        "line": "cogs" if kind in COGS_KINDS else "shrink",
        "item_id": movement["item_id"],
        "location_id": movement["location_id"],
        "qty_delta": qty,
        "unit_cost_minor": cost,
        "value_minor": line_value(qty, cost, unit) if cost is not None else 0,
        "ref": movement.get("ref"),
        "ts": movement["ts"],
    }
    conn.execute(
        "INSERT INTO finance_stock_costs(movement_seq, movement_id, kind, line, item_id, location_id, qty_delta,"
        " unit_cost_minor, value_minor, ref, ts) VALUES (:movement_seq, :movement_id, :kind, :line, :item_id,"
        " :location_id, :qty_delta, :unit_cost_minor, :value_minor, :ref, :ts) ON CONFLICT DO NOTHING",
        row,
    )
    outbox.record(conn, "finance.stock_cost", {**row, "category": category}, ts=movement["ts"])


def on_stock_out(conn: sqlite3.Connection, movement: dict[str, Any]) -> None:
    """Ledger ``stock_out`` hook: cost a sale, pick, write-off or count/adjustment down at the moment's average."""
    _record(conn, movement)


def on_stock_in(conn: sqlite3.Connection, movement: dict[str, Any]) -> None:
    """Ledger ``stock_in`` hook: a return at the cost it left with, a count/adjustment up at the average."""
    _record(conn, movement)


# --- reading ------------------------------------------------------------------------------------------------------


def _zone(conn: sqlite3.Connection) -> ZoneInfo:
    return ZoneInfo(settings.get(conn, "timezone"))


def instant(conn: sqlite3.Connection, at: str, *, end_of_day: bool = True) -> str:
    """The UTC instant (stored-time format) a request names: an ISO time with offset, or a calendar day
    ``YYYY-MM-DD`` meaning the end of that day in the store's time zone (stock value *at* a date = at its close;
    ``end_of_day=False``: its start)."""
    text = (at or "").strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return iso(datetime.combine(d + timedelta(days=1 if end_of_day else 0), time(), _zone(conn)))
        return iso(parse_iso(text))
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a date (YYYY-MM-DD) or a time with an offset", code="invalid_valuation_date"
        ) from None


def day_range(conn: sqlite3.Connection, start: str, end: str) -> tuple[str, str]:
    """[start of ``start``, end of ``end``) as UTC instants (store's local days, both included)."""
    try:
        d0, d1 = date.fromisoformat(start), date.fromisoformat(end)
    except (TypeError, ValueError):
        raise ValidationError("from and to are calendar days (YYYY-MM-DD)", code="invalid_valuation_date") from None
    if d1 < d0:
        raise ValidationError("the period ends before it starts", code="invalid_valuation_date")
    tz = _zone(conn)
    return iso(datetime.combine(d0, time(), tz)), iso(datetime.combine(d1 + timedelta(days=1), time(), tz))


_STOCK_AT = """
WITH q AS (
  SELECT item_id, SUM(qty_delta) AS qty FROM movements WHERE ts < :at GROUP BY item_id
)
SELECT q.item_id, i.sku, i.category, i.unit, q.qty,
  COALESCE((SELECT h.avg_after_minor FROM item_cost_history h
            WHERE h.item_id = q.item_id AND h.ts < :at ORDER BY h.ts DESC, h.rowid DESC LIMIT 1),
           NULLIF(i.cost_minor, 0)) AS unit_cost_minor
FROM q JOIN items i ON i.id = q.item_id
WHERE q.qty != 0
"""


def stock_at(conn: sqlite3.Connection, at: str) -> list[dict[str, Any]]:
    """Per item: on hand at ``at`` (a UTC instant), the average cost in force then and the value."""
    out = []
    for r in conn.execute(_STOCK_AT, {"at": at}):
        cost = r[5]
        qty = r[4]
        value = line_value(qty, cost, r[3]) if cost is not None and qty > 0 else 0
        out.append(
            {
                "item_id": r[0],
                "sku": r[1],
                "category": r[2],
                "unit": r[3],
                "qty": qty,
                "unit_cost_minor": cost,
                "value_minor": value,
            }
        )
    return out


_VALUE_BY_CATEGORY = (
    "WITH s AS (" + _STOCK_AT + "), v AS (SELECT category, qty, unit_cost_minor,"
    " CASE WHEN qty > 0 AND unit_cost_minor IS NOT NULL THEN"
    " (CASE unit WHEN 'kg' THEN (qty * unit_cost_minor + 500) / 1000 ELSE qty * unit_cost_minor END)"
    " ELSE 0 END AS value FROM s)"
    " SELECT category, SUM(qty > 0), SUM(qty < 0), SUM(qty > 0 AND unit_cost_minor IS NULL), SUM(value)"
    " FROM v GROUP BY category"
)


def stock_value(conn: sqlite3.Connection, at: str, *, by: str = "total", limit: int = 100) -> dict[str, Any]:
    """Stock value at ``at`` (a day or an instant, see :func:`instant`): the total, and per category or per item.

    The total and the per-category figures are summed in the same SQL statement (one pass over the ledger's
    covering index); ``by="item"`` lists the ``limit`` largest values."""
    if by not in ("total", "category", "item"):
        raise ValidationError("by is total, category or item", code="invalid_valuation_group")
    when = instant(conn, at)
    cats = [
        {"category": r[0], "items": r[1], "negative_items": r[2], "uncosted_items": r[3], "value_minor": r[4]}
        for r in conn.execute(_VALUE_BY_CATEGORY, {"at": when})
    ]
    out: dict[str, Any] = {
        "at": when,
        "value_minor": sum(c["value_minor"] for c in cats),
        "items": sum(c["items"] for c in cats),
        "negative_items": sum(c["negative_items"] for c in cats),
        "uncosted_items": sum(c["uncosted_items"] for c in cats),
    }
    if by == "category":
        out["categories"] = sorted(
            ({"category": c["category"], "items": c["items"], "value_minor": c["value_minor"]} for c in cats),
            key=lambda c: (-c["value_minor"], c["category"]),
        )
    if by == "item":
        out["lines"] = sorted((r for r in stock_at(conn, when) if r["qty"] > 0), key=lambda r: -r["value_minor"])[
            :limit
        ]
    return out


_MARGIN = """
WITH rev AS (
  SELECT l.item_id,
         SUM(CASE s.kind WHEN 'sale' THEN l.net_minor - l.tax_minor ELSE -(l.net_minor - l.tax_minor) END) AS net_ex_tax,
         SUM(CASE s.kind WHEN 'sale' THEN l.qty ELSE -l.qty END) AS qty
  FROM checkout_sales s JOIN checkout_sale_lines l ON l.sale_id = s.id
  WHERE s.ts >= :start AND s.ts < :end GROUP BY l.item_id
), cost AS (
  SELECT item_id, -SUM(value_minor) AS cogs FROM finance_stock_costs
  WHERE line = 'cogs' AND ts >= :start AND ts < :end GROUP BY item_id
), shrink AS (
  SELECT item_id, -SUM(value_minor) AS shrink FROM finance_stock_costs
  WHERE line = 'shrink' AND ts >= :start AND ts < :end GROUP BY item_id
), ids AS (SELECT item_id FROM rev UNION SELECT item_id FROM cost UNION SELECT item_id FROM shrink)
SELECT ids.item_id, i.sku, i.name_en, i.name_zh, i.category, COALESCE(rev.qty, 0), COALESCE(rev.net_ex_tax, 0),
       COALESCE(cost.cogs, 0), COALESCE(shrink.shrink, 0)
FROM ids JOIN items i ON i.id = ids.item_id
LEFT JOIN rev ON rev.item_id = ids.item_id LEFT JOIN cost ON cost.item_id = ids.item_id
LEFT JOIN shrink ON shrink.item_id = ids.item_id
"""


def _pct(margin: int, sales: int) -> float | None:
    return round(100.0 * margin / sales, 2) if sales else None


def margin(conn: sqlite3.Connection, start: str, end: str, *, by: str = "item") -> dict[str, Any]:
    """Gross margin over the store's local days ``start``..``end``: net sales ex VAT (sales less returns, after
    discounts) − COGS at the cost of the moment, per item, per category or for the store; shrink beside it."""
    if by not in ("item", "category", "store"):
        raise ValidationError("by is item, category or store", code="invalid_valuation_group")
    t0, t1 = day_range(conn, start, end)
    groups: dict[str, dict[str, Any]] = {}
    for r in conn.execute(_MARGIN, {"start": t0, "end": t1}):
        key = r[0] if by == "item" else (r[4] if by == "category" else "store")
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"net_sales_minor": 0, "cogs_minor": 0, "shrink_minor": 0}
            if by == "item":
                g.update(item_id=r[0], sku=r[1], name_en=r[2], name_zh=r[3], category=r[4], qty=0)
            elif by == "category":
                g["category"] = r[4]
        if by == "item":
            g["qty"] += r[5]
        g["net_sales_minor"] += r[6]
        g["cogs_minor"] += r[7]
        g["shrink_minor"] += r[8]
    rows = []
    for g in groups.values():
        g["gross_margin_minor"] = g["net_sales_minor"] - g["cogs_minor"]
        g["gross_margin_pct"] = _pct(g["gross_margin_minor"], g["net_sales_minor"])
        rows.append(g)
    rows.sort(key=lambda g: (-g["gross_margin_minor"], str(g.get("sku") or g.get("category") or "")))
    totals = {k: sum(g[k] for g in rows) for k in ("net_sales_minor", "cogs_minor", "shrink_minor")}
    totals["gross_margin_minor"] = totals["net_sales_minor"] - totals["cogs_minor"]
    totals["gross_margin_pct"] = _pct(totals["gross_margin_minor"], totals["net_sales_minor"])
    return {"from": start, "to": end, "by": by, "rows": rows if by != "store" else [], "totals": totals}


def costs_of(conn: sqlite3.Connection, movement_id: str) -> dict[str, Any] | None:
    r = conn.execute("SELECT * FROM finance_stock_costs WHERE movement_id = ?", (movement_id,)).fetchone()
    return dict(r) if r is not None else None

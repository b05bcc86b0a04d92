"""Performance and commission per person over a pay period, from the checkout's sale records.

A sale's lines are attributed to its cashier (``checkout_sales.cashier``, the person logged in at the till). A
return is attributed to the cashier of the sale it refunds and counts in the period of the return, so a refund
takes back the commission that sale earned (a clawback), even when that sale was paid in an earlier, locked period.

Commission rules are data (``staff.commission_rules``): a percent of net sales per item category
(``categories``, ``default_percent`` for the rest), categories and SKUs that earn nothing, and ``tiers`` — each adds
``bonus_percent`` on the part of the period's commissionable net sales above its ``from_minor`` (tiers stack).
Amounts are integer minor units (fen), rounded half up once per person. A period whose refunds outweigh its sales
gives a negative commission: the payroll system deducts it.

Beside sales: lines and carts voided and prices overridden at the till, and order picks and shorts (picks per
worked hour). Figures are shown to the person and their supervisor only (``GET /staff/me/performance``, ``GET
/staff/performance``); nothing ranks people."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hub.kernel import settings


@dataclass(frozen=True)
class Line:
    """One sale line as commission sees it: net is negative for a refund."""

    category: str
    sku: str
    net_minor: int


def _pct(value: float | int) -> Decimal:
    return Decimal(str(value)) / 100


def commission(lines: Iterable[Line], rule: dict[str, Any]) -> dict[str, int]:
    """(commissionable net sales, commission) in minor units for one person's lines of a period."""
    excluded_cats, excluded_skus = set(rule["exclude_categories"]), set(rule["exclude_skus"])
    base, net = Decimal(0), 0
    for ln in lines:
        if ln.category in excluded_cats or ln.sku in excluded_skus:
            continue
        net += ln.net_minor
        base += Decimal(ln.net_minor) * _pct(rule["categories"].get(ln.category, rule["default_percent"]))
    bonus = sum((Decimal(max(0, net - t["from_minor"])) * _pct(t["bonus_percent"]) for t in rule["tiers"]), Decimal(0))
    return {
        "commissionable_minor": net,
        "commission_minor": int((base + bonus).quantize(Decimal(1), rounding=ROUND_HALF_UP)),
    }


def figures(conn: sqlite3.Connection, first_day: date, last_day: date) -> dict[str, dict[str, Any]]:
    """Per person (by user id) for the business dates of a period: sales, items, net sales, refunds taken back
    and commission. Weighed lines count as one item."""
    rule = settings.get(conn, "staff.commission_rules")
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"sales": 0, "items": 0, "net_sales_minor": 0, "returns": 0, "refunded_minor": 0}
    )
    lines: dict[str, list[Line]] = defaultdict(list)
    seen_sales: set[str] = set()
    for r in conn.execute(
        "SELECT s.id, s.kind, s.cashier, o.cashier AS sold_by, l.sku, l.qty, l.weighed, l.net_minor,"
        " COALESCE(i.category, '') AS category FROM checkout_sales s"
        " JOIN checkout_sale_lines l ON l.sale_id = s.id"
        " LEFT JOIN checkout_sales o ON o.id = s.original_sale_id"
        " LEFT JOIN items i ON i.id = l.item_id"
        " WHERE s.business_date >= ? AND s.business_date <= ? ORDER BY s.id, l.line_no",
        (first_day.isoformat(), last_day.isoformat()),
    ):
        items = 1 if r["weighed"] else r["qty"]
        if r["kind"] == "sale":
            p = out[r["cashier"]]
            if r["id"] not in seen_sales:
                p["sales"] += 1
                seen_sales.add(r["id"])
            p["items"] += items
            p["net_sales_minor"] += r["net_minor"]
            lines[r["cashier"]].append(Line(r["category"], r["sku"], r["net_minor"]))
        else:
            owner = r["sold_by"] or r["cashier"]
            p = out[owner]
            if r["id"] not in seen_sales:
                p["returns"] += 1
                seen_sales.add(r["id"])
            p["refunded_minor"] += r["net_minor"]
            lines[owner].append(Line(r["category"], r["sku"], -r["net_minor"]))
    for uid, p in out.items():
        p.update(commission(lines[uid], rule))
    return dict(out)


def activity(conn: sqlite3.Connection, lo: str, hi: str) -> dict[str, dict[str, int]]:
    """Per person between two UTC instants: lines voided and prices overridden at the till (in carts they
    opened), whole carts voided, and order picks confirmed and shorts reported."""
    out: dict[str, dict[str, int]] = defaultdict(
        lambda: {"voided_lines": 0, "voided_carts": 0, "overrides": 0, "picks": 0, "picked_units": 0, "shorts": 0}
    )
    for r in conn.execute(
        "SELECT c.created_by AS uid, SUM(l.voided) AS voided,"
        " SUM(CASE WHEN l.price_override_minor IS NOT NULL THEN 1 ELSE 0 END) AS overrides"
        " FROM checkout_cart_lines l JOIN checkout_carts c ON c.id = l.cart_id"
        " WHERE l.created_at >= ? AND l.created_at < ? GROUP BY c.created_by",
        (lo, hi),
    ):
        out[r["uid"]]["voided_lines"] += r["voided"] or 0
        out[r["uid"]]["overrides"] += r["overrides"] or 0
    for r in conn.execute(
        "SELECT created_by AS uid, COUNT(*) AS n FROM checkout_carts WHERE status = 'voided'"
        " AND updated_at >= ? AND updated_at < ? GROUP BY created_by",
        (lo, hi),
    ):
        out[r["uid"]]["voided_carts"] += r["n"]
    for r in conn.execute(
        "SELECT picker AS uid, SUM(CASE WHEN kind = 'pick' THEN 1 ELSE 0 END) AS picks,"
        " SUM(CASE WHEN kind = 'pick' THEN qty ELSE 0 END) AS units,"
        " SUM(CASE WHEN kind = 'short' THEN 1 ELSE 0 END) AS shorts"
        " FROM picks WHERE ts >= ? AND ts < ? GROUP BY picker",
        (lo, hi),
    ):
        out[r["uid"]].update(picks=r["picks"] or 0, picked_units=r["units"] or 0, shorts=r["shorts"] or 0)
    return dict(out)


def per_hour(count: int, worked_s: int) -> float | None:
    """A count per worked hour, two decimals; None without worked time."""
    return round(count * 3600 / worked_s, 2) if worked_s else None

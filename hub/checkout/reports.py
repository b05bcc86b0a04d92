"""X and Z report totals of a till's business day, read from the committed sales, tenders and cash moves.

The same numbers add up in every direction (tests/checkout property test): net sales − refunds + rounding =
what the tenders took in net = what the journal's sale and return entries say."""

from __future__ import annotations

import sqlite3
from typing import Any


def totals(conn: sqlite3.Connection, till_id: str, date: str) -> dict[str, Any]:
    s = conn.execute(
        "SELECT COALESCE(SUM(kind = 'sale'), 0), COALESCE(SUM(kind = 'return'), 0),"
        " COALESCE(SUM(CASE kind WHEN 'sale' THEN subtotal_minor END), 0),"
        " COALESCE(SUM(CASE kind WHEN 'sale' THEN discount_minor END), 0),"
        " COALESCE(SUM(CASE kind WHEN 'sale' THEN total_minor END), 0),"
        " COALESCE(SUM(CASE kind WHEN 'return' THEN total_minor END), 0),"
        " COALESCE(SUM(CASE kind WHEN 'sale' THEN rounding_minor ELSE -rounding_minor END), 0),"
        " MIN(receipt_no), MAX(receipt_no)"
        " FROM checkout_sales WHERE till_id = ? AND business_date = ?",
        (till_id, date),
    ).fetchone()
    tax = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT l.tax_rate, SUM(CASE s.kind WHEN 'sale' THEN l.tax_minor ELSE -l.tax_minor END)"
            " FROM checkout_sale_lines l JOIN checkout_sales s ON s.id = l.sale_id"
            " WHERE s.till_id = ? AND s.business_date = ? GROUP BY l.tax_rate ORDER BY l.tax_rate",
            (till_id, date),
        )
    }
    tenders = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT method, SUM(CASE direction WHEN 'in' THEN amount_minor ELSE -amount_minor END) FROM checkout_tenders"
            " WHERE till_id = ? AND business_date = ? AND state = 'paid' AND sale_id IS NOT NULL GROUP BY method"
            " ORDER BY method",
            (till_id, date),
        )
    }
    points_burnt = conn.execute(
        "SELECT COALESCE(SUM(CASE direction WHEN 'in' THEN points ELSE -points END), 0) FROM checkout_tenders"
        " WHERE till_id = ? AND business_date = ? AND state = 'paid' AND sale_id IS NOT NULL AND method = 'points'",
        (till_id, date),
    ).fetchone()[0]
    floats = conn.execute(
        "SELECT COALESCE(SUM(float_minor), 0) FROM checkout_shifts WHERE till_id = ? AND business_date = ?",
        (till_id, date),
    ).fetchone()[0]
    moves = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT kind, SUM(amount_minor) FROM checkout_cash_moves WHERE till_id = ? AND business_date = ? GROUP BY kind",
            (till_id, date),
        )
    }
    counted = conn.execute(
        "SELECT COALESCE(SUM(counted_minor), 0), COALESCE(SUM(over_short_minor), 0)"
        " FROM checkout_shifts WHERE till_id = ? AND business_date = ? AND status = 'closed'",
        (till_id, date),
    ).fetchone()
    cash_expected = (
        floats + tenders.get("cash", 0) + moves.get("paid_in", 0) - moves.get("paid_out", 0) - moves.get("safe_drop", 0)
    )
    return {
        "sales": s[0],
        "returns": s[1],
        "gross_sales_minor": s[2],
        "discount_minor": s[3],
        "net_sales_minor": s[4],
        "refunds_minor": s[5],
        "rounding_minor": s[6],
        "tax": [{"rate": r, "tax_minor": v} for r, v in tax.items()],
        "tenders": tenders,
        "points_burnt": points_burnt,  # net of points given back on returns
        "floats_minor": floats,
        "paid_in_minor": moves.get("paid_in", 0),
        "paid_out_minor": moves.get("paid_out", 0),
        "safe_drops_minor": moves.get("safe_drop", 0),
        "cash_expected_minor": cash_expected,
        "counted_minor": counted[0],
        "over_short_minor": counted[1],
        "first_receipt_no": s[7],
        "last_receipt_no": s[8],
    }

"""Shrink and accuracy over time, from approved counts (their frozen lines)."""

from __future__ import annotations

import sqlite3
from typing import Any

PERIODS = {"day": 10, "month": 7, "year": 4}


def shrink(
    conn: sqlite3.Connection,
    *,
    since: str | None = None,
    until: str | None = None,
    period: str = "month",
    by: str | None = None,
) -> list[dict[str, Any]]:
    """Shrink (losses), gains and net at cost per period (and per category when ``by='category'``)."""
    n = PERIODS[period]
    group = f"substr(s.approved_at, 1, {n})"
    cols = f"{group} AS period"
    if by == "category":
        cols += ", i.category"
        group += ", i.category"
    where, args = ["s.status = 'approved'", "l.final_variance IS NOT NULL"], []
    if since:
        where.append("s.approved_at >= ?")
        args.append(since)
    if until:
        where.append("s.approved_at < ?")
        args.append(until)
    rows = conn.execute(
        f"SELECT {cols}, COUNT(DISTINCT s.id) AS sessions, COUNT(*) AS lines,"
        " COALESCE(SUM(CASE WHEN l.final_variance_cost_minor < 0 THEN l.final_variance_cost_minor END), 0) AS shrink_cost_minor,"
        " COALESCE(SUM(CASE WHEN l.final_variance_cost_minor > 0 THEN l.final_variance_cost_minor END), 0) AS gain_cost_minor,"
        " COALESCE(SUM(l.final_variance_cost_minor), 0) AS net_cost_minor"
        " FROM count_lines l JOIN count_sessions s ON s.id = l.session_id JOIN items i ON i.id = l.item_id"
        f" WHERE {' AND '.join(where)} GROUP BY {group} ORDER BY 1",
        args,
    ).fetchall()
    return [dict(r) for r in rows]


def accuracy(conn: sqlite3.Connection, *, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
    """Per approved count: line accuracy (lines with no variance / lines) and value accuracy, oldest first."""
    where, args = ["s.status = 'approved'"], []
    if since:
        where.append("s.approved_at >= ?")
        args.append(since)
    if until:
        where.append("s.approved_at < ?")
        args.append(until)
    rows = conn.execute(
        "SELECT s.id, s.name, s.kind, s.approved_at, COUNT(l.item_id) AS lines,"
        " COALESCE(SUM(l.final_variance = 0), 0) AS exact,"
        " COALESCE(SUM(abs(l.final_variance_cost_minor)), 0) AS abs_cost,"
        " COALESCE(SUM(CASE WHEN l.final_expected > 0 THEN l.final_expected *"
        "   (CASE WHEN i.unit = 'kg' THEN i.cost_minor / 1000.0 ELSE i.cost_minor END) END), 0) AS expected_cost"
        " FROM count_sessions s LEFT JOIN count_lines l ON l.session_id = s.id AND l.final_variance IS NOT NULL"
        " LEFT JOIN items i ON i.id = l.item_id"
        f" WHERE {' AND '.join(where)} GROUP BY s.id ORDER BY s.approved_at",
        args,
    ).fetchall()
    out = []
    for r in rows:
        exp = r["expected_cost"]
        out.append(
            {
                "session_id": r["id"],
                "name": r["name"],
                "kind": r["kind"],
                "approved_at": r["approved_at"],
                "lines": r["lines"],
                "lines_exact": r["exact"],
                "line_accuracy_pct": round(100.0 * r["exact"] / r["lines"], 2) if r["lines"] else None,
                "value_accuracy_pct": round(100.0 * max(exp - r["abs_cost"], 0) / exp, 2) if exp else None,
            }
        )
    return out

"""Order and picker analytics: lines per hour per picker, time per state, short-pick rate."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any

from hub.protocol.timeutil import parse_iso


def _name(conn: sqlite3.Connection, r: sqlite3.Row) -> str | None:
    from hub.auth.users import display_name  # stored encrypted (issue 20)

    return display_name(conn, r["picker"], r["display_name"]) if r["display_name"] else None


def picker_stats(conn: sqlite3.Connection, since: str, until: str) -> list[dict[str, Any]]:
    """Per picker: task lines done (picked or short), time spent on pick lists, lines per hour.

    Time is measured per pick list from its start to the picker's last task in it, so breaks
    between walks do not count against anyone."""
    rows = conn.execute(
        "SELECT t.done_by AS picker, t.pick_list_id, t.status, t.done_at, p.started_at, u.display_name"
        " FROM pick_tasks t JOIN pick_lists p ON p.id = t.pick_list_id LEFT JOIN users u ON u.id = t.done_by"
        " WHERE t.status IN ('picked','short') AND t.done_at >= ? AND t.done_at < ?",
        (since, until),
    ).fetchall()
    per: dict[str, dict[str, Any]] = {}
    spans: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        p = per.setdefault(r["picker"], {"picker": r["picker"], "name": _name(conn, r), "lines": 0, "short": 0})
        p["lines"] += 1
        p["short"] += r["status"] == "short"
        spans[(r["picker"], r["pick_list_id"])].append(r["done_at"])
        spans[(r["picker"], r["pick_list_id"])].append(r["started_at"] or r["done_at"])
    for (picker, _lst), times in spans.items():
        secs = (parse_iso(max(times)) - parse_iso(min(times))).total_seconds()
        per[picker]["seconds"] = per[picker].get("seconds", 0) + max(secs, 60.0)  # a walk counts at least a minute
    out = []
    for p in per.values():
        hours = p["seconds"] / 3600
        out.append(
            {
                **p,
                "seconds": round(p["seconds"], 1),
                "lines_per_hour": round(p["lines"] / hours, 1),
                "short_rate": round(p["short"] / p["lines"], 4),
            }
        )
    return sorted(out, key=lambda x: -x["lines_per_hour"])


def time_per_state(conn: sqlite3.Connection, since: str, until: str) -> dict[str, dict[str, Any]]:
    """For each state: how many orders left it in the window and their mean / max seconds in it."""
    rows = conn.execute(
        "SELECT h.order_id, h.to_status, h.ts, (SELECT MIN(h2.ts) FROM order_status_history h2"
        " WHERE h2.order_id = h.order_id AND h2.seq > h.seq) AS left_at FROM order_status_history h"
        " WHERE h.ts < ?",
        (until,),
    ).fetchall()
    acc: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["left_at"] is None or r["left_at"] < since or r["left_at"] >= until:
            continue
        acc[r["to_status"]].append((parse_iso(r["left_at"]) - parse_iso(r["ts"])).total_seconds())
    return {
        s: {"orders": len(v), "mean_s": round(sum(v) / len(v), 1), "max_s": round(max(v), 1)}
        for s, v in sorted(acc.items())
    }


def short_pick_rate(conn: sqlite3.Connection, since: str, until: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(status = 'short'), 0) FROM pick_tasks"
        " WHERE status IN ('picked','short') AND done_at >= ? AND done_at < ?",
        (since, until),
    ).fetchone()
    total, short = row[0], row[1]
    return {"tasks": total, "short": short, "rate": round(short / total, 4) if total else 0.0}


def summary(conn: sqlite3.Connection, since: str, until: str) -> dict[str, Any]:
    by_status = {r[0]: r[1] for r in conn.execute("SELECT status, COUNT(*) FROM orders GROUP BY status")}
    by_channel = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT channel, COUNT(*) FROM orders WHERE created_at >= ? AND created_at < ? GROUP BY channel",
            (since, until),
        )
    }
    return {
        "since": since,
        "until": until,
        "pickers": picker_stats(conn, since, until),
        "time_per_state": time_per_state(conn, since, until),
        "short_picks": short_pick_rate(conn, since, until),
        "orders_by_status": by_status,
        "orders_by_channel": by_channel,
    }

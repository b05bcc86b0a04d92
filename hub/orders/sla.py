"""SLA timers: orders waiting too long in one state raise alerts for the supervisor."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from hub.orders import model, policy
from hub.protocol.timeutil import parse_iso, utcnow


def evaluate(rows: list[dict[str, Any]], limits: dict[str, int], now: datetime) -> list[dict[str, Any]]:
    """Alerts for order rows (id, ref, status, status_since, ...) given minutes per state. Pure.

    ``warning`` past the limit, ``critical`` past twice the limit; most overdue first."""
    out = []
    for r in rows:
        limit = limits.get(r["status"])
        if not limit:
            continue
        waited = (now - parse_iso(r["status_since"])).total_seconds() / 60
        if waited <= limit:
            continue
        out.append(
            {
                "order_id": r["id"],
                "ref": r["ref"],
                "code": model.order_code(r["ref"]),
                "status": r["status"],
                "since": r["status_since"],
                "waiting_min": int(waited),
                "limit_min": int(limit),
                "severity": "critical" if waited > 2 * limit else "warning",
                "channel": r["channel"],
                "fulfilment": r["fulfilment"],
                "customer_name": r["customer_name"],
            }
        )
    out.sort(key=lambda a: a["waiting_min"] / a["limit_min"], reverse=True)
    return out


def alerts(conn: sqlite3.Connection, now: datetime | None = None) -> list[dict[str, Any]]:
    marks = ",".join("?" * len(model.OPEN_STATUSES))
    rows = [
        dict(r)
        for r in conn.execute(
            f"SELECT id, ref, status, status_since, channel, fulfilment, customer_name FROM orders WHERE status IN ({marks})",
            model.OPEN_STATUSES,
        )
    ]
    return evaluate(rows, policy.get(conn, "orders.sla_minutes"), now or utcnow())

"""Late-delivery alerts: an order sent (or approved, or partly received) whose expected day has passed without
the whole order received raises a ``po_late`` hub alert, subject ``po:<id>`` — once: the alert stays open (and is
not raised again) until the order is received, closed or cancelled, when the check clears it.

The expected day is the order's ``expected_date``, else the day it was sent plus the supplier's promised lead
time. "Passed" is in the store's calendar (hub/purchasing/days.py): an order expected today is late tomorrow.

Run by the periodic check (``storehub purchasing late-check``, the nightly timer beside the expiry check) and
on demand (``POST /api/v1/purchasing/late-check``, supervisor). ``alerts.raise_alert`` records ``alert.raised``
in the same transaction: live to handhelds on the bus, and sent to the central like every fact."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import Any

from hub.bus import alerts
from hub.purchasing import days

KIND = "po_late"
_OPEN = ("approved", "sent", "partly_received")


def subject_of(po_id: str) -> str:
    return f"po:{po_id}"


def expected_day(row: sqlite3.Row | dict[str, Any], tz) -> date | None:
    if row["expected_date"]:
        return date.fromisoformat(row["expected_date"])
    if row["sent_at"]:
        return date.fromisoformat(days.day_of(row["sent_at"], tz)) + timedelta(days=row["lead_time_days"])
    return None


def check_late(conn: sqlite3.Connection, *, today: date, now: str | None = None) -> dict[str, int]:
    """Raise ``po_late`` for each open order past its expected day; clear those of orders no longer open (or no
    longer late: a new expected date). Idempotent. Returns {"late", "raised", "cleared"}."""
    tz = days.zone(conn)
    rows = conn.execute(
        f"SELECT p.id, p.number, p.status, p.expected_date, p.sent_at, p.total_minor, p.supplier_id,"
        f" s.code AS supplier_code, s.name AS supplier_name, s.lead_time_days,"
        f" COALESCE((SELECT SUM(qty) FROM po_lines WHERE po_id = p.id), 0) AS ordered,"
        f" COALESCE((SELECT SUM(received) FROM po_lines WHERE po_id = p.id), 0) AS received"
        f" FROM purchase_orders p JOIN suppliers s ON s.id = p.supplier_id"
        f" WHERE p.status IN ({','.join('?' * len(_OPEN))})",
        _OPEN,
    ).fetchall()
    late: set[str] = set()
    raised = 0
    for r in rows:
        due = expected_day(r, tz)
        if due is None or due >= today or r["received"] >= r["ordered"]:
            continue
        subject = subject_of(r["id"])
        late.add(subject)
        overdue = (today - due).days
        details = {
            "po_id": r["id"],
            "number": r["number"],
            "supplier_id": r["supplier_id"],
            "supplier_code": r["supplier_code"],
            "supplier_name": r["supplier_name"],
            "status": r["status"],
            "expected_date": due.isoformat(),
            "days_late": overdue,
            "ordered": r["ordered"],
            "received": r["received"],
        }
        message = (
            f"{r['number']} from {r['supplier_name']}: expected {due.isoformat()}, {overdue} day(s) late,"
            f" {r['received']} of {r['ordered']} received"
        )
        if alerts.raise_alert(conn, KIND, subject, message, severity="warning", details=details, now=now):
            raised += 1
    cleared = 0
    for (subject,) in conn.execute(
        "SELECT subject FROM alerts WHERE kind = ? AND cleared_at IS NULL", (KIND,)
    ).fetchall():
        if subject not in late and alerts.clear(conn, KIND, subject, now=now):
            cleared += 1
    return {"late": len(late), "raised": raised, "cleared": cleared}

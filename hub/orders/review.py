"""Automatic review rules. An order that breaks one waits in the manual review queue."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict
from hub.orders import model, policy
from hub.protocol.timeutil import parse_iso, utcnow


def evaluate(order: dict[str, Any], rules: dict[str, Any], now: datetime | None = None) -> list[str]:
    """Reason codes for which ``order`` needs a person (empty: passes). Pure."""
    now = now or utcnow()
    reasons = []
    if order["total_minor"] > rules["max_amount_minor"]:
        reasons.append("amount_over_limit")
    if len(order["lines"]) > rules["max_lines"]:
        reasons.append("too_many_lines")
    if order["channel"] in rules.get("review_channels", []):
        reasons.append("channel_needs_review")
    if rules.get("require_phone") and order["fulfilment"] in ("pickup", "delivery") and not order["customer_phone"]:
        reasons.append("phone_missing")
    if order["fulfilment"] in ("delivery", "transfer"):
        addr = order.get("address") or {}
        if not (addr.get("line1") and addr.get("city")):
            reasons.append("address_incomplete")
        if order["fulfilment"] == "delivery":
            pc = str(addr.get("postcode") or "")
            if not re.fullmatch(rules["postcode_pattern"], pc):
                reasons.append("postcode_invalid")
            elif pc in rules.get("blocked_postcodes", []):
                reasons.append("postcode_not_served")
    if order["fulfilment"] == "pickup" and order.get("pickup_at"):
        at = parse_iso(order["pickup_at"])
        if at < now - timedelta(hours=1):
            reasons.append("pickup_in_past")
        elif at > now + timedelta(days=rules["pickup_max_days_ahead"]):
            reasons.append("pickup_too_far_ahead")
    return reasons


def run(conn: sqlite3.Connection, order_id: str) -> list[str]:
    """Apply the store's rules to an order; marks it pending review when any fails."""
    order = model.get_order(conn, order_id)
    reasons = evaluate(order, policy.get(conn, "orders.review"))
    if reasons:
        conn.execute(
            "UPDATE orders SET review_status = 'pending', review_reasons = ? WHERE id = ?",
            (json.dumps(reasons), order_id),
        )
    return reasons


def record_decision(
    conn: sqlite3.Connection, order_id: str, *, approve: bool, note: str, actor: str, device: str | None = None
) -> None:
    """Record a supervisor's decision on an order in the review queue (``hub.orders.workflow.decide`` then
    allocates an approved order and cancels a rejected one)."""
    order = model.get_order(conn, order_id, with_lines=False)
    if order["review_status"] != "pending":
        raise Conflict(
            f"order {order['ref']} is not waiting for review",
            code="not_in_review",
            details={"review_status": order["review_status"]},
        )
    decision = "approved" if approve else "rejected"
    conn.execute("UPDATE orders SET review_status = ? WHERE id = ?", (decision, order_id))
    outbox.record(conn, "order.review", {"order_id": order_id, "ref": order["ref"], "decision": decision, "note": note})
    audit.log(
        conn,
        actor=actor,
        device=device,
        action=f"order.review.{decision}",
        target=order_id,
        details={"note": note, "reasons": order["review_reasons"]},
    )


def queue(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM orders WHERE review_status = 'pending' AND status = 'new' ORDER BY created_at"
        )
    ]
    return [model.get_order(conn, i) for i in ids]

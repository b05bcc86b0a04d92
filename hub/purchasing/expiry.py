"""Expired stock is not sold: the till's check on every item scan.

A scan at the till is refused (``expired_not_for_sale``) when the label itself says the goods are past their
expiry (GS1 AI 17; a best-before date, AI 15, is not a use-by date and does not block), or when the item is
lot-controlled and every lot of it on hand anywhere in the store is past its expiry (stock of a lot nobody
recorded, or of a lot without an expiry, may still be good and is not refused). The issue gives no override: a
supervisor cannot sell expired goods either. :func:`sale_refusal` is the check — one indexed query, and the
store's date is only worked out when the label or the lots give something to compare — and
:func:`record_refusal` writes the refusal to the audit log in a transaction of its own (the scan's rolls back)."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from hub.kernel import audit
from hub.kernel.errors import Unprocessable
from hub.purchasing import days


class ExpiredForSale(Unprocessable):
    """A scan at the till of goods past their expiry."""

    code = "expired_not_for_sale"


def sale_refusal(
    conn: sqlite3.Connection, item: dict[str, Any], *, label_expiry: str | None = None, today: date | None = None
) -> ExpiredForSale | None:
    """The refusal to raise for selling ``item`` (a catalog row) scanned with ``label_expiry`` (the AI 17 date of
    its GS1 label, if any), or None when it may be sold."""
    sku = item.get("sku") or item["id"]
    if label_expiry:
        day = today or days.today(conn)
        if date.fromisoformat(label_expiry) < day:
            return ExpiredForSale(
                f"{sku} expired on {label_expiry} (its label): it cannot be sold — take it off the shelf",
                details={"sku": sku, "item_id": item["id"], "expiry": label_expiry, "source": "label"},
            )
    row = conn.execute(
        "SELECT MAX(sl.expiry), SUM(sl.expiry IS NULL), COUNT(*) FROM purchasing_items p JOIN stock_lots sl"
        " ON sl.item_id = p.item_id AND sl.qty > 0 WHERE p.item_id = ? AND p.lot_controlled = 1",
        (item["id"],),
    ).fetchone()
    latest, undated, lots_on_hand = row[0], row[1], row[2]
    if not lots_on_hand or undated or latest is None:
        return None
    day = today or days.today(conn)
    if date.fromisoformat(latest) >= day:
        return None
    return ExpiredForSale(
        f"{sku}: every lot in the store expired (the last on {latest}): it cannot be sold — take it off the shelf",
        details={"sku": sku, "item_id": item["id"], "expiry": latest, "source": "lots"},
    )


def record_refusal(
    conn: sqlite3.Connection, exc: ExpiredForSale, *, code: str, actor: str, device: str | None, cart_id: str
) -> None:
    """Keep a refused scan of expired goods in the audit log (who, which till, what, which date)."""
    details = dict(exc.details or {})
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.expired_refused",
        target=str(details.get("item_id") or ""),
        details={**details, "code": code, "cart_id": cart_id},
    )

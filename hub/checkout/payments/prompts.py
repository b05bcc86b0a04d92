"""The till asks the customer for something before a tender exists — "show your payment code" before the
cashier scans it, "insert or tap your card" while the amount goes to the terminal. The prompt is kept on the hub
(``checkout_tender_prompts``) and reaches the customer display with the cart over the live channel
(``checkout.cart``'s ``tender``); the tender it asked for replaces it as soon as it exists."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.checkout import cart, tenders
from hub.kernel.errors import Conflict

KINDS = {"payment_code": "payment_code", "card": "card", "none": None}


def prompt(
    conn: sqlite3.Connection, cart_id: str, *, kind: str, amount_minor: int | None, actor: str
) -> dict[str, Any]:
    """Show (or, ``none``, take back) a prompt for ``amount_minor`` (default: what is due) on the till's display."""
    c = cart.get_row(conn, cart_id)
    if c["status"] != "open":
        raise Conflict(
            f"cart {c['code']} is {c['status']}: only the till's open cart is paid",
            code="cart_not_open",
            details={"status": c["status"]},
        )
    v = cart.view(conn, cart_id)
    amount = max(0, v["due_minor"]) if amount_minor is None else amount_minor
    tenders.set_prompt(conn, till_id=c["till_id"], cart_id=cart_id, kind=KINDS[kind], amount_minor=amount, actor=actor)
    v = cart.touched(conn, cart_id)
    return {"tender": tenders.progress(conn, v)}

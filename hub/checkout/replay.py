"""Scans a till sends again: a till that lost the hub keeps the open cart on screen, queues the scans made
meanwhile with a key each (handheld_ui/screens/checkout.js) and replays them in order when the hub answers. A
scan that reached the hub before its answer was lost comes again with the same key and is applied once: the key
and the cart it was for are kept in ``checkout_idempotency`` in the scan's transaction."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.checkout import cart
from hub.kernel.errors import Conflict
from hub.protocol.timeutil import now_iso


def scan(
    conn: sqlite3.Connection,
    cart_id: str,
    code: str,
    *,
    qty: int,
    actor: str,
    device: str | None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """``cart.scan`` once per ``idempotency_key`` (none: every call scans); a repeat answers the cart as it is."""
    if not idempotency_key:
        return cart.scan(conn, cart_id, code, qty=qty, actor=actor, device=device)
    r = conn.execute("SELECT action, result FROM checkout_idempotency WHERE key = ?", (idempotency_key,)).fetchone()
    if r is not None:
        seen = json.loads(r[1])
        if r[0] != "scan" or seen.get("cart_id") != cart_id or seen.get("code") != code:
            raise Conflict("idempotency key already used for something else", code="idempotency_conflict")
        return cart.view(conn, cart_id)
    out = cart.scan(conn, cart_id, code, qty=qty, actor=actor, device=device)
    conn.execute(
        "INSERT INTO checkout_idempotency(key, action, result, created_at) VALUES (?,?,?,?)",
        (idempotency_key, "scan", json.dumps({"cart_id": cart_id, "code": code, "qty": qty}), now_iso()),
    )
    return out

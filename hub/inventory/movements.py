"""Stock movements people post by hand (receive, sale, return, adjust, transfers, write-off).

Who may post which kind is decided here, and every manual movement leaves an audit entry
(``stock.<kind>``, ``stock.transfer``); a replayed request (same idempotency key) posts and
audits nothing new."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.auth import users
from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import audit
from hub.kernel.errors import Forbidden

# Kinds a person may post directly; reserve/release/pick belong to orders, count to stocktake approval.
MANUAL_KINDS = ("receive", "sale", "return", "adjust", "transfer_out", "transfer_in", "writeoff")
# The least role that may post a kind (any other manual kind: associate).
KIND_ROLE = {"adjust": "supervisor", "writeoff": "supervisor"}


def check_role(kind: str, role: str) -> None:
    """403 ``wrong_role`` unless ``role`` may post a movement of ``kind``."""
    needed = KIND_ROLE.get(kind, "associate")
    if not users.has_role(role, needed):
        raise Forbidden(
            f"{kind} needs the {needed} role", code="wrong_role", details={"needed": needed, "have": role, "kind": kind}
        )


def post_manual(conn: sqlite3.Connection, req: MovementRequest, *, role: str) -> dict[str, Any]:
    """Post one movement for ``req.actor`` (of ``role``), idempotent by ``req.idempotency_key``, and audit it."""
    check_role(req.kind, role)
    m = ledger.post(conn, req)
    if not m["duplicate"]:
        audit.log(
            conn,
            actor=req.actor,
            device=req.device,
            action=f"stock.{req.kind}",
            target=m["id"],
            details={"item_id": req.item_id, "location_id": req.location_id, "qty": req.qty},
        )
    return m


def transfer(
    conn: sqlite3.Connection,
    *,
    item_id: str,
    from_location_id: str,
    to_location_id: str,
    qty: int,
    reason: str,
    actor: str,
    idempotency_key: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Move stock between two locations of this store (two ledger entries), idempotent by key, audited once.
    Returns ``{"movements": [...], "duplicate": bool}``."""
    ms = ledger.transfer(
        conn,
        item_id=item_id,
        from_location=from_location_id,
        to_location=to_location_id,
        qty=qty,
        reason=reason,
        actor=actor,
        idempotency_key=idempotency_key,
        device=device,
    )
    dup = all(m["duplicate"] for m in ms)
    if not dup:
        audit.log(
            conn,
            actor=actor,
            device=device,
            action="stock.transfer",
            target=ms[0]["ref"],
            details={
                "item_id": item_id,
                "from_location_id": from_location_id,
                "to_location_id": to_location_id,
                "qty": qty,
            },
        )
    return {"movements": ms, "duplicate": dup}

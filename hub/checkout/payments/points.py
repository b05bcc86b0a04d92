"""Points as a tender (issue 15): the cart's member pays part or all of the sale with points at the store's
points value (``members.burn_minor_per_point``: 1 → 100 points = ¥1), limited to the spendable balance as this
hub knows it (``hub.members.points``: the central's balance at the last sync plus this store's own entries, and
offline at most the offline cap). The tender and the burn (a ledger entry with a global id, merged at the
central; an overdraw across offline stores is reported there) are written in one transaction, so a refused
burn leaves no tender and a tender never exists without its burn. Taking the tender back before the sale
commits, or a return of the sale, gives the points back (a ``reverse`` entry referencing the tender)."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.checkout import cart, tenders, workflow
from hub.kernel import settings
from hub.kernel.errors import Conflict, Unprocessable
from hub.members import points as ledger
from hub.members import workflow as loyalty

METHOD = "points"


def _rate(conn: sqlite3.Connection) -> int:
    return int(settings.get(conn, "members.burn_minor_per_point"))


def pay(
    conn: sqlite3.Connection,
    cart_id: str,
    *,
    points: int,
    idempotency_key: str,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Burn ``points`` of the cart's member as a tender worth ``points × value``; the sale commits when nothing
    is left due. The same idempotency key again returns the first outcome (burns once)."""
    seen = tenders.by_out_trade_no(conn, tenders.out_trade_no(idempotency_key))
    if seen is not None:
        if seen["cart_id"] != cart_id or seen["method"] != METHOD:
            raise Conflict("idempotency key already used for another payment", code="idempotency_conflict")
        return workflow._outcome(conn, cart_id, seen, device=device)
    member_id = loyalty.member_of_cart(conn, cart_id)
    if member_id is None:
        raise Unprocessable("identify the member first: points are paid by the cart's member", code="points_no_member")
    rate = _rate(conn)
    due = cart.view(conn, cart_id)["due_minor"]
    value = points * rate
    if value > due:
        raise Conflict(
            f"{points} points are worth more than is due: at most {max(0, due) // rate} points",
            code="points_exceed_due",
            details={"due_minor": due, "max_points": max(0, due) // rate, "minor_per_point": rate},
        )
    out = workflow.tender(
        conn, cart_id, method=METHOD, idempotency_key=idempotency_key, actor=actor, amount_minor=value, device=device
    )
    t = out["tender"]
    if t is None or t["state"] != "requesting":
        return out
    conn.execute("UPDATE checkout_tenders SET points = ?, member_id = ? WHERE id = ?", (points, member_id, t["id"]))
    burn = loyalty.burn(conn, member_id, points, t["id"], actor=actor)  # refused → the whole transaction rolls back
    paid = tenders.transition(
        conn,
        t["id"],
        "paid",
        actor=actor,
        provider_ref=burn["entry"]["id"],
        detail=f"{points} points burnt (balance {burn['balance']})",
    )
    return workflow._outcome(conn, cart_id, paid, device=device)


def cancel(
    conn: sqlite3.Connection, tender_id: str, *, actor: str, reason: str = "", device: str | None = None
) -> dict[str, Any]:
    """Take a points tender back before the sale commits: the tender is reversed and the points go back."""
    before = tenders.get(conn, tender_id)
    out = workflow.cancel_tender(conn, tender_id, actor=actor, reason=reason, device=device)
    if before["state"] == "paid" and out["tender"]["state"] == "reversed" and before["member_id"]:
        ledger.refund_burn(
            conn,
            before["member_id"],
            int(before["points"] or 0),
            ref=tender_id,
            actor=actor,
            reason="tender taken back",
        )
    return out

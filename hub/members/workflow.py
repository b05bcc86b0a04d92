"""Loyalty's sequences — what the till calls (the only module here that strings steps together; leaves never
import it). Every function runs inside the caller's ``db.write()`` and never commits, so the points entry, the
projection, the tier change, their facts and the sale they belong to land together or not at all.

The checkout calls:

* ``earn_for_sale(conn, member_id, sale)`` — once per sale (idempotent by the sale id), then upgrades the tier at
  once if the sale crossed a threshold. ``sale``: ``{"id", "lines": [{"item_id"|"sku", "category"?, "net_minor"}],
  "points_paid_minor"?}``.
* ``burn(conn, member_id, points, ref)`` — points as payment or discount; idempotent by ``ref`` (a retried tap
  burns once); refused below the minimum, beyond the balance or, offline, beyond the offline cap.
* ``reverse_for_return(conn, *, sale_id, return_id, refund_minor)`` — takes back the points a returned sale earned,
  pro rata, once per return; the balance may go negative and is shown so.
* ``on_sale_completed`` / ``on_goods_returned`` — the same, for the member attached to a till's cart
  (``attach_to_cart``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.checkout import approvals
from hub.checkout import cart as checkout_cart
from hub.kernel import audit, settings
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.members import identity, points, rules, tiers
from hub.protocol.timeutil import now_iso

ACTOR = "system:checkout"


def _enabled(conn: sqlite3.Connection) -> None:
    if not settings.get(conn, "members.enabled"):
        raise Conflict("members are switched off in this store's settings", code="members_disabled")


def _with_categories(conn: sqlite3.Connection, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for ln in lines:
        if "category" not in ln or "sku" not in ln:
            r = conn.execute("SELECT sku, category FROM items WHERE id = ?", (ln.get("item_id"),)).fetchone()
            ln = {
                **ln,
                "sku": ln.get("sku") or (r[0] if r else None),
                "category": ln.get("category", r[1] if r else None),
            }
        out.append(ln)
    return out


def earn_for_sale(
    conn: sqlite3.Connection, member_id: str, sale: dict[str, Any], *, actor: str = ACTOR
) -> dict[str, Any]:
    """Points (and tier spend) for a completed sale: ``{"entry", "tier_change"}``; a second call for the same
    sale returns the first entry."""
    _enabled(conn)
    points.require_member(conn, member_id)
    sale_id = str(sale["id"])
    seen = points.by_ref(conn, member_id, "earn", sale_id)
    if seen is not None:
        return {"entry": seen, "tier_change": None}
    lines = _with_categories(conn, list(sale.get("lines") or []))
    earned, spend = rules.earn_points(
        lines, settings.get(conn, "members.earn"), points_paid_minor=int(sale.get("points_paid_minor") or 0)
    )
    entry = points.append(conn, member_id, "earn", earned, spend_minor=spend, ref=sale_id, actor=actor)
    return {"entry": entry, "tier_change": tiers.maybe_upgrade(conn, member_id, actor=actor)}


def burn(conn: sqlite3.Connection, member_id: str, points_: int, ref: str, *, actor: str = ACTOR) -> dict[str, Any]:
    """Spend points; ``{"entry", "value_minor", "balance"}``. The same ``ref`` again returns the first burn."""
    _enabled(conn)
    points.require_member(conn, member_id)
    if not isinstance(ref, str) or not ref.strip():
        raise ValidationError("a burn needs a reference (the cart or sale it pays)", code="ref_required")
    seen = points.by_ref(conn, member_id, "burn", ref)
    if seen is not None:
        if -seen["points"] != points_:
            raise Conflict(
                "this reference already burnt a different number of points",
                code="burn_ref_conflict",
                details={"points": -seen["points"]},
            )
        entry = seen
    else:
        points.check_burn(conn, member_id, points_)
        entry = points.append(conn, member_id, "burn", -points_, ref=ref, actor=actor)
    return {
        "entry": entry,
        "value_minor": -entry["points"] * settings.get(conn, "members.burn_minor_per_point"),
        "balance": points.balance(conn, member_id),
    }


def adjust(
    conn: sqlite3.Connection,
    member_id: str,
    points_: int,
    *,
    reason: str,
    approval_badge: str | None,
    secret_key: bytes,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """A correction by hand: a reason and a supervisor's badge (the approver is recorded on the entry)."""
    _enabled(conn)
    points.require_member(conn, member_id)
    if isinstance(points_, bool) or not isinstance(points_, int) or points_ == 0:
        raise ValidationError("adjust by a whole number of points other than 0", code="invalid_points")
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationError("an adjustment needs a reason", code="reason_required")
    approver = approvals.approve(conn, approval_badge, secret_key=secret_key, what="points adjustment", device=device)[
        "id"
    ]
    entry = points.append(conn, member_id, "adjust", points_, reason=text[:200], approver=approver, actor=actor)
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="points.adjust",
        target=member_id,
        details={"points": points_, "reason": text[:200], "approved_by": approver},
    )
    return {"entry": entry, "balance": points.balance(conn, member_id)}


def reverse_for_return(
    conn: sqlite3.Connection, *, sale_id: str, return_id: str, refund_minor: int, actor: str = ACTOR
) -> dict[str, Any] | None:
    """Take back what a returned sale earned, pro rata to the refund (``None`` when the sale earned nothing for
    a member). Once per return; the balance may go negative (the points were spent) and is shown so."""
    r = conn.execute("SELECT * FROM points_entries WHERE kind = 'earn' AND ref = ?", (sale_id,)).fetchone()
    if r is None:
        return None
    earn = dict(r)
    seen = points.by_ref(conn, earn["member_id"], "reverse", return_id)
    if seen is not None:
        return {"entry": seen, "balance": points.balance(conn, earn["member_id"])}
    before = conn.execute(
        "SELECT COALESCE(SUM(-points), 0), COALESCE(SUM(-spend_minor), 0) FROM points_entries"
        " WHERE kind = 'reverse' AND lot_id = ?",
        (earn["id"],),
    ).fetchone()
    take = rules.reverse_share(earn["points"], int(before[0]), refund_minor, earn["spend_minor"])
    spend_back = max(0, min(refund_minor, earn["spend_minor"] - int(before[1])))
    entry = points.append(
        conn,
        earn["member_id"],
        "reverse",
        -take,
        spend_minor=-spend_back,
        ref=return_id,
        lot_id=earn["id"],
        reason=f"return of sale {sale_id}",
        actor=actor,
    )
    return {"entry": entry, "balance": points.balance(conn, earn["member_id"])}


# --- the till's cart ----------------------------------------------------------------------------------------------
def attach_to_cart(
    conn: sqlite3.Connection,
    cart_id: str,
    *,
    actor: str,
    phone: str | None = None,
    code: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Say whose cart this is (a dynamic code is used up here); the sale earns for that member."""
    c = checkout_cart.get_row(conn, cart_id)
    if c["status"] not in ("open", "held"):
        raise Conflict(f"cart {c['code']} is {c['status']}", code="cart_not_open")
    member = identity.identify(conn, actor=actor, phone=phone, code=code, device=device)
    conn.execute(
        "INSERT INTO member_carts(cart_id, member_id, attached_at, actor) VALUES (?,?,?,?)"
        " ON CONFLICT(cart_id) DO UPDATE SET member_id = excluded.member_id,"
        " attached_at = excluded.attached_at, actor = excluded.actor",
        (cart_id, member["id"], now_iso(), actor),
    )
    return member


def member_of_cart(conn: sqlite3.Connection, cart_id: str) -> str | None:
    r = conn.execute("SELECT member_id FROM member_carts WHERE cart_id = ?", (cart_id,)).fetchone()
    return r[0] if r else None


def on_sale_completed(
    conn: sqlite3.Connection,
    cart_id: str,
    sale_id: str,
    lines: list[dict[str, Any]],
    *,
    actor: str = ACTOR,
    points_paid_minor: int = 0,
) -> dict[str, Any] | None:
    """Earn for the cart's member, if one was attached (called by the checkout in the sale's transaction); what
    the member paid with points (``points_paid_minor``) earns nothing."""
    member_id = member_of_cart(conn, cart_id)
    if member_id is None or not settings.get(conn, "members.enabled"):
        return None
    sale = {"id": sale_id, "lines": lines, "points_paid_minor": points_paid_minor}
    return earn_for_sale(conn, member_id, sale, actor=actor)


def on_goods_returned(
    conn: sqlite3.Connection, sale_id: str, return_id: str, refund_minor: int, *, actor: str = ACTOR
) -> dict[str, Any] | None:
    return reverse_for_return(conn, sale_id=sale_id, return_id=return_id, refund_minor=refund_minor, actor=actor)


def detach(conn: sqlite3.Connection, cart_id: str) -> None:
    if conn.execute("DELETE FROM member_carts WHERE cart_id = ?", (cart_id,)).rowcount == 0:
        raise NotFound("no member on this cart", code="no_member_on_cart")

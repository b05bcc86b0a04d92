"""Tenders: each payment is a state machine persisted before anything leaves the hub, idempotent by
``out_trade_no`` (derived from the till's idempotency key, so a double tap on "pay" finds the same row).

States (docs/checkout.md): ``created`` → ``requesting`` → ``paid`` / ``failed`` / ``unknown``; ``unknown`` →
``paid`` / ``failed`` / ``reversed`` once the provider is asked again; ``paid`` → ``reversed`` before the sale
commits; ``created``/``requesting`` → ``cancelled``. ``failed``, ``reversed`` and ``cancelled`` are final.
Every transition is a row of ``checkout_tender_events``. Cash settles at once (created → paid); a card on a
standalone terminal is ``requesting`` until the cashier keys in the terminal's approval code and last 4 digits.
A payment-code method (WeChat Pay, Alipay) plugs in as another :class:`Method` whose requests run between a
committed ``requesting`` and the transition that records the provider's answer."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any

from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

TRANSITIONS: dict[str, frozenset[str]] = {
    "created": frozenset({"requesting", "paid", "failed", "cancelled"}),
    "requesting": frozenset({"paid", "failed", "unknown", "cancelled"}),
    "unknown": frozenset({"paid", "failed", "reversed"}),
    "paid": frozenset({"reversed"}),
    "failed": frozenset(),
    "reversed": frozenset(),
    "cancelled": frozenset(),
}
ACTIVE = ("requesting", "paid", "unknown")  # a cart with such a tender cannot change


@dataclass(frozen=True)
class Method:
    """How a tender method behaves: ``settles_at_once`` (cash), ``rounds`` (cash rounding applies),
    ``gives_change`` and ``terminal`` (the cashier confirms an approval code from a standalone terminal)."""

    name: str
    settles_at_once: bool = False
    rounds: bool = False
    gives_change: bool = False
    terminal: bool = False


METHODS: dict[str, Method] = {
    "cash": Method("cash", settles_at_once=True, rounds=True, gives_change=True),
    "card": Method("card", terminal=True),
    # payment codes (付款码): sent to the provider by hub.checkout.payments.flow, never confirmed by hand
    "wechatpay": Method("wechatpay"),
    "alipay": Method("alipay"),
}


def method(name: str) -> Method:
    if name not in METHODS:
        raise ValidationError(
            f"unknown tender method {name!r}", code="bad_tender_method", details={"methods": sorted(METHODS)}
        )
    return METHODS[name]


def out_trade_no(idempotency_key: str) -> str:
    """A provider-safe order number (≤ 32 of [A-Za-z0-9]) that is the same for the same idempotency key."""
    if not idempotency_key or len(idempotency_key) > 200:
        raise ValidationError("idempotency_key is required (at most 200 characters)", code="invalid_idempotency_key")
    return "SH" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:30]


def get(conn: sqlite3.Connection, tender_id: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM checkout_tenders WHERE id = ?", (tender_id,)).fetchone()
    if r is None:
        raise NotFound(f"no tender {tender_id}", code="tender_not_found")
    return dict(r)


def by_out_trade_no(conn: sqlite3.Connection, otn: str) -> dict[str, Any] | None:
    r = conn.execute("SELECT * FROM checkout_tenders WHERE out_trade_no = ?", (otn,)).fetchone()
    return dict(r) if r else None


def for_cart(conn: sqlite3.Connection, cart_id: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute("SELECT * FROM checkout_tenders WHERE cart_id = ? ORDER BY created_at, id", (cart_id,))
    ]


def settled(tenders: list[dict[str, Any]]) -> int:
    """What paid tenders settled of a cart: amount less the rounding each carried."""
    return sum(t["amount_minor"] - t["rounding_minor"] for t in tenders if t["state"] == "paid")


def create(
    conn: sqlite3.Connection,
    *,
    out_trade_no: str,
    method_name: str,
    amount_minor: int,
    till_id: str,
    business_date: str,
    shift_id: str | None,
    actor: str,
    cart_id: str | None = None,
    direction: str = "in",
    received_minor: int | None = None,
    change_minor: int = 0,
    rounding_minor: int = 0,
    refunds_tender_id: str | None = None,
    sale_id: str | None = None,
) -> dict[str, Any]:
    """Persist a new tender in ``created`` (before any terminal or provider is asked)."""
    method(method_name)
    if amount_minor < 0:
        raise ValidationError("a tender amount is not negative", code="bad_amount")
    tid, now = new_id(), now_iso()
    conn.execute(
        "INSERT INTO checkout_tenders(id, out_trade_no, cart_id, sale_id, refunds_tender_id, till_id, shift_id,"
        " business_date, method, direction, amount_minor, received_minor, change_minor, rounding_minor, state,"
        " actor, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,'created',?,?,?)",
        (
            tid,
            out_trade_no,
            cart_id,
            sale_id,
            refunds_tender_id,
            till_id,
            shift_id,
            business_date,
            method_name,
            direction,
            amount_minor,
            received_minor,
            change_minor,
            rounding_minor,
            actor,
            now,
            now,
        ),
    )
    conn.execute(
        "INSERT INTO checkout_tender_events(tender_id, from_state, to_state, actor, at) VALUES (?,?,?,?,?)",
        (tid, None, "created", actor, now),
    )
    return get(conn, tid)


def transition(
    conn: sqlite3.Connection,
    tender_id: str,
    to_state: str,
    *,
    actor: str,
    detail: str | None = None,
    approval_code: str | None = None,
    card_last4: str | None = None,
    provider_ref: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """Move a tender along its state machine (refusing a move the machine does not have)."""
    t = get(conn, tender_id)
    if to_state not in TRANSITIONS[t["state"]]:
        raise Conflict(
            f"a {t['state']} tender cannot become {to_state}",
            code="bad_tender_transition",
            details={"state": t["state"], "to": to_state},
        )
    now = now_iso()
    conn.execute(
        "UPDATE checkout_tenders SET state = ?, updated_at = ?, approval_code = COALESCE(?, approval_code),"
        " card_last4 = COALESCE(?, card_last4), provider_ref = COALESCE(?, provider_ref),"
        " error = COALESCE(?, error) WHERE id = ?",
        (to_state, now, approval_code, card_last4, provider_ref, error, tender_id),
    )
    conn.execute(
        "INSERT INTO checkout_tender_events(tender_id, from_state, to_state, actor, at, detail) VALUES (?,?,?,?,?,?)",
        (tender_id, t["state"], to_state, actor, now, detail),
    )
    return get(conn, tender_id)


def events(conn: sqlite3.Connection, tender_id: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT from_state, to_state, actor, at, detail FROM checkout_tender_events"
            " WHERE tender_id = ? ORDER BY seq",
            (tender_id,),
        )
    ]


def public(t: dict[str, Any]) -> dict[str, Any]:
    """A tender as the till shows it."""
    return {
        k: t[k]
        for k in (
            "id",
            "out_trade_no",
            "method",
            "direction",
            "amount_minor",
            "received_minor",
            "change_minor",
            "rounding_minor",
            "state",
            "approval_code",
            "card_last4",
            "error",
            "created_at",
        )
    }

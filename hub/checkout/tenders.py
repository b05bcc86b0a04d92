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
from hub.members import points as member_points
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso, parse_iso

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
    # a card on the till's integrated terminal (ECR link): sent and recorded by hub.checkout.payments.terminal
    "card_terminal": Method("card_terminal"),
    # the cart's member pays with points (hub.checkout.payments.points): burnt and paid in one transaction
    "points": Method("points"),
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
    points: int | None = None,
    member_id: str | None = None,
) -> dict[str, Any]:
    """Persist a new tender in ``created`` (before any terminal or provider is asked)."""
    method(method_name)
    if amount_minor < 0:
        raise ValidationError("a tender amount is not negative", code="bad_amount")
    tid, now = new_id(), now_iso()
    conn.execute(
        "INSERT INTO checkout_tenders(id, out_trade_no, cart_id, sale_id, refunds_tender_id, till_id, shift_id,"
        " business_date, method, direction, amount_minor, received_minor, change_minor, rounding_minor, state,"
        " actor, created_at, updated_at, points, member_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,'created',?,?,?,?,?)",
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
            points,
            member_id,
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
    card_scheme: str | None = None,
    terminal_batch: str | None = None,
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
        " error = COALESCE(?, error), card_scheme = COALESCE(?, card_scheme),"
        " terminal_batch = COALESCE(?, terminal_batch) WHERE id = ?",
        (to_state, now, approval_code, card_last4, provider_ref, error, card_scheme, terminal_batch, tender_id),
    )
    conn.execute(
        "INSERT INTO checkout_tender_events(tender_id, from_state, to_state, actor, at, detail) VALUES (?,?,?,?,?,?)",
        (tender_id, t["state"], to_state, actor, now, detail),
    )
    return get(conn, tender_id)


def points_back(conn: sqlite3.Connection, refund: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """A return's refund tender of method ``points``: its share of the points the original tender burnt goes
    back to that member (a ``reverse`` entry referencing the refund tender, in the return's transaction)."""
    orig = get(conn, refund["refunds_tender_id"])
    pts = (refund["amount_minor"] * int(orig["points"] or 0)) // orig["amount_minor"] if orig["amount_minor"] else 0
    conn.execute(
        "UPDATE checkout_tenders SET points = ?, member_id = ? WHERE id = ?", (pts, orig["member_id"], refund["id"])
    )
    if pts > 0 and orig["member_id"]:
        member_points.refund_burn(
            conn, orig["member_id"], pts, ref=refund["id"], actor=actor, reason=f"refund of sale {orig['sale_id']}"
        )
    return get(conn, refund["id"])


# --- the tender in progress, for the customer display -----------------------------------------------------------
PROMPT_TTL_S = 180  # a prompt nobody followed up is not shown for ever
CODE_METHODS = ("wechatpay", "alipay")


def set_prompt(
    conn: sqlite3.Connection, *, till_id: str, cart_id: str, kind: str | None, amount_minor: int, actor: str
) -> None:
    """The till asks the customer for a payment code or a card (``kind`` None: the cashier backed out)."""
    if kind is None:
        conn.execute("DELETE FROM checkout_tender_prompts WHERE till_id = ?", (till_id,))
        return
    conn.execute(
        "INSERT INTO checkout_tender_prompts(till_id, cart_id, kind, amount_minor, actor, at) VALUES (?,?,?,?,?,?)"
        " ON CONFLICT(till_id) DO UPDATE SET cart_id = excluded.cart_id, kind = excluded.kind,"
        " amount_minor = excluded.amount_minor, actor = excluded.actor, at = excluded.at",
        (till_id, cart_id, kind, amount_minor, actor, now_iso()),
    )


def _prompt(conn: sqlite3.Connection, v: dict[str, Any]) -> dict[str, Any] | None:
    r = conn.execute("SELECT * FROM checkout_tender_prompts WHERE till_id = ?", (v["till_id"],)).fetchone()
    if r is None or r["cart_id"] != v["id"] or v["status"] != "open":
        return None
    if (parse_iso(now_iso()) - parse_iso(r["at"])).total_seconds() > PROMPT_TTL_S:
        return None
    if any(t["created_at"] >= r["at"] for t in v["tenders"]):  # the tender it asked for exists: that shows now
        return None
    return dict(r)


def progress(conn: sqlite3.Connection, v: dict[str, Any]) -> dict[str, Any]:
    """The tender in progress on a cart view, as the customer display shows it: ``phase`` (none, show_code,
    confirm_on_phone, present_card, checking_card, card_on_terminal, partly_paid, failed, done), the method and
    amount it is about, what is due, what each tender paid, the change and the error of a failed payment."""
    ts = v.get("tenders") or []
    active = next((t for t in reversed(ts) if t["state"] in ("requesting", "unknown")), None)
    failed = ts[-1] if ts and ts[-1]["state"] == "failed" else None
    prompt = _prompt(conn, v)
    due = max(0, v.get("due_minor") or 0)
    phase, method, amount = "none", None, due
    if v["status"] == "completed":
        phase = "done"
    elif active is not None:
        method, amount = active["method"], active["amount_minor"]
        if method in CODE_METHODS:
            phase = "confirm_on_phone"
        elif method == "card_terminal":
            phase = "checking_card" if active["state"] == "unknown" else "present_card"
        else:
            phase = "card_on_terminal"
    elif prompt is not None:
        phase = "show_code" if prompt["kind"] == "payment_code" else "present_card"
        method, amount = (None if prompt["kind"] == "payment_code" else "card_terminal"), prompt["amount_minor"]
    elif failed is not None and v["status"] == "open":
        phase, method, amount = "failed", failed["method"], failed["amount_minor"]
    elif v.get("paid_minor"):
        phase = "partly_paid"
    return {
        "phase": phase,
        "method": method,
        "amount_minor": amount,
        "due_minor": due,
        "paid": [
            {
                "method": t["method"],
                "amount_minor": t["amount_minor"],
                **({"points": t["points"]} if t.get("points") else {}),
            }
            for t in ts
            if t["state"] == "paid"
        ],
        "change_minor": v.get("change_minor") or 0,
        "error": failed["error"] if failed is not None and v["status"] == "open" else None,  # the last attempt failed
    }


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
            "card_scheme",
            "terminal_batch",
            "provider_ref",
            "points",
            "error",
            "created_at",
        )
    }

"""The payment-code sequences. Each step is its own transaction, so the tender's state is on disk before every
call to a provider (docs/checkout.md, "Payment codes"):

1. ``pay``: recognise the code (no network) → ``workflow.tender`` persists the tender ``requesting``, commit;
2. the provider's micropay / ``trade.pay`` with the tender's ``out_trade_no`` (outside any transaction);
3. the answer moves the tender on (paid / failed / unknown; ``paying`` leaves it requesting for the till to poll)
   and ``workflow._outcome`` commits the sale in that same transaction when nothing is left due.

A retry with the same idempotency key never pays again: it asks the provider about the ``out_trade_no`` it
already sent. ``resume`` (run by ``storehub serve`` at start) does the same for every tender a killed hub left
``requesting``/``unknown``, so a payment the provider took is found and the sale commits exactly once — or, when
the sale can no longer complete, the payment is reversed. Refunds of returns paid by code are tenders too:
``return_goods`` commits them ``requesting`` and ``settle_refunds`` sends them (the provider refunds an
``out_refund_no`` once, so sending again after a crash is safe)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from hub.checkout import cart, tenders, workflow
from hub.checkout.payments import client, codes
from hub.kernel import settings
from hub.kernel.db import Database
from hub.kernel.errors import Conflict, StoreHubError, ValidationError

log = logging.getLogger(__name__)
PENDING = ("requesting", "unknown")
REVERSE_TRIES = 3


class PaymentOffline(StoreHubError):
    """The provider cannot be reached (no internet at the store): payment codes are refused, cash and card go on."""

    status = 503
    code = "payment_offline"


def _age_s(t: dict[str, Any]) -> float:
    created = datetime.fromisoformat(t["created_at"].replace("Z", "+00:00"))
    return (datetime.now(UTC) - created).total_seconds()


def _subject(conn, t: dict[str, Any]) -> str:
    """The order subject the customer sees on the phone (WeChat ``body``: "店名-…")."""
    return f"{settings.get(conn, 'store_name')}-{t['till_id']}"


def pay(
    db: Database,
    config: dict[str, Any],
    cart_id: str,
    *,
    auth_code: str,
    idempotency_key: str,
    actor: str,
    amount_minor: int | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Take a payment code on the cart (see the module docstring). Answers like ``workflow.tender`` plus
    ``waiting`` (the customer is confirming on the phone: poll the tender)."""
    method = codes.recognise(auth_code)  # a malformed code never reaches a provider
    prov = client.provider(config, method)
    otn = tenders.out_trade_no(idempotency_key)
    with db.write() as conn:
        before = tenders.by_out_trade_no(conn, otn)
        if before is not None and before["method"] != method:
            raise Conflict("idempotency key already used for another payment", code="idempotency_conflict")
        out = workflow.tender(
            conn,
            cart_id,
            method=method,
            idempotency_key=idempotency_key,
            actor=actor,
            amount_minor=amount_minor,
            device=device,
        )
        t = tenders.get(conn, out["tender"]["id"]) if out.get("tender") else None
        subject = _subject(conn, t) if t else ""
        if t is not None and t["state"] in PENDING and before is None:
            cart.touched(conn, cart_id)  # the customer display shows "confirm on your phone" meanwhile
    if t is None or t["state"] not in PENDING:
        return {**out, "waiting": False}
    if before is not None:  # sent before: ask, never pay twice
        return poll(db, config, t["id"], actor=actor, device=device)
    try:
        answer = prov.pay(otn, auth_code.strip(), t["amount_minor"], subject)
    except client.Unreachable as exc:
        with db.write() as conn:
            tenders.transition(
                conn, t["id"], "failed", actor=actor, error="provider_unreachable", detail=str(exc)[:200]
            )
            cart.touched(conn, cart_id)
        raise PaymentOffline(
            f"{method} cannot be reached (no internet?): take cash or card", details={"provider": method}
        ) from exc
    return _settle(db, t["id"], answer, actor=actor, device=device)


def _settle(
    db: Database, tender_id: str, answer: client.Answer, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Record a provider's answer on a pending tender (and commit the sale when it settles the cart)."""
    with db.write() as conn:
        t = tenders.get(conn, tender_id)
        if t["state"] in PENDING:
            if answer.status == "paid":
                t = tenders.transition(
                    conn, tender_id, "paid", actor=actor, provider_ref=answer.provider_ref, detail=f"{t['method']} paid"
                )
            elif answer.status in ("failed", "closed", "absent"):
                t = tenders.transition(
                    conn, tender_id, "failed", actor=actor, error=answer.error, detail=f"{t['method']}: {answer.error}"
                )
            elif answer.status == "unknown" and t["state"] == "requesting":
                t = tenders.transition(
                    conn,
                    tender_id,
                    "unknown",
                    actor=actor,
                    error=answer.error,
                    detail=f"{t['method']}: {answer.error}, ask again",
                )
        out = workflow._outcome(conn, t["cart_id"], t, device=device)
        out["waiting"] = out["tender"]["state"] in PENDING
        return out


def _reverse(db: Database, prov: client.Provider, tender_id: str, *, actor: str, why: str) -> None:
    """Reverse (WeChat ``reverse`` / Alipay ``cancel``) a pending or paid-but-uncommitted payment: the tender is
    ``unknown`` on disk first, and ``reversed`` only once the provider says it is done."""
    with db.write() as conn:
        t = tenders.get(conn, tender_id)
        if t["state"] == "requesting":
            tenders.transition(conn, tender_id, "unknown", actor=actor, detail=f"reversing: {why}")
    for _ in range(REVERSE_TRIES):
        answer = prov.reverse(t["out_trade_no"])
        if answer.status == "done":
            with db.write() as conn:
                tenders.transition(conn, tender_id, "reversed", actor=actor, detail=f"reversed at the provider: {why}")
                cart.touched(conn, t["cart_id"]) if t["cart_id"] else None
            return
        time.sleep(0.5)
    raise PaymentOffline(
        "the provider did not confirm the reversal: it is tried again", details={"tender_id": tender_id}
    )


def poll(
    db: Database, config: dict[str, Any], tender_id: str, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Ask the provider about a pending tender (the till polls while the customer confirms). A customer still
    paying after the provider's wait (WeChat closes unpaid code orders after 45 s) is given up: reversed."""
    t = tenders.get(db.read(), tender_id)
    if t["method"] not in codes.PROVIDERS:
        raise ValidationError("only a payment-code tender is polled", code="not_a_payment_code_tender")
    if t["state"] not in PENDING:
        return _settle(db, tender_id, client.Answer("none"), actor=actor, device=device)
    prov = client.provider(config, t["method"])
    try:
        answer = prov.query(t["out_trade_no"])
        if answer.status in ("paying", "unknown") and _age_s(t) > prov.wait_s:
            _reverse(db, prov, tender_id, actor=actor, why="the customer did not confirm in time")
            answer = client.Answer("none")
        elif answer.status == "absent" and t["state"] == "unknown":
            _reverse(db, prov, tender_id, actor=actor, why="the provider has no such order")
            answer = client.Answer("none")
    except client.Unreachable as exc:
        raise PaymentOffline(
            f"{t['method']} cannot be reached: the payment is asked about again later",
            details={"provider": t["method"]},
        ) from exc
    if answer.status == "unknown":
        answer = client.Answer("keep")
    return _settle(db, tender_id, answer, actor=actor, device=device)


def cancel(
    db: Database, config: dict[str, Any], tender_id: str, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """The cashier takes a payment-code tender back before the sale commits: the provider reverses it (a
    customer still confirming can no longer pay), then the tender is ``reversed``."""
    t = tenders.get(db.read(), tender_id)
    c = cart.get_row(db.read(), t["cart_id"])
    if c["status"] != "open" or t["sale_id"]:
        raise Conflict("the sale is committed: take goods back with a return", code="sale_committed")
    if t["state"] in ("requesting", "unknown", "paid"):
        try:
            _reverse(db, client.provider(config, t["method"]), tender_id, actor=actor, why="cancelled by the cashier")
        except client.Unreachable as exc:
            raise PaymentOffline(
                "the provider cannot be reached to reverse the payment", details={"provider": t["method"]}
            ) from exc
    return _settle(db, tender_id, client.Answer("none"), actor=actor, device=device)


def settle_refunds(db: Database, config: dict[str, Any], return_id: str, *, actor: str) -> list[dict[str, Any]]:
    """Send the pending payment-code refunds of a return to their providers (idempotent by ``out_refund_no``,
    the refund tender's own ``out_trade_no``). An unreachable provider leaves them pending for ``resume``."""
    conn = db.read()
    rows = [
        dict(r)
        for r in conn.execute(
            "SELECT r.id, r.method, r.out_trade_no, r.amount_minor, o.out_trade_no AS paid_otn, o.amount_minor AS paid_minor"
            " FROM checkout_tenders r JOIN checkout_tenders o ON o.id = r.refunds_tender_id WHERE r.sale_id = ?"
            " AND r.direction = 'out' AND r.state IN ('requesting','unknown')",
            (return_id,),
        )
    ]
    for r in rows:
        try:
            answer = client.provider(config, r["method"]).refund(
                r["paid_otn"], r["out_trade_no"], r["paid_minor"], r["amount_minor"]
            )
        except client.Unreachable:
            continue
        with db.write() as conn:
            t = tenders.get(conn, r["id"])
            if t["state"] not in PENDING:
                continue
            if answer.status == "paid":
                tenders.transition(
                    conn,
                    r["id"],
                    "paid",
                    actor=actor,
                    provider_ref=answer.provider_ref,
                    detail="refunded by the provider",
                )
            elif answer.status == "failed":
                tenders.transition(
                    conn,
                    r["id"],
                    "failed",
                    actor=actor,
                    error=answer.error,
                    detail="the provider refused the refund: refund another way",
                )
            elif t["state"] == "requesting":
                tenders.transition(conn, r["id"], "unknown", actor=actor, error=answer.error)
    return [tenders.public(tenders.get(db.read(), r["id"])) for r in rows]


def resume(db: Database, config: dict[str, Any], *, actor: str = "system:resume-payments") -> dict[str, int]:
    """Move on every payment-code tender a stopped hub left pending: ask the provider by ``out_trade_no``; a
    payment it took is recorded and its sale committed (or reversed when the sale cannot complete any more);
    one it never took is failed (and closed at the provider). Pending refunds are sent again."""
    counts = {"paid": 0, "failed": 0, "reversed": 0, "pending": 0, "refunds": 0}
    conn = db.read()
    marks = ",".join("?" * len(codes.PROVIDERS))
    pending = [
        dict(r)
        for r in conn.execute(
            f"SELECT * FROM checkout_tenders WHERE method IN ({marks}) AND state IN ('requesting','unknown')"
            " ORDER BY created_at",
            codes.PROVIDERS,
        )
    ]
    for t in pending:
        if t["method"] not in config:
            counts["pending"] += 1
            continue
        if t["direction"] == "out":
            settle_refunds(db, config, t["sale_id"], actor=actor)
            counts["refunds"] += 1
            continue
        prov = client.provider(config, t["method"])
        try:
            answer = prov.query(t["out_trade_no"])
            if answer.status == "paid" and cart.get_row(db.read(), t["cart_id"])["status"] != "open":
                _reverse(db, prov, t["id"], actor=actor, why="paid, but its cart was no longer open")
                counts["reversed"] += 1
            elif answer.status == "paid":
                try:
                    out = _settle(db, t["id"], answer, actor=actor)
                    counts["paid" if out["tender"]["state"] == "paid" else "pending"] += 1
                except StoreHubError as exc:  # the sale cannot commit any more: give the money back
                    log.warning("paid tender %s cannot complete its sale (%s): reversing", t["id"], exc)
                    _reverse(db, prov, t["id"], actor=actor, why=f"paid, but the sale could not complete: {exc.code}")
                    counts["reversed"] += 1
            elif answer.status in ("closed",):
                _settle(db, t["id"], answer, actor=actor)
                counts["failed"] += 1
            elif answer.status == "absent" or (answer.status in ("paying", "unknown") and _age_s(t) > prov.wait_s):
                _reverse(db, prov, t["id"], actor=actor, why="left pending by a stopped hub")
                counts["reversed"] += 1
            else:
                counts["pending"] += 1
        except client.Unreachable:
            counts["pending"] += 1
        except PaymentOffline:
            counts["pending"] += 1
    return counts

"""Integrated bank-card terminals: the ECR link (a TCP socket to the terminal, the protocol as data from
``hub.protocol.ecr``) and the card tender's state machine around it, persisted like the payment codes' (``flow``):

1. ``pay``: ``workflow.tender`` persists the tender ``requesting`` (method ``card_terminal``) and commits;
2. the sale request goes to the terminal (outside any transaction): the frame is acknowledged at once, the
   result comes when the customer is done;
3. the result moves the tender on in its own transaction: ``00`` → ``paid`` with the approval code, the card's
   last 4, scheme, terminal batch and retrieval reference, and the sale commits when nothing is left due;
   declined / cancelled by the customer / no card in time → ``failed``; a link that refused the frame (NAK after
   every resend) or could not be opened → ``failed`` (the terminal never took it); a request the terminal
   acknowledged whose result never came (timeout, connection lost) → ``unknown``.

An ``unknown`` tender is never guessed: ``recover`` (the till's poll, a retry with the same idempotency key, and
``resume`` at hub start) asks the terminal for the last transaction with the tender's reference (``L``); an
approved one is recorded, "no such transaction" fails it, silence keeps it ``unknown``. The terminal answers a
resent request with the same reference from its memory, so nothing is charged twice. The cashier's cancel of a
paid-but-uncommitted card tender voids it on the terminal; a return's card part is refunded on it.

The terminals are configured per till in ``payments.json`` (``{"terminals": {"T1": {"host", "port",
"protocol", "ack_timeout_s", "answer_timeout_s"}}}``), next to the providers' merchant keys."""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

from hub.checkout import cart, tenders, workflow
from hub.kernel.db import Database
from hub.kernel.errors import Conflict, StoreHubError, Unprocessable, ValidationError
from hub.protocol.ecr import PROTOCOLS, FrameReader, TerminalProtocol

log = logging.getLogger(__name__)
METHOD = "card_terminal"
PENDING = ("requesting", "unknown")
ERRORS = {  # outcome → the tender's error code (texts: err.<code>)
    "declined": "terminal_declined",
    "cancelled": "terminal_cancelled",
    "timeout": "terminal_timeout",
    "not_found": "terminal_no_such_transaction",
}


class TerminalOffline(StoreHubError):
    """The till's card terminal cannot be reached: the card tender is not possible now (cash goes on)."""

    status = 503
    code = "terminal_offline"


class Refused(Exception):
    """The terminal never took the request (could not connect, or NAK after every resend)."""


class Lost(Exception):
    """The request may have reached the terminal but no valid result came back (timeout, connection lost)."""


@dataclass(frozen=True)
class Result:
    """A terminal's final answer: ``outcome`` approved | declined | cancelled | timeout | not_found."""

    outcome: str
    code: str
    request: str
    amount_minor: int
    approval_code: str
    pan_last4: str
    scheme: str
    batch: int
    reference: str


class Link:
    """One request → ACK → result exchange over TCP, with the protocol's resend rules (the exact bytes are the
    protocol's; see ``hub.protocol.ecr``)."""

    def __init__(self, cfg: dict[str, Any]):
        name = cfg.get("protocol", "generic-ecr")
        if name not in PROTOCOLS:
            raise Unprocessable(f"unknown terminal protocol {name!r}", code="terminal_not_configured")
        self.p: TerminalProtocol = PROTOCOLS[name]
        self.host, self.port = cfg["host"], int(cfg["port"])
        self.ack_timeout_s = float(cfg.get("ack_timeout_s", self.p.framing.ack_timeout_s))
        self.answer_timeout_s = float(cfg.get("answer_timeout_s", self.p.answer_timeout_s))
        self.connect_timeout_s = float(cfg.get("connect_timeout_s", 3))

    def exchange(self, kind: str, values: dict[str, Any]) -> Result:
        f = self.p.framing
        frame = self.p.encode(kind, values)
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
        except OSError as exc:
            raise Refused(f"cannot connect: {exc}") from exc
        try:
            reader = FrameReader(f)
            sock.sendall(frame)
            sent, naks, accepted = 1, 0, False
            deadline = time.monotonic() + self.ack_timeout_s
            early: bytes | None = None
            while not accepted:
                left = deadline - time.monotonic()
                if left <= 0:  # no ACK: send again, the terminal may not have heard
                    if sent > f.max_resends:
                        raise Lost("no ACK after every resend")
                    sock.sendall(frame)
                    sent += 1
                    deadline = time.monotonic() + self.ack_timeout_s
                    continue
                data = self._recv(sock, left)
                if data is None:
                    continue
                for ev in reader.feed(data):
                    if ev[0] == "ack":
                        accepted = True
                    elif ev[0] == "nak":
                        naks += 1
                        if sent > f.max_resends:
                            if naks == sent:
                                raise Refused(f"NAK to all {sent} sends")
                            raise Lost("NAK after every resend")
                        sock.sendall(frame)
                        sent += 1
                        deadline = time.monotonic() + self.ack_timeout_s
                    elif ev[0] == "frame":  # the ACK got lost but the result came: it was accepted
                        accepted, early = True, ev[1]
                    elif ev[0] == "bad":
                        sock.sendall(bytes([f.nak]))
            body = early if early is not None else self._answer(sock, reader)
            sock.sendall(bytes([f.ack]))
            return self._result(body)
        except Lost:
            raise
        except OSError as exc:
            raise Lost(f"connection lost: {exc}") from exc
        finally:
            sock.close()

    def _recv(self, sock: socket.socket, timeout: float) -> bytes | None:
        sock.settimeout(max(0.01, timeout))
        try:
            data = sock.recv(4096)
        except TimeoutError:
            return None
        if not data:
            raise Lost("the terminal closed the connection")
        return data

    def _answer(self, sock: socket.socket, reader: FrameReader) -> bytes:
        f = self.p.framing
        deadline = time.monotonic() + self.answer_timeout_s
        bad = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Lost("no result in time")
            data = self._recv(sock, left)
            if data is None:
                continue
            for ev in reader.feed(data):
                if ev[0] == "frame":
                    return bytes(ev[1])
                if ev[0] == "bad":
                    bad += 1
                    if bad > f.max_resends:
                        raise Lost("the result arrived corrupt after every resend")
                    sock.sendall(bytes([f.nak]))

    def _result(self, body: bytes) -> Result:
        try:
            kind, v = self.p.decode(body)
        except ValueError as exc:
            raise Lost(f"unreadable result: {exc}") from exc
        if kind != "result":
            raise Lost(f"expected a result, got {kind}")
        return Result(
            outcome=self.p.results.get(v["code"], "declined"),
            code=v["code"],
            request=v["request"],
            amount_minor=v["amount"],
            approval_code=v["approval_code"],
            pan_last4=v["pan_last4"],
            scheme=v["scheme"],
            batch=v["batch"],
            reference=v["reference"],
        )

    def request(self, kind: str, ref: str, amount_minor: int = 0, orig_ref: str = "", currency: str = "CNY") -> Result:
        values = {"ecr_ref": ref, "amount": amount_minor, "currency": self.p.currency.get(currency, 156)}
        if kind in ("refund", "void"):
            values["orig_ref"] = orig_ref
        return self.exchange(kind, values)


def link_for(config: dict[str, Any], till_id: str) -> Link:
    cfg = (config.get("terminals") or {}).get(till_id)
    if not cfg:
        raise Unprocessable(
            f"till {till_id} has no integrated card terminal (payments.json terminals)",
            code="terminal_not_configured",
            details={"till_id": till_id},
        )
    return Link(cfg)


# --- the tender's state machine --------------------------------------------------------------------------------
def _record(
    db: Database,
    tender_id: str,
    result: Result | None,
    *,
    actor: str,
    lost: str | None = None,
    refused: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Move a pending card tender on by what the terminal said (one transaction; commits the sale when the
    tender settles the cart)."""
    with db.write() as conn:
        t = tenders.get(conn, tender_id)
        if t["state"] in PENDING:
            if result is not None and result.outcome == "approved":
                t = tenders.transition(
                    conn,
                    tender_id,
                    "paid",
                    actor=actor,
                    approval_code=result.approval_code or None,
                    card_last4=result.pan_last4 or None,
                    provider_ref=result.reference or None,
                    card_scheme=result.scheme or None,
                    terminal_batch=f"{result.batch:06d}",
                    detail=f"approved by the terminal ({result.scheme} ****{result.pan_last4})",
                )
            elif result is not None:
                t = tenders.transition(
                    conn,
                    tender_id,
                    "failed",
                    actor=actor,
                    error=ERRORS.get(result.outcome, "terminal_declined"),
                    card_last4=result.pan_last4 or None,
                    card_scheme=result.scheme or None,
                    detail=f"terminal answered {result.code} ({result.outcome})",
                )
            elif refused is not None:
                t = tenders.transition(
                    conn, tender_id, "failed", actor=actor, error="terminal_comm_lost", detail=refused[:200]
                )
            elif lost is not None and t["state"] == "requesting":
                t = tenders.transition(
                    conn,
                    tender_id,
                    "unknown",
                    actor=actor,
                    error="terminal_result_unknown",
                    detail=f"{lost[:150]}: ask the terminal for the last transaction",
                )
            if t["cart_id"]:
                cart.touched(conn, t["cart_id"])
        if not t["cart_id"]:  # a refund tender
            return {"tender": tenders.public(t), "waiting": t["state"] in PENDING}
        out = workflow._outcome(conn, t["cart_id"], t, device=device)
        out["waiting"] = out["tender"]["state"] in PENDING
        return out


def pay(
    db: Database,
    config: dict[str, Any],
    cart_id: str,
    *,
    idempotency_key: str,
    actor: str,
    amount_minor: int | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Pay (part of) the cart on the till's integrated terminal; answers like ``workflow.tender`` plus
    ``waiting`` (the result is unknown: poll the tender, which asks the terminal for its last transaction)."""
    c = cart.get_row(db.read(), cart_id)
    link = link_for(config, c["till_id"])
    otn = tenders.out_trade_no(idempotency_key)
    with db.write() as conn:
        before = tenders.by_out_trade_no(conn, otn)
        if before is not None and before["method"] != METHOD:
            raise Conflict("idempotency key already used for another payment", code="idempotency_conflict")
        out = workflow.tender(
            conn,
            cart_id,
            method=METHOD,
            idempotency_key=idempotency_key,
            actor=actor,
            amount_minor=amount_minor,
            device=device,
        )
        t = tenders.get(conn, out["tender"]["id"]) if out.get("tender") else None
        if t is not None and t["state"] in PENDING and before is None:
            cart.touched(conn, cart_id)  # the customer display asks for the card while the terminal waits
    if t is None or t["state"] not in PENDING:
        return {**out, "waiting": False}
    if before is not None:  # sent before: ask, never pay twice
        return recover(db, config, t["id"], actor=actor, device=device)
    return _send(db, link, t, "sale", actor=actor, device=device)


def _send(
    db: Database,
    link: Link,
    t: dict[str, Any],
    kind: str,
    *,
    actor: str,
    device: str | None = None,
    orig_ref: str = "",
) -> dict[str, Any]:
    try:
        result = link.request(kind, t["out_trade_no"], t["amount_minor"], orig_ref=orig_ref)
    except Refused as exc:
        return _record(db, t["id"], None, actor=actor, refused=str(exc), device=device)
    except Lost as exc:
        return _record(db, t["id"], None, actor=actor, lost=str(exc), device=device)
    return _record(db, t["id"], result, actor=actor, device=device)


def recover(
    db: Database, config: dict[str, Any], tender_id: str, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Ask the terminal for the last transaction with the tender's reference and record it (the till polls an
    ``unknown`` card tender; ``resume`` does the same at hub start). Silence leaves the tender ``unknown``."""
    t = tenders.get(db.read(), tender_id)
    if t["method"] != METHOD:
        raise ValidationError("only an integrated-terminal card tender is asked about", code="not_a_terminal_tender")
    if t["state"] not in PENDING:
        return _record(db, tender_id, None, actor=actor, device=device)
    link = link_for(config, t["till_id"])
    try:
        result = link.request("last", t["out_trade_no"])
    except (Refused, Lost) as exc:
        raise TerminalOffline(
            "the card terminal does not answer: the payment is asked about again later",
            details={"tender_id": tender_id, "why": str(exc)[:120]},
        ) from exc
    return _record(db, tender_id, result, actor=actor, device=device)


def cancel(
    db: Database, config: dict[str, Any], tender_id: str, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """The cashier takes a card-terminal tender back before the sale commits: a paid one is voided on the
    terminal (the tender is ``unknown`` on disk while the void is under way), a pending one is first asked
    about; the tender is ``reversed`` once the terminal confirms the void or says it has no such transaction."""
    t = tenders.get(db.read(), tender_id)
    c = cart.get_row(db.read(), t["cart_id"])
    if c["status"] != "open" or t["sale_id"]:
        raise Conflict("the sale is committed: take goods back with a return", code="sale_committed")
    if t["state"] not in ("requesting", "unknown", "paid"):
        return _record(db, tender_id, None, actor=actor, device=device)
    link = link_for(config, t["till_id"])
    with db.write() as conn:
        t = tenders.get(conn, tender_id)
        if t["state"] == "requesting":  # paid stays paid until the terminal confirms the void
            t = tenders.transition(conn, tender_id, "unknown", actor=actor, detail="voiding on the terminal")
    try:
        res = link.request("void", "V" + t["out_trade_no"][1:], t["amount_minor"], orig_ref=t["out_trade_no"])
    except (Refused, Lost) as exc:
        raise TerminalOffline(
            "the card terminal does not answer: the void is tried again", details={"tender_id": tender_id}
        ) from exc
    if res.outcome not in ("approved", "not_found"):
        raise Conflict(
            f"the terminal refused the void ({res.code})", code="terminal_void_refused", details={"code": res.code}
        )
    with db.write() as conn:
        t = tenders.transition(conn, tender_id, "reversed", actor=actor, detail=f"voided on the terminal ({res.code})")
        cart.touched(conn, t["cart_id"])
    return _record(db, tender_id, None, actor=actor, device=device)


def settle_refunds(db: Database, config: dict[str, Any], return_id: str, *, actor: str) -> list[dict[str, Any]]:
    """Send the pending card-terminal refunds of a return to the till's terminal (idempotent by the refund
    tender's own reference: the terminal answers a repeated one from its memory)."""
    conn = db.read()
    rows = [
        dict(r)
        for r in conn.execute(
            "SELECT r.*, o.out_trade_no AS paid_otn FROM checkout_tenders r JOIN checkout_tenders o"
            " ON o.id = r.refunds_tender_id WHERE r.sale_id = ? AND r.direction = 'out' AND r.method = ?"
            " AND r.state IN ('requesting','unknown')",
            (return_id, METHOD),
        )
    ]
    out = []
    for r in rows:
        try:
            link = link_for(config, r["till_id"])
        except StoreHubError:
            out.append(tenders.public(r))
            continue
        kind = "last" if r["state"] == "unknown" else "refund"
        try:
            res = link.request(kind, r["out_trade_no"], r["amount_minor"], orig_ref=r["paid_otn"])
            if kind == "last" and res.outcome == "not_found":  # never reached the terminal: send it now
                res = link.request("refund", r["out_trade_no"], r["amount_minor"], orig_ref=r["paid_otn"])
            out.append(_record(db, r["id"], res, actor=actor)["tender"])
        except Refused as exc:
            log.warning("card refund %s not sent: %s", r["id"], exc)
            out.append(tenders.public(r))
        except Lost as exc:
            out.append(_record(db, r["id"], None, actor=actor, lost=str(exc))["tender"])
    return out


def resume(db: Database, config: dict[str, Any], *, actor: str = "system:resume-payments") -> dict[str, int]:
    """At hub start: every card-terminal tender a stopped hub left pending is asked about (the last
    transaction with its reference); an approved one is recorded and its sale committed once, one the terminal
    never took is failed, pending refunds are sent."""
    counts = {"paid": 0, "failed": 0, "pending": 0, "refunds": 0}
    rows = [
        dict(r)
        for r in db.read().execute(
            "SELECT * FROM checkout_tenders WHERE method = ? AND state IN ('requesting','unknown') ORDER BY created_at",
            (METHOD,),
        )
    ]
    for t in rows:
        if t["direction"] == "out":
            settle_refunds(db, config, t["sale_id"], actor=actor)
            counts["refunds"] += 1
            continue
        try:
            out = recover(db, config, t["id"], actor=actor)
            state = out["tender"]["state"]
            counts["paid" if state == "paid" else "failed" if state == "failed" else "pending"] += 1
        except StoreHubError as exc:
            log.warning("card tender %s still pending: %s", t["id"], exc)
            counts["pending"] += 1
    return counts

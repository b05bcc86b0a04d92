"""Tills, business days, shifts and cash outside sales (paid-in/out, safe drops).

A business day is the store-local date (``timezone`` setting). One row per till per day holds the gapless
receipt counter and the Z seal: once the Z report closes a day, nothing more is sold, returned or opened on it
at that till. A till sells only during an open shift, which began with a counted float."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.checkout import journal, rules
from hub.finance import gate
from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso, parse_iso


def business_date(conn: sqlite3.Connection, at: str | None = None) -> str:
    """The store-local date of ``at`` (default now): the day a sale belongs to."""
    when = parse_iso(at) if at else datetime.now(ZoneInfo("UTC"))
    return when.astimezone(ZoneInfo(settings.get(conn, "timezone"))).date().isoformat()


def ensure_till(
    conn: sqlite3.Connection, till_id: str, *, printer_device: str | None = None, scale_device: str | None = None
) -> dict[str, Any]:
    """The till, registered on first use; devices named here replace the till's own."""
    rules.check_till(till_id)
    row = conn.execute("SELECT * FROM checkout_tills WHERE id = ?", (till_id,)).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO checkout_tills(id, printer_device, scale_device, created_at) VALUES (?,?,?,?)",
            (till_id, printer_device, scale_device, now_iso()),
        )
    elif printer_device or scale_device:
        conn.execute(
            "UPDATE checkout_tills SET printer_device = COALESCE(?, printer_device),"
            " scale_device = COALESCE(?, scale_device) WHERE id = ?",
            (printer_device, scale_device, till_id),
        )
    return get_till(conn, till_id)


def get_till(conn: sqlite3.Connection, till_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM checkout_tills WHERE id = ?", (till_id,)).fetchone()
    if row is None:
        raise NotFound(f"no till {till_id}; open a shift on it first", code="till_not_found")
    till = dict(row)
    till["printer_device"] = till["printer_device"] or settings.get(conn, "checkout.printer_device")
    till["scale_device"] = till["scale_device"] or settings.get(conn, "checkout.scale_device")
    return till


def day(conn: sqlite3.Connection, till_id: str, date: str) -> dict[str, Any] | None:
    r = conn.execute("SELECT * FROM checkout_days WHERE till_id = ? AND business_date = ?", (till_id, date)).fetchone()
    return dict(r) if r else None


def require_open_day(conn: sqlite3.Connection, till_id: str, date: str | None = None) -> str:
    """Today's business date at the till, or ``Conflict(day_closed)`` once its Z report sealed it (and finance's
    ``day_locked`` / ``business_day_closed`` once the store's day is closed or locked)."""
    date = date or business_date(conn)
    d = day(conn, till_id, date)
    if d is not None and d["status"] == "closed":
        raise Conflict(
            f"till {till_id} is closed for {date} (Z report {d['z_number']}); it sells again tomorrow",
            code="day_closed",
            details={"till_id": till_id, "business_date": date},
        )
    gate.require_postable(conn, date)  # finance closed or locked the store's day: nothing posts into it
    return date


def open_shift_of(conn: sqlite3.Connection, till_id: str) -> dict[str, Any] | None:
    r = conn.execute("SELECT * FROM checkout_shifts WHERE till_id = ? AND status = 'open'", (till_id,)).fetchone()
    return dict(r) if r else None


def require_selling(conn: sqlite3.Connection, till_id: str) -> tuple[str, dict[str, Any]]:
    """(business date, open shift) of a till that may sell now."""
    date = require_open_day(conn, till_id)
    shift = open_shift_of(conn, till_id)
    if shift is None:
        raise Conflict(
            f"till {till_id} has no open shift: count the float and open one",
            code="no_open_shift",
            details={"till_id": till_id},
        )
    if shift["business_date"] != date:
        raise Conflict(
            f"the shift on till {till_id} belongs to {shift['business_date']}: close it, run the Z "
            "report and open today's",
            code="shift_from_another_day",
            details={"till_id": till_id, "shift_date": shift["business_date"], "today": date},
        )
    return date, shift


def next_receipt_no(conn: sqlite3.Connection, till_id: str, date: str) -> int:
    """The next receipt number of the till's day, in the transaction that uses it (so numbers are gapless:
    a rolled-back sale gives its number back)."""
    conn.execute(
        "INSERT INTO checkout_days(till_id, business_date) VALUES (?, ?) ON CONFLICT DO NOTHING", (till_id, date)
    )
    conn.execute(
        "UPDATE checkout_days SET last_receipt_no = last_receipt_no + 1 WHERE till_id = ? AND business_date = ?",
        (till_id, date),
    )
    return int(
        conn.execute(
            "SELECT last_receipt_no FROM checkout_days WHERE till_id = ? AND business_date = ?", (till_id, date)
        ).fetchone()[0]
    )


def open_shift(
    conn: sqlite3.Connection,
    till_id: str,
    *,
    float_counted: dict[str, int] | None = None,
    float_minor: int | None = None,
    actor: str,
    device: str | None = None,
    printer_device: str | None = None,
    scale_device: str | None = None,
) -> dict[str, Any]:
    """Open a shift with the counted float (by denomination, or an amount)."""
    ensure_till(conn, till_id, printer_device=printer_device, scale_device=scale_device)
    date = require_open_day(conn, till_id)
    if open_shift_of(conn, till_id) is not None:
        raise Conflict(f"till {till_id} already has an open shift", code="shift_already_open")
    if float_counted is not None:
        amount = rules.count_total(float_counted, settings.get(conn, "checkout.denominations"))
    elif float_minor is not None and float_minor >= 0:
        amount = float_minor
    else:
        raise ValidationError("count the float: by denomination or as an amount", code="float_required")
    conn.execute(
        "INSERT INTO checkout_days(till_id, business_date) VALUES (?, ?) ON CONFLICT DO NOTHING", (till_id, date)
    )
    sid, now = new_id(), now_iso()
    conn.execute(
        "INSERT INTO checkout_shifts(id, till_id, business_date, status, opened_by, opened_at, float_minor)"
        " VALUES (?,?,?,'open',?,?,?)",
        (sid, till_id, date, actor, now, amount),
    )
    journal.append(
        conn,
        "shift_open",
        till_id=till_id,
        business_date=date,
        ts=now,
        body={"shift_id": sid, "opened_by": actor, "float_minor": amount, "counted": float_counted},
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.shift_open",
        target=sid,
        details={"till_id": till_id, "float_minor": amount},
    )
    return get_shift(conn, sid)


def get_shift(conn: sqlite3.Connection, shift_id: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM checkout_shifts WHERE id = ?", (shift_id,)).fetchone()
    if r is None:
        raise NotFound(f"no shift {shift_id}", code="shift_not_found")
    out = dict(r)
    out["counted"] = json.loads(out["counted"]) if out["counted"] else None
    return out


def cash_expected(conn: sqlite3.Connection, shift: dict[str, Any]) -> int:
    """What the drawer should hold: float + cash taken − cash refunded + paid-in − paid-out − safe drops."""
    cash = conn.execute(
        "SELECT COALESCE(SUM(CASE direction WHEN 'in' THEN amount_minor ELSE -amount_minor END), 0) FROM checkout_tenders"
        " WHERE shift_id = ? AND method = 'cash' AND state = 'paid' AND sale_id IS NOT NULL",
        (shift["id"],),
    ).fetchone()[0]
    moves = conn.execute(
        "SELECT COALESCE(SUM(CASE kind WHEN 'paid_in' THEN amount_minor ELSE -amount_minor END), 0)"
        " FROM checkout_cash_moves WHERE shift_id = ?",
        (shift["id"],),
    ).fetchone()[0]
    return int(shift["float_minor"] + cash + moves)


def cash_move(
    conn: sqlite3.Connection,
    till_id: str,
    *,
    kind: str,
    amount_minor: int,
    reason: str,
    actor: str,
    idempotency_key: str,
    approved_by: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """A paid-in, paid-out or safe drop during the till's open shift (journalled, a fact, audited)."""
    if kind not in ("paid_in", "paid_out", "safe_drop"):
        raise ValidationError("kind is paid_in, paid_out or safe_drop", code="bad_cash_kind")
    if not reason or not reason.strip():
        raise ValidationError("a reason is required", code="reason_required")
    seen = conn.execute("SELECT * FROM checkout_cash_moves WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
    if seen is not None:
        return dict(seen)
    date, shift = require_selling(conn, till_id)
    if kind != "paid_in" and amount_minor > cash_expected(conn, shift):
        raise Conflict(
            "the drawer does not hold that much cash",
            code="not_enough_cash",
            details={"expected_minor": cash_expected(conn, shift)},
        )
    row = {
        "id": new_id(),
        "idempotency_key": idempotency_key,
        "shift_id": shift["id"],
        "till_id": till_id,
        "business_date": date,
        "kind": kind,
        "amount_minor": amount_minor,
        "reason": reason.strip()[:200],
        "actor": actor,
        "approved_by": approved_by,
        "at": now_iso(),
    }
    conn.execute(
        "INSERT INTO checkout_cash_moves(id, idempotency_key, shift_id, till_id, business_date, kind,"
        " amount_minor, reason, actor, approved_by, at) VALUES (:id, :idempotency_key, :shift_id, :till_id,"
        " :business_date, :kind, :amount_minor, :reason, :actor, :approved_by, :at)",
        row,
    )
    journal.append(
        conn,
        kind,
        till_id=till_id,
        business_date=date,
        ts=row["at"],
        body={k: row[k] for k in ("id", "shift_id", "amount_minor", "reason", "actor", "approved_by")},
    )
    outbox.record(
        conn,
        "checkout.cash_moved",
        {
            "id": row["id"],
            "till_id": till_id,
            "shift_id": shift["id"],
            "business_date": date,
            "kind": kind,
            "amount_minor": amount_minor,
            "reason": row["reason"],
            "actor": actor,
            "approved_by": approved_by,
            "ts": row["at"],
        },
        ts=row["at"],
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action=f"checkout.{kind}",
        target=till_id,
        details={"amount_minor": amount_minor, "reason": row["reason"], "approved_by": approved_by},
    )
    return row


def close_shift(
    conn: sqlite3.Connection, till_id: str, *, counted: dict[str, int], actor: str, device: str | None = None
) -> dict[str, Any]:
    """Close the open shift with a blind count by denomination: only now are expected and over/short shown."""
    shift = open_shift_of(conn, till_id)
    if shift is None:
        raise Conflict(f"till {till_id} has no open shift", code="no_open_shift")
    busy = conn.execute(
        "SELECT COUNT(*) FROM checkout_tenders t JOIN checkout_carts c ON c.id = t.cart_id"
        " WHERE c.till_id = ? AND c.status IN ('open','held') AND t.state IN ('requesting','paid','unknown')",
        (till_id,),
    ).fetchone()[0]
    if busy:
        raise Conflict("a sale on this till is being paid: finish or void it first", code="sale_in_progress")
    total = rules.count_total(counted, settings.get(conn, "checkout.denominations"))
    expected = cash_expected(conn, shift)
    now = now_iso()
    conn.execute(
        "UPDATE checkout_shifts SET status = 'closed', closed_by = ?, closed_at = ?, counted_minor = ?,"
        " counted = ?, expected_minor = ?, over_short_minor = ? WHERE id = ?",
        (actor, now, total, json.dumps(counted, sort_keys=True), expected, total - expected, shift["id"]),
    )
    journal.append(
        conn,
        "shift_close",
        till_id=till_id,
        business_date=shift["business_date"],
        ts=now,
        body={
            "shift_id": shift["id"],
            "closed_by": actor,
            "counted": counted,
            "counted_minor": total,
            "expected_minor": expected,
            "over_short_minor": total - expected,
        },
    )
    outbox.record(
        conn,
        "checkout.shift_closed",
        {
            "shift_id": shift["id"],
            "till_id": till_id,
            "business_date": shift["business_date"],
            "opened_by": shift["opened_by"],
            "closed_by": actor,
            "float_minor": shift["float_minor"],
            "expected_minor": expected,
            "counted_minor": total,
            "over_short_minor": total - expected,
            "ts": now,
        },
        ts=now,
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="checkout.shift_close",
        target=shift["id"],
        details={"over_short_minor": total - expected},
    )
    return get_shift(conn, shift["id"])

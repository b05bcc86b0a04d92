"""Finance: the store-day close and its settlement. Every function takes an open connection; changes run inside
the caller's ``db.write()`` transaction and never commit, so a state change, its facts and its audit entry land
together (docs/finance.md).

The business day of this store moves open → closing → closed → reconciled → locked (``rules.NEXT``):

* **close** looks at the till side of the day: every till that worked it has its Z report, no shift is open and
  no payment is in flight. Anything missing leaves the day ``closing`` with the list of what blocks it; a later
  close (once the tills finished) closes it.
* **reconcile** freezes the settlement (expected from the sale journal vs recorded tenders vs counted cash vs
  card batches vs the providers' statements) with every difference listed; each code provider that took money
  that day must have its statement imported.
* **lock** freezes the day's double-entry journal (hub/finance/accounting.py); afterwards nothing posts into
  the day (the till asks ``hub.finance.gate``) and a correction goes into an open day with a reference."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict
from datetime import date as Date
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.finance import gate, rules, statements
from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

# --- the day --------------------------------------------------------------------------------------------------


def today(conn: sqlite3.Connection) -> str:
    """The store-local date now (the business day the till sells on)."""
    return datetime.now(ZoneInfo(settings.get(conn, "timezone"))).date().isoformat()


def check_date(text: str) -> str:
    try:
        return Date.fromisoformat(text).isoformat()
    except (TypeError, ValueError):
        raise ValidationError(
            f"{text!r} is not a date (YYYY-MM-DD)", code="bad_business_date", details={"value": str(text)}
        ) from None


def _row(conn: sqlite3.Connection, business_date: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM finance_days WHERE business_date = ?", (business_date,)).fetchone()
    if r is None:
        return {
            "business_date": business_date,
            "state": "open",
            "blockers": [],
            "settlement": None,
            "closed_by": None,
            "closed_at": None,
            "reconciled_by": None,
            "reconciled_at": None,
            "locked_by": None,
            "locked_at": None,
            "updated_at": None,
        }
    d = dict(r)
    d["blockers"] = json.loads(d["blockers"])
    d["settlement"] = json.loads(d["settlement"]) if d["settlement"] else None
    return d


def get_day(conn: sqlite3.Connection, business_date: str) -> dict[str, Any]:
    d = _row(conn, check_date(business_date))
    d["events"] = [
        dict(r)
        for r in conn.execute(
            "SELECT from_state, to_state, actor, note, at FROM finance_day_events WHERE business_date = ? ORDER BY seq",
            (business_date,),
        )
    ]
    return d


def list_days(conn: sqlite3.Connection, *, limit: int = 31, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Days finance has touched, newest first, with today's (open) day on top when it has no row yet."""
    total = conn.execute("SELECT COUNT(*) FROM finance_days").fetchone()[0]
    rows = [
        {"business_date": r[0], "state": r[1], "updated_at": r[2], "blockers": json.loads(r[3])}
        for r in conn.execute(
            "SELECT business_date, state, updated_at, blockers FROM finance_days ORDER BY business_date DESC"
            " LIMIT ? OFFSET ?",
            (limit, offset),
        )
    ]
    return rows, total


def _move(
    conn: sqlite3.Connection,
    day: dict[str, Any],
    target: str,
    *,
    actor: str,
    device: str | None,
    note: str = "",
    **columns: Any,
) -> dict[str, Any]:
    rules.check_transition(day["state"], target, business_date=day["business_date"])
    now = now_iso()
    cols = {"blockers": json.dumps(columns.pop("blockers", []), ensure_ascii=False), **columns}
    conn.execute(
        "INSERT INTO finance_days(business_date, state, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(business_date) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        (day["business_date"], target, now),
    )
    for k, v in cols.items():  # names are this module's own (never from a request)
        conn.execute(f"UPDATE finance_days SET {k} = ? WHERE business_date = ?", (v, day["business_date"]))
    conn.execute(
        "INSERT INTO finance_day_events(business_date, from_state, to_state, actor, note, at) VALUES (?,?,?,?,?,?)",
        (day["business_date"], day["state"], target, actor, note, now),
    )
    fact = {
        "business_date": day["business_date"],
        "state": target,
        "from_state": day["state"],
        "by": actor,
        "at": now,
        "note": note,
    }
    audit.log(
        conn,
        actor=actor,
        device=device,
        action=f"finance.day.{target}",
        target=day["business_date"],
        details={"from": day["state"], "note": note} if note else {"from": day["state"]},
    )
    return fact


def blockers(conn: sqlite3.Connection, business_date: str) -> list[dict[str, Any]]:
    """What keeps the tills' side of the day from closing: Z reports missing, shifts open, payments in flight."""
    out: list[dict[str, Any]] = []
    tills = [
        r[0]
        for r in conn.execute(
            "SELECT till_id FROM checkout_days WHERE business_date = ? UNION "
            "SELECT till_id FROM checkout_shifts WHERE business_date = ? ORDER BY 1",
            (business_date, business_date),
        )
    ]
    for till in tills:
        r = conn.execute(
            "SELECT status FROM checkout_days WHERE till_id = ? AND business_date = ?", (till, business_date)
        ).fetchone()
        if r is None or r[0] != "closed":
            out.append({"kind": "z_report_missing", "till_id": till})
    for r in conn.execute(
        "SELECT id, till_id, opened_by FROM checkout_shifts WHERE business_date = ? AND status = 'open'"
        " ORDER BY till_id",
        (business_date,),
    ):
        out.append({"kind": "shift_open", "till_id": r[1], "shift_id": r[0], "cashier": r[2]})
    for r in conn.execute(
        "SELECT id, till_id, method, state FROM checkout_tenders WHERE business_date = ? AND ("
        " state IN ('created','requesting','unknown') OR (state = 'paid' AND direction = 'in' AND sale_id IS NULL))"
        " ORDER BY till_id, id",
        (business_date,),
    ):
        out.append({"kind": "sale_in_progress", "till_id": r[1], "tender_id": r[0], "method": r[2], "state": r[3]})
    return out


def close_day(conn: sqlite3.Connection, business_date: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    """open → closing (something still blocks) → closed (every till's Z report in, nothing being paid)."""
    business_date = check_date(business_date)
    if business_date > today(conn):
        raise Conflict(
            f"{business_date} has not begun yet", code="day_in_future", details={"business_date": business_date}
        )
    day = _row(conn, business_date)
    if day["state"] not in ("open", "closing"):
        rules.check_transition(day["state"], "closed", business_date=business_date)
    found = blockers(conn, business_date)
    if found:
        if day["state"] == "open":
            fact = _move(conn, day, "closing", actor=actor, device=device, blockers=found)
            outbox.record(conn, "finance.day.closing", {**fact, "blockers": found}, ts=fact["at"])
        else:
            conn.execute(
                "UPDATE finance_days SET blockers = ?, updated_at = ? WHERE business_date = ?",
                (json.dumps(found, ensure_ascii=False), now_iso(), business_date),
            )
        return get_day(conn, business_date)
    if day["state"] == "open":  # through closing: the state machine has no shortcut
        fact = _move(conn, day, "closing", actor=actor, device=device)
        outbox.record(conn, "finance.day.closing", {**fact, "blockers": []}, ts=fact["at"])
        day = _row(conn, business_date)
    now = now_iso()
    totals = till_totals(conn, business_date)
    fact = _move(conn, day, "closed", actor=actor, device=device, closed_by=actor, closed_at=now)
    outbox.record(conn, "finance.day.closed", {**fact, "totals": totals}, ts=fact["at"])
    return get_day(conn, business_date)


def reopen_day(
    conn: sqlite3.Connection, business_date: str, *, actor: str, reason: str, device: str | None = None
) -> dict[str, Any]:
    """A closing/closed day back to open, or a reconciled one back to closed (a reason is required; audited)."""
    business_date = check_date(business_date)
    if not reason.strip():
        raise ValidationError("a reason is required", code="reason_required")
    day = _row(conn, business_date)
    target = "closed" if day["state"] == "reconciled" else "open"
    fact = _move(conn, day, target, actor=actor, device=device, note=reason.strip(), settlement=None)
    outbox.record(conn, "finance.day.reopened", fact, ts=fact["at"])
    return get_day(conn, business_date)


def reconcile_day(
    conn: sqlite3.Connection, business_date: str, *, actor: str, note: str = "", device: str | None = None
) -> dict[str, Any]:
    """closed → reconciled: the settlement is frozen with its differences (each provider's statement needed)."""
    business_date = check_date(business_date)
    day = _row(conn, business_date)
    rules.check_transition(day["state"], "reconciled", business_date=business_date)
    s = settlement(conn, business_date)
    missing = [d for d in s["differences"] if d["kind"] == "statement_missing"]
    if missing:
        raise Conflict(
            "import the providers' statements first: " + ", ".join(d["method"] for d in missing),
            code="statement_missing",
            details={"business_date": business_date, "providers": [d["method"] for d in missing]},
        )
    now = now_iso()
    fact = _move(
        conn,
        day,
        "reconciled",
        actor=actor,
        device=device,
        note=note,
        reconciled_by=actor,
        reconciled_at=now,
        settlement=json.dumps(s, ensure_ascii=False, sort_keys=True),
    )
    outbox.record(
        conn,
        "finance.day.reconciled",
        {**fact, "differences": len(s["differences"]), "tenders": s["tenders"]},
        ts=fact["at"],
    )
    return get_day(conn, business_date)


def lock_day(conn: sqlite3.Connection, business_date: str, *, actor: str, device: str | None = None) -> dict[str, Any]:
    """reconciled → locked: the day's journal is built, checked balanced and kept; nothing posts into it again."""
    from hub.finance import accounting

    business_date = check_date(business_date)
    day = _row(conn, business_date)
    rules.check_transition(day["state"], "locked", business_date=business_date)
    lines = accounting.build_journal(conn, business_date)
    conn.executemany(
        "INSERT INTO finance_journal_lines(business_date, line_no, account, debit_minor, credit_minor, memo)"
        " VALUES (?,?,?,?,?,?)",
        [
            (business_date, i, ln["account"], ln["debit_minor"], ln["credit_minor"], ln["memo"])
            for i, ln in enumerate(lines, start=1)
        ],
    )
    conn.execute(
        "INSERT INTO finance_locked_accounts(business_date, accounts) VALUES (?, ?)",
        (business_date, json.dumps(settings.get(conn, "finance.accounts"), ensure_ascii=False, sort_keys=True)),
    )
    now = now_iso()
    fact = _move(conn, day, "locked", actor=actor, device=device, locked_by=actor, locked_at=now)
    debit = sum(ln["debit_minor"] for ln in lines)
    outbox.record(
        conn, "finance.day.locked", {**fact, "journal_lines": len(lines), "journal_total_minor": debit}, ts=fact["at"]
    )
    return get_day(conn, business_date)


# --- settlement -----------------------------------------------------------------------------------------------


def till_totals(conn: sqlite3.Connection, business_date: str) -> dict[str, Any]:
    r = conn.execute(
        "SELECT COUNT(*) FILTER (WHERE kind = 'sale'), COUNT(*) FILTER (WHERE kind = 'return'),"
        " COALESCE(SUM(CASE kind WHEN 'sale' THEN total_minor ELSE 0 END), 0),"
        " COALESCE(SUM(CASE kind WHEN 'return' THEN total_minor ELSE 0 END), 0)"
        " FROM checkout_sales WHERE business_date = ?",
        (business_date,),
    ).fetchone()
    return {"sales": r[0], "returns": r[1], "net_sales_minor": r[2], "refunds_minor": r[3]}


def _journal_expected(conn: sqlite3.Connection, business_date: str) -> dict[tuple[str, str], int]:
    """(till, method) → net amount the sale journal's sale and return entries say the tenders took."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for kind, till, body in conn.execute(
        "SELECT kind, till_id, body FROM checkout_journal WHERE business_date = ? AND kind IN ('sale','return')",
        (business_date,),
    ):
        sign = 1 if kind == "sale" else -1
        for t in json.loads(body).get("tenders", ()):
            out[(till, t["method"])] += sign * t["amount_minor"]
    return out


def match(
    hub_payments: dict[str, dict[str, Any]],
    hub_refunds: dict[str, dict[str, Any]],
    hub_reversed: dict[str, dict[str, Any]],
    rows: list[dict[str, Any]],
    *,
    method: str,
    fee_rate: str,
) -> list[dict[str, Any]]:
    """Differences between the till's code payments/refunds and a statement's rows, by out_trade_no (refunds by
    their refund number). A reversed tender whose statement shows the payment and its full reversal is settled."""
    diffs: list[dict[str, Any]] = []
    pay_rows: dict[str, dict[str, Any]] = {}
    ref_rows: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["kind"] == "payment":
            pay_rows[row["out_trade_no"]] = row
        else:
            ref_rows[row["refund_no"]] = row

    def diff(kind: str, **kw: Any) -> None:
        diffs.append({"kind": kind, "method": method, **kw})

    for otn, t in hub_payments.items():
        r = pay_rows.pop(otn) if otn in pay_rows else None
        if r is None:
            diff(
                "missing_in_statement",
                till_id=t["till_id"],
                out_trade_no=otn,
                hub_minor=t["amount_minor"],
                statement_minor=0,
                difference_minor=-t["amount_minor"],
            )
            continue
        if r["amount_minor"] != t["amount_minor"]:
            diff(
                "amount_mismatch",
                till_id=t["till_id"],
                out_trade_no=otn,
                hub_minor=t["amount_minor"],
                statement_minor=r["amount_minor"],
                difference_minor=r["amount_minor"] - t["amount_minor"],
            )
        expected = rules.fee(r["amount_minor"], fee_rate)
        if r["fee_minor"] != expected:
            diff(
                "fee_mismatch",
                till_id=t["till_id"],
                out_trade_no=otn,
                fee_expected_minor=expected,
                fee_statement_minor=r["fee_minor"],
                difference_minor=r["fee_minor"] - expected,
            )
    for no, t in hub_refunds.items():
        r = ref_rows.pop(no) if no in ref_rows else None
        if r is None:
            diff(
                "missing_in_statement",
                till_id=t["till_id"],
                out_trade_no=t["original"],
                refund_no=no,
                hub_minor=-t["amount_minor"],
                statement_minor=0,
                difference_minor=t["amount_minor"],
            )
            continue
        if -r["amount_minor"] != t["amount_minor"]:
            diff(
                "amount_mismatch",
                till_id=t["till_id"],
                out_trade_no=t["original"],
                refund_no=no,
                hub_minor=-t["amount_minor"],
                statement_minor=r["amount_minor"],
                difference_minor=r["amount_minor"] + t["amount_minor"],
            )
        expected = rules.fee(r["amount_minor"], fee_rate)
        if r["fee_minor"] != expected:
            diff(
                "fee_mismatch",
                till_id=t["till_id"],
                out_trade_no=t["original"],
                refund_no=no,
                fee_expected_minor=expected,
                fee_statement_minor=r["fee_minor"],
                difference_minor=r["fee_minor"] - expected,
            )
    for otn, t in hub_reversed.items():  # charged, then reversed before the sale committed
        p = pay_rows.pop(otn) if otn in pay_rows else None
        back = [ref_rows.pop(no) for no in [n for n, r in ref_rows.items() if r["out_trade_no"] == otn]]
        if p is not None and p["amount_minor"] + sum(r["amount_minor"] for r in back) != 0:
            diff(
                "reversal_not_refunded",
                till_id=t["till_id"],
                out_trade_no=otn,
                hub_minor=0,
                statement_minor=p["amount_minor"] + sum(r["amount_minor"] for r in back),
                difference_minor=p["amount_minor"] + sum(r["amount_minor"] for r in back),
            )
    for otn, r in pay_rows.items():
        diff(
            "extra_in_statement",
            out_trade_no=otn,
            hub_minor=0,
            statement_minor=r["amount_minor"],
            difference_minor=r["amount_minor"],
            provider_ref=r["provider_ref"],
        )
    for no, r in ref_rows.items():
        diff(
            "extra_in_statement",
            out_trade_no=r["out_trade_no"],
            refund_no=no,
            hub_minor=0,
            statement_minor=r["amount_minor"],
            difference_minor=r["amount_minor"],
            provider_ref=r["provider_ref"],
        )
    return diffs


def _statement_rows(conn: sqlite3.Connection, provider: str, business_date: str) -> list[dict[str, Any]] | None:
    st = conn.execute(
        "SELECT id FROM finance_statements WHERE provider = ? AND bill_date = ?", (provider, business_date)
    ).fetchone()
    if st is None:
        return None
    return [
        dict(r)
        for r in conn.execute(
            "SELECT kind, out_trade_no, refund_no, provider_ref, amount_minor, fee_minor FROM finance_statement_rows"
            " WHERE statement_id = ? ORDER BY line_no",
            (st[0],),
        )
    ]


def settlement(conn: sqlite3.Connection, business_date: str) -> dict[str, Any]:
    """The day's money per tender and till: expected (sale journal) vs recorded (tenders) vs counted cash vs
    card batches vs statements, with every difference listed. A reconciled or locked day answers its frozen one."""
    business_date = check_date(business_date)
    day = _row(conn, business_date)
    if day["state"] in ("reconciled", "locked") and day["settlement"]:
        return {**day["settlement"], "state": day["state"], "frozen": True}
    expected = _journal_expected(conn, business_date)
    recorded: dict[tuple[str, str], int] = defaultdict(int)
    payments: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    refunds: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    reversed_: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    originals: dict[str, str] = {}
    rows = conn.execute(
        "SELECT id, out_trade_no, till_id, method, direction, amount_minor, state, sale_id, refunds_tender_id"
        " FROM checkout_tenders WHERE business_date = ? AND state IN ('paid','reversed')",
        (business_date,),
    ).fetchall()
    for r in rows:
        originals[r[0]] = r[1]
    for _tid, otn, till, method, direction, amount, state, sale_id, refunds_id in rows:
        if state == "paid" and sale_id is not None:
            recorded[(till, method)] += amount if direction == "in" else -amount
        if method not in rules.CODE_METHODS:
            continue
        if state == "paid" and direction == "in" and sale_id is not None:
            payments[method][otn] = {"till_id": till, "amount_minor": amount}
        elif state == "paid" and direction == "out":
            orig = (
                originals.get(refunds_id)
                or (
                    conn.execute("SELECT out_trade_no FROM checkout_tenders WHERE id = ?", (refunds_id,)).fetchone()
                    or [""]
                )[0]
            )
            refunds[method][otn] = {"till_id": till, "amount_minor": amount, "original": orig}
        elif state == "reversed" and direction == "in":
            reversed_[method][otn] = {"till_id": till}
    diffs: list[dict[str, Any]] = []
    for key in sorted(set(expected) | set(recorded)):
        if expected.get(key, 0) != recorded.get(key, 0):
            diffs.append(
                {
                    "kind": "journal_tender_mismatch",
                    "till_id": key[0],
                    "method": key[1],
                    "hub_minor": recorded.get(key, 0),
                    "journal_minor": expected.get(key, 0),
                    "difference_minor": recorded.get(key, 0) - expected.get(key, 0),
                }
            )
    # cash: each shift's blind count against what it should hold
    tills: list[dict[str, Any]] = []
    for r in conn.execute(
        "SELECT s.id, s.till_id, s.opened_by, COALESCE(u.username, s.opened_by), s.status, s.expected_minor,"
        " s.counted_minor, s.over_short_minor FROM checkout_shifts s LEFT JOIN users u ON u.id = s.opened_by"
        " WHERE s.business_date = ? ORDER BY s.till_id, s.opened_at",
        (business_date,),
    ):
        tills.append(
            {
                "shift_id": r[0],
                "till_id": r[1],
                "cashier": r[2],
                "cashier_name": r[3],
                "status": r[4],
                "expected_minor": r[5],
                "counted_minor": r[6],
                "over_short_minor": r[7],
            }
        )
        if r[7]:
            diffs.append(
                {
                    "kind": "cash_over_short",
                    "method": "cash",
                    "till_id": r[1],
                    "cashier": r[2],
                    "shift_id": r[0],
                    "hub_minor": r[5],
                    "counted_minor": r[6],
                    "difference_minor": r[7],
                }
            )
    # card: the till's card tenders against the terminal's batch total keyed in
    batches = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT till_id, amount_minor, count FROM finance_card_batches WHERE business_date = ?", (business_date,)
        )
    }
    card_tills = sorted({t for (t, m) in recorded if m == "card"} | set(batches))
    for till in card_tills:
        rec = recorded.get((till, "card"), 0)
        if till not in batches:
            if rec:
                diffs.append(
                    {
                        "kind": "card_batch_missing",
                        "method": "card",
                        "till_id": till,
                        "hub_minor": rec,
                        "difference_minor": -rec,
                    }
                )
        elif batches[till][0] != rec:
            diffs.append(
                {
                    "kind": "card_batch_mismatch",
                    "method": "card",
                    "till_id": till,
                    "hub_minor": rec,
                    "batch_minor": batches[till][0],
                    "difference_minor": batches[till][0] - rec,
                }
            )
    # payment codes: the providers' statements
    rates = settings.get(conn, "finance.fee_rates")
    statements_seen: dict[str, dict[str, int]] = {}
    for method in rules.CODE_METHODS:
        srows = _statement_rows(conn, method, business_date)
        if srows is None:
            if payments[method] or refunds[method]:
                diffs.append(
                    {
                        "kind": "statement_missing",
                        "method": method,
                        "hub_minor": sum(p["amount_minor"] for p in payments[method].values())
                        - sum(p["amount_minor"] for p in refunds[method].values()),
                    }
                )
            continue
        statements_seen[method] = {
            "net_minor": sum(r["amount_minor"] for r in srows),
            "fees_minor": sum(r["fee_minor"] for r in srows),
        }
        diffs.extend(
            match(
                payments[method],
                refunds[method],
                reversed_[method],
                srows,
                method=method,
                fee_rate=rates.get(method, "0"),
            )
        )
    methods = sorted({m for (_t, m) in expected} | {m for (_t, m) in recorded})
    tenders = []
    for m in methods:
        line: dict[str, Any] = {
            "method": m,
            "expected_minor": sum(v for (t, mm), v in expected.items() if mm == m),
            "recorded_minor": sum(v for (t, mm), v in recorded.items() if mm == m),
        }
        if m == "cash":
            line["counted_minor"] = sum(t["counted_minor"] or 0 for t in tills if t["status"] == "closed")
            line["over_short_minor"] = sum(t["over_short_minor"] or 0 for t in tills)
        elif m == "card":
            line["batch_minor"] = sum(b[0] for b in batches.values()) if batches else None
        elif m in statements_seen:
            line["statement_minor"] = statements_seen[m]["net_minor"]
            line["fees_minor"] = statements_seen[m]["fees_minor"]
        elif m in rules.CODE_METHODS:
            line["statement_minor"] = None
        tenders.append(line)
    return {
        "business_date": business_date,
        "state": day["state"],
        "frozen": False,
        "tenders": tenders,
        "tills": tills,
        "differences": diffs,
    }


# --- statements, card batches, corrections --------------------------------------------------------------------


def import_statement(
    conn: sqlite3.Connection,
    provider: str,
    data: bytes,
    *,
    bill_date: str | None = None,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Parse a provider's daily statement and keep its rows for the day's settlement. The whole file is refused
    (nothing imported) when its layout is not the documented one or it belongs to another merchant; the same
    bytes again are a no-op; another file for the same day replaces the first until the day is reconciled."""
    parsed = statements.parse(provider, data)
    day_text = bill_date or parsed["bill_date"]
    if not day_text:
        raise ValidationError("which day is this statement of? give its bill date", code="bill_date_required")
    business_date = check_date(day_text)
    if parsed["bill_date"] and parsed["bill_date"] != business_date:
        raise ValidationError(
            f"the statement is of {parsed['bill_date']}, not {business_date}",
            code="statement_date_mismatch",
            details={"statement_date": parsed["bill_date"], "business_date": business_date},
        )
    want = (settings.get(conn, "finance.merchant_ids") or {}).get(provider, "")
    if not want:
        raise Conflict(
            f"set this store's {provider} merchant id (finance.merchant_ids) first",
            code="merchant_not_configured",
            details={"provider": provider},
        )
    if parsed["merchant_id"] != want and parsed["rows"]:
        raise ValidationError(
            f"this statement is for merchant {parsed['merchant_id']}, not this store's {want}",
            code="statement_wrong_merchant",
            details={"provider": provider, "merchant_id": parsed["merchant_id"], "expected": want},
        )
    digest = hashlib.sha256(data).hexdigest()
    old = conn.execute(
        "SELECT id, sha256 FROM finance_statements WHERE provider = ? AND bill_date = ?", (provider, business_date)
    ).fetchone()
    if old is not None and old[1] == digest:
        return {**statement_summary(conn, old[0]), "already_imported": True}
    state = gate.state_of(conn, business_date)
    if state in ("reconciled", "locked"):
        raise rules.settled(business_date, state)
    if old is not None:
        conn.execute("DELETE FROM finance_statement_rows WHERE statement_id = ?", (old[0],))
        conn.execute("DELETE FROM finance_statements WHERE id = ?", (old[0],))
    sid, now, t = new_id(), now_iso(), parsed["totals"]
    conn.execute(
        "INSERT INTO finance_statements(id, provider, bill_date, merchant_id, layout, sha256, rows, payments_minor,"
        " refunds_minor, fees_minor, imported_by, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            sid,
            provider,
            business_date,
            parsed["merchant_id"],
            parsed["layout"],
            digest,
            t["count"],
            t["payments_minor"],
            t["refunds_minor"],
            t["fees_minor"],
            actor,
            now,
        ),
    )
    conn.executemany(
        "INSERT INTO finance_statement_rows(statement_id, line_no, kind, out_trade_no, refund_no, provider_ref,"
        " status, amount_minor, fee_minor, ts) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                sid,
                r["line_no"],
                r["kind"],
                r["out_trade_no"],
                r["refund_no"],
                r["provider_ref"],
                r["status"],
                r["amount_minor"],
                r["fee_minor"],
                r["ts"],
            )
            for r in parsed["rows"]
        ],
    )
    summary = statement_summary(conn, sid)
    outbox.record(
        conn,
        "finance.statement.imported",
        {
            k: summary[k]
            for k in (
                "id",
                "provider",
                "bill_date",
                "merchant_id",
                "rows",
                "payments_minor",
                "refunds_minor",
                "fees_minor",
                "sha256",
            )
        },
        ts=now,
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="finance.statement.import",
        target=sid,
        details={
            "provider": provider,
            "bill_date": business_date,
            "rows": t["count"],
            "replaced": old[0] if old else None,
        },
    )
    return {**summary, "already_imported": False}


def statement_summary(conn: sqlite3.Connection, statement_id: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM finance_statements WHERE id = ?", (statement_id,)).fetchone()
    if r is None:
        raise NotFound(f"no statement {statement_id}", code="statement_not_found")
    return dict(r)


def list_statements(conn: sqlite3.Connection, business_date: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT * FROM finance_statements WHERE bill_date = ? ORDER BY provider", (check_date(business_date),)
        )
    ]


def enter_card_batch(
    conn: sqlite3.Connection,
    business_date: str,
    till_id: str,
    *,
    amount_minor: int,
    count: int | None,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """The card terminal's batch total for a till's day, keyed in from its settlement slip (replaces an earlier
    entry until the day is reconciled)."""
    business_date = check_date(business_date)
    state = gate.state_of(conn, business_date)
    if state in ("reconciled", "locked"):
        raise rules.settled(business_date, state)
    now = now_iso()
    conn.execute(
        "INSERT INTO finance_card_batches(business_date, till_id, amount_minor, count, entered_by, entered_at)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT(business_date, till_id) DO UPDATE SET amount_minor = excluded.amount_minor,"
        " count = excluded.count, entered_by = excluded.entered_by, entered_at = excluded.entered_at",
        (business_date, till_id, amount_minor, count, actor, now),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="finance.card_batch",
        target=f"{business_date}/{till_id}",
        details={"amount_minor": amount_minor, "count": count},
    )
    return {
        "business_date": business_date,
        "till_id": till_id,
        "amount_minor": amount_minor,
        "count": count,
        "entered_by": actor,
        "entered_at": now,
    }


def post_correction(
    conn: sqlite3.Connection,
    corrects_date: str,
    *,
    debit_account: str,
    credit_account: str,
    amount_minor: int,
    memo: str,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    """A correction of a sealed day, posted into today's open day with a reference to the day it corrects."""
    corrects_date = check_date(corrects_date)
    if gate.state_of(conn, corrects_date) not in rules.SEALED:
        raise Conflict(
            f"{corrects_date} is still open: change it there instead of correcting it",
            code="day_not_sealed",
            details={"business_date": corrects_date},
        )
    accounts = settings.get(conn, "finance.accounts")
    for a in (debit_account, credit_account):
        if a not in accounts:
            raise ValidationError(
                f"no account {a!r} in finance.accounts", code="account_unknown", details={"account": a}
            )
    if amount_minor <= 0 or not memo.strip():
        raise ValidationError("a correction needs a positive amount and a memo", code="correction_invalid")
    target = today(conn)
    if target <= corrects_date:
        raise Conflict(
            "a correction goes into a later day", code="day_not_sealed", details={"business_date": corrects_date}
        )
    gate.require_postable(conn, target)
    row: dict[str, Any] = {
        "id": new_id(),
        "business_date": target,
        "corrects_date": corrects_date,
        "debit_account": debit_account,
        "credit_account": credit_account,
        "amount_minor": amount_minor,
        "memo": memo.strip(),
        "actor": actor,
        "at": now_iso(),
    }
    conn.execute(
        "INSERT INTO finance_corrections(id, business_date, corrects_date, debit_account, credit_account,"
        " amount_minor, memo, actor, at) VALUES (:id,:business_date,:corrects_date,:debit_account,:credit_account,"
        ":amount_minor,:memo,:actor,:at)",
        row,
    )
    outbox.record(conn, "finance.correction.posted", row, ts=row["at"])
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="finance.correction",
        target=row["id"],
        details={"corrects": corrects_date, "into": target, "amount_minor": amount_minor},
    )
    return row

"""Recounts and approval: the only way a count reaches the ledger.

* ``request_recount`` (supervisor) marks lines for a recount by another counter
  (never one who counted that line). The recount counter scans in ``review``;
  ``finish_recount`` fixes the recount quantity, which replaces the first count.
* ``approve`` is allowed once, from ``review``, with no recount outstanding. A
  supervisor may approve while the absolute variance at cost stays within the
  store setting ``stocktake_supervisor_limit_minor``; above it a manager must.
  It posts one ``count`` movement per line with a variance, ``ref`` = the
  session id, idempotency key ``count:<session>:<item>:<location>``, so even a
  crash between posting and marking could not post twice. Repeating the request
  with the same key returns the first result; any other attempt is a 409.
* Above the setting ``stocktake_confirm_above_minor`` (absolute variance at
  cost) the approval must carry ``confirm=True``; without it the answer is 409
  ``approval_needs_confirmation`` with the figures at stake (:func:`stake`), so
  nobody writes off stock by tapping through a screen they did not read.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.auth import users
from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict, Forbidden, NotFound, Unprocessable, ValidationError
from hub.protocol.timeutil import now_iso
from hub.stocktake import sessions
from hub.stocktake.variance import report

DEFAULT_SUPERVISOR_LIMIT_MINOR = 100_000
DEFAULT_CONFIRM_ABOVE_MINOR = 50_000  # the default of the setting stocktake_confirm_above_minor
RECOUNT_WHICH = ("variance",)  # bulk recount: every line with a variance (zeroed lines included)


def stake(conn: sqlite3.Connection, totals: dict[str, Any]) -> dict[str, Any]:
    """What approving a count with these variance ``totals`` would do: net and absolute variance at cost, the
    lines it changes, who may approve it and whether it needs an explicit confirmation."""
    abs_cost = totals["gain_cost_minor"] - totals["shrink_cost_minor"]
    limit = settings.get(conn, "stocktake_supervisor_limit_minor")
    limit = DEFAULT_SUPERVISOR_LIMIT_MINOR if limit is None else int(limit)
    confirm_above = settings.get(conn, "stocktake_confirm_above_minor")
    confirm_above = DEFAULT_CONFIRM_ABOVE_MINOR if confirm_above is None else int(confirm_above)
    return {
        "net_variance_cost_minor": totals["net_variance_cost_minor"],
        "abs_variance_cost_minor": abs_cost,
        "shrink_cost_minor": totals["shrink_cost_minor"],
        "gain_cost_minor": totals["gain_cost_minor"],
        "lines": totals["lines"],
        "lines_with_variance": totals["lines_with_variance"],
        "lines_uncounted_zeroed": totals["lines_uncounted_zeroed"],
        "lines_excluded": totals["lines_excluded"],
        "supervisor_limit_minor": limit,
        "needs_role": "supervisor" if abs_cost <= limit else "manager",
        "confirm_above_minor": confirm_above,
        "needs_confirmation": abs_cost > confirm_above and totals["lines_with_variance"] > 0,
    }


def lines_to_recount(conn: sqlite3.Connection, session_id: str, which: str) -> list[dict[str, str]]:
    """The lines a bulk recount request means: ``variance`` = every line whose count differs from the book."""
    if which not in RECOUNT_WHICH:
        raise ValidationError(f"which must be one of {', '.join(RECOUNT_WHICH)}", code="invalid_recount")
    return [
        {"item_id": x["item_id"], "location_id": x["location_id"]}
        for x in report(conn, session_id)["lines"]
        if x["variance"] and x["recount_status"] != "requested"
    ]


def request_recount(
    conn: sqlite3.Connection,
    session_id: str,
    lines: list[dict[str, str]],
    *,
    assigned_to: str | None,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    s = sessions.get(conn, session_id)
    sessions.require_status(s, "review")
    if not lines:
        raise ValidationError("choose at least one line to recount", code="invalid_recount")
    if (
        assigned_to is not None
        and conn.execute("SELECT 1 FROM users WHERE id = ? AND active = 1", (assigned_to,)).fetchone() is None
    ):
        raise NotFound(f"no active user {assigned_to}", code="user_not_found")
    for ln in lines:
        row = conn.execute(
            "SELECT * FROM count_lines WHERE session_id=? AND item_id=? AND location_id=?",
            (session_id, ln["item_id"], ln["location_id"]),
        ).fetchone()
        if row is None:
            raise NotFound("no such line in this count", code="count_line_not_found", details=ln)
        if assigned_to is not None:
            first = conn.execute(
                "SELECT 1 FROM count_scans WHERE session_id=? AND item_id=? AND location_id=?"
                " AND counter=? AND source != 'recount' LIMIT 1",
                (session_id, ln["item_id"], ln["location_id"], assigned_to),
            ).fetchone()
            if first:
                raise Unprocessable(
                    "a recount must be done by someone who did not count the line",
                    code="recount_same_counter",
                    details=ln,
                )
        conn.execute(
            "UPDATE count_lines SET recount_status='requested', recount_assigned_to=?, recount_requested_by=?,"
            " recount_qty=NULL, recount_by=NULL WHERE session_id=? AND item_id=? AND location_id=?",
            (assigned_to, actor, session_id, ln["item_id"], ln["location_id"]),
        )
    if assigned_to is not None:
        conn.execute(
            "INSERT OR IGNORE INTO count_counters(session_id, user_id, joined_at) VALUES (?,?,?)",
            (session_id, assigned_to, now_iso()),
        )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="count.recount_request",
        target=session_id,
        details={"lines": lines, "assigned_to": assigned_to},
    )
    outbox.record(
        conn,
        "count.recount",
        {"session_id": session_id, "lines": lines, "assigned_to": assigned_to, "status": "requested", "ts": now_iso()},
    )
    return {"requested": len(lines), "assigned_to": assigned_to}


def finish_recount(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    item_id: str,
    location_id: str,
    counter: str,
    device: str | None = None,
) -> dict[str, Any]:
    s = sessions.get(conn, session_id)
    sessions.require_status(s, "review")
    row = conn.execute(
        "SELECT * FROM count_lines WHERE session_id=? AND item_id=? AND location_id=?",
        (session_id, item_id, location_id),
    ).fetchone()
    if row is None:
        raise NotFound("no such line in this count", code="count_line_not_found")
    if row["recount_status"] == "done":
        return {"item_id": item_id, "location_id": location_id, "recount_qty": row["recount_qty"], "duplicate": True}
    if row["recount_status"] != "requested":
        raise Unprocessable("this line has no open recount request", code="no_recount_requested")
    if row["recount_assigned_to"] and row["recount_assigned_to"] != counter:
        raise Unprocessable("this recount is assigned to someone else", code="recount_assigned_elsewhere")
    if conn.execute(
        "SELECT 1 FROM count_scans WHERE session_id=? AND item_id=? AND location_id=? AND counter=?"
        " AND source != 'recount' LIMIT 1",
        (session_id, item_id, location_id, counter),
    ).fetchone():
        raise Unprocessable("a recount must be done by someone who did not count the line", code="recount_same_counter")
    qty = row["recount_qty"] or 0
    conn.execute(
        "UPDATE count_lines SET recount_status='done', recount_qty=?, recount_by=? WHERE session_id=?"
        " AND item_id=? AND location_id=?",
        (qty, counter, session_id, item_id, location_id),
    )
    audit.log(
        conn,
        actor=counter,
        device=device,
        action="count.recount_done",
        target=session_id,
        details={"item_id": item_id, "location_id": location_id, "qty": qty},
    )
    outbox.record(
        conn,
        "count.recount",
        {
            "session_id": session_id,
            "item_id": item_id,
            "location_id": location_id,
            "status": "done",
            "qty": qty,
            "ts": now_iso(),
        },
    )
    return {"item_id": item_id, "location_id": location_id, "recount_qty": qty, "duplicate": False}


def approve(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    actor: str,
    role: str,
    idempotency_key: str,
    confirm: bool = False,
    device: str | None = None,
) -> dict[str, Any]:
    if not idempotency_key:
        raise ValidationError("idempotency_key is required", code="invalid_idempotency_key")
    row = conn.execute("SELECT status, approve_key FROM count_sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFound(f"no count session {session_id}", code="count_session_not_found")
    if row["status"] == "approved":
        if row["approve_key"] == idempotency_key:
            out = {
                "duplicate": True,
                "session": sessions.get(conn, session_id),
                "movements": ledger.movements_for(conn, ref=session_id, limit=100_000),
            }
            return out
        raise Conflict("this count is already approved", code="already_approved")
    sessions.require_status(row, "review")
    pending = conn.execute(
        "SELECT COUNT(*) FROM count_lines WHERE session_id=? AND recount_status='requested'", (session_id,)
    ).fetchone()[0]
    if pending:
        raise Conflict(f"{pending} recount(s) still open", code="recount_pending", details={"open": pending})

    rep = report(conn, session_id)
    at_stake = stake(conn, rep["totals"])
    abs_cost, limit, needed = (
        at_stake["abs_variance_cost_minor"],
        at_stake["supervisor_limit_minor"],
        at_stake["needs_role"],
    )
    if not users.has_role(role, needed):
        raise Forbidden(
            f"variance of {abs_cost} at cost is above the supervisor limit: a {needed} must approve",
            code="wrong_role",
            details={"needed": needed, "abs_variance_cost_minor": abs_cost, "limit_minor": limit},
        )
    if at_stake["needs_confirmation"] and not confirm:
        raise Conflict(
            f"approving changes stock worth {abs_cost} at cost: confirm the figures",
            code="approval_needs_confirmation",
            details=at_stake,
        )
    name = sessions.get(conn, session_id)["name"]
    movements = []
    for ln in rep["lines"]:
        conn.execute(
            "UPDATE count_lines SET final_expected=?, final_counted=?, final_variance=?,"
            " final_variance_cost_minor=?, final_source=? WHERE session_id=? AND item_id=? AND location_id=?",
            (
                ln["expected"],
                ln["counted"],
                ln["variance"],
                ln["variance_cost_minor"],
                ln["source"],
                session_id,
                ln["item_id"],
                ln["location_id"],
            ),
        )
        if ln["variance"]:
            m = ledger.post(
                conn,
                MovementRequest(
                    "count",
                    ln["item_id"],
                    ln["location_id"],
                    ln["variance"],
                    f"stocktake {session_id}: {name}"[:200],
                    actor,
                    f"count:{session_id}:{ln['item_id']}:{ln['location_id']}",
                    device,
                    session_id,
                ),
            )
            movements.append(m)
    ts = now_iso()
    summary = dict(rep["totals"], movements=len(movements))
    cur = conn.execute(
        "UPDATE count_sessions SET status='approved', approved_by=?, approved_at=?, approve_key=?,"
        " summary=? WHERE id=? AND status='review'",
        (actor, ts, idempotency_key, json.dumps(summary), session_id),
    )
    if cur.rowcount != 1:
        raise Conflict("this count changed state while approving", code="count_session_state")
    # serialised items: remember where each counted EPC was seen
    conn.execute(
        "INSERT INTO rfid_epc_last_seen(epc, item_id, location_id, session_id, last_seen)"
        " SELECT epc, item_id, zone_location_id, session_id, last_seen FROM count_rfid_tags t WHERE t.session_id = ?"
        " AND t.kind = 'item' AND t.zone_location_id IS NOT NULL AND t.reads >= ? AND COALESCE(t.peak_rssi, 0) >= ?"
        " ON CONFLICT(epc) DO UPDATE SET item_id=excluded.item_id, location_id=excluded.location_id,"
        " session_id=excluded.session_id, last_seen=excluded.last_seen WHERE excluded.last_seen >= rfid_epc_last_seen.last_seen",
        (session_id, rep["session"]["min_reads"], rep["session"]["rssi_floor_dbm"]),
    )
    conn.execute(
        "UPDATE count_tasks SET status='done', done_at=? WHERE session_id=? AND status='in_session'", (ts, session_id)
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="count.approve",
        target=session_id,
        details={
            "movements": len(movements),
            "net_variance_cost_minor": rep["totals"]["net_variance_cost_minor"],
            "abs_variance_cost_minor": abs_cost,
            "confirmed": bool(confirm),
        },
    )
    outbox.record(conn, "count.approved", {"session_id": session_id, "approved_by": actor, "ts": ts, "totals": summary})
    return {"duplicate": False, "session": sessions.get(conn, session_id), "movements": movements}

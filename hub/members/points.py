"""The points ledger of this store: append-only entries, their projection, and the central's figures.

Why a ledger and not a balance column: a balance edited in place doubles on a sync retry and cannot be merged
across stores; entries with global ids can (the central merges them by id, so a replay never counts twice).

A member's balance as this store sees it is

    central_balance − central_mine + local_points

``central_balance`` is the chain-wide balance the central last sent down (downlink kind ``member``) and
``central_mine`` this store's part of it (the sum of this store's entries the central had merged); ``local_points``
is the sum of every entry of this store. So the view is the central balance at the last sync plus this store's
entries the central had not merged yet — exact, with no bookkeeping of which entry went up when.
``member_points`` holds those figures and is updated in the transaction that appends an entry; a property test
proves it equals the fold of the entries at all times.

Every function runs inside the caller's ``db.write()`` (or reads) and never commits."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from hub.kernel import outbox, settings
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import iso, now_iso, parse_iso, utcnow
from hub.synclink import state as sync_state

SPEND_WINDOW = timedelta(days=365)


def require_member(conn: sqlite3.Connection, member_id: str) -> dict[str, Any]:
    r = conn.execute(
        "SELECT id, status, tier, tier_since, home_store FROM members WHERE id = ?", (member_id,)
    ).fetchone()
    if r is None:
        raise NotFound(f"no member {member_id}", code="member_not_found")
    if r["status"] != "active":
        raise Conflict("this member was erased at their request", code="member_erased")
    return dict(r)


def ensure_row(conn: sqlite3.Connection, member_id: str) -> None:
    conn.execute("INSERT INTO member_points(member_id) VALUES (?) ON CONFLICT(member_id) DO NOTHING", (member_id,))


def append(
    conn: sqlite3.Connection,
    member_id: str,
    kind: str,
    points: int,
    *,
    actor: str,
    spend_minor: int = 0,
    ref: str | None = None,
    lot_id: str | None = None,
    reason: str | None = None,
    approver: str | None = None,
) -> dict[str, Any]:
    """Append one entry, update the projection and record the ``points.entry`` fact — together or not at all."""
    if kind not in ("earn", "burn", "adjust", "reverse"):
        raise ValueError(kind)
    if not conn.in_transaction:
        raise RuntimeError("points.append outside a write transaction")
    e = {
        "id": new_id(),
        "member_id": member_id,
        "kind": kind,
        "points": int(points),
        "spend_minor": int(spend_minor),
        "ref": ref,
        "lot_id": lot_id,
        "reason": reason,
        "approver": approver,
        "store_id": settings.get(conn, "store_id"),
        "at": now_iso(),
    }
    conn.execute(
        "INSERT INTO points_entries(id, member_id, kind, points, spend_minor, ref, lot_id, reason, approver,"
        " store_id, at, actor) VALUES (:id, :member_id, :kind, :points, :spend_minor, :ref, :lot_id, :reason,"
        " :approver, :store_id, :at, :actor)",
        {**e, "actor": actor},
    )
    ensure_row(conn, member_id)
    conn.execute(
        "UPDATE member_points SET local_points = local_points + ?, local_entries = local_entries + 1"
        " WHERE member_id = ?",
        (e["points"], member_id),
    )
    outbox.record(conn, "points.entry", e, ts=e["at"])
    return e


def by_ref(conn: sqlite3.Connection, member_id: str, kind: str, ref: str) -> dict[str, Any] | None:
    r = conn.execute(
        "SELECT * FROM points_entries WHERE kind = ? AND ref = ? AND member_id = ?", (kind, ref, member_id)
    ).fetchone()
    return dict(r) if r else None


def figures(conn: sqlite3.Connection, member_id: str) -> dict[str, int]:
    r = conn.execute("SELECT * FROM member_points WHERE member_id = ?", (member_id,)).fetchone()
    if r is None:
        return {
            "local_points": 0,
            "local_entries": 0,
            "central_balance": 0,
            "central_mine": 0,
            "central_spend_12m": 0,
            "central_mine_spend_12m": 0,
            "central_version": 0,
        }
    return {k: r[k] for k in r.keys() if k not in ("member_id", "central_at")}


def balance(conn: sqlite3.Connection, member_id: str) -> int:
    """This store's view of the balance (the module docstring): one primary-key read."""
    f = figures(conn, member_id)
    return f["central_balance"] - f["central_mine"] + f["local_points"]


def local_spend_12m(conn: sqlite3.Connection, member_id: str, now: str | None = None) -> int:
    since = iso(parse_iso(now) - SPEND_WINDOW) if now else iso(utcnow() - SPEND_WINDOW)
    return int(
        conn.execute(
            "SELECT COALESCE(SUM(spend_minor), 0) FROM points_entries WHERE member_id = ? AND at >= ?",
            (member_id, since),
        ).fetchone()[0]
    )


def spend_12m(conn: sqlite3.Connection, member_id: str) -> int:
    """12-month rolling spend as this store sees it: the central's figure for the other stores plus this store's own."""
    f = figures(conn, member_id)
    return f["central_spend_12m"] - f["central_mine_spend_12m"] + local_spend_12m(conn, member_id)


def view(conn: sqlite3.Connection, member_id: str) -> dict[str, Any]:
    f = figures(conn, member_id)
    r = conn.execute("SELECT central_at FROM member_points WHERE member_id = ?", (member_id,)).fetchone()
    return {
        "balance": f["central_balance"] - f["central_mine"] + f["local_points"],
        "central_balance": f["central_balance"],
        "unsynced": f["local_points"] - f["central_mine"],
        "central_at": r[0] if r else None,
        "value_minor_per_point": settings.get(conn, "members.burn_minor_per_point"),
    }


def entries(conn: sqlite3.Connection, member_id: str, *, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    total = conn.execute("SELECT COUNT(*) FROM points_entries WHERE member_id = ?", (member_id,)).fetchone()[0]
    rows = conn.execute(
        "SELECT id, kind, points, spend_minor, ref, lot_id, reason, approver, store_id, at, actor"
        " FROM points_entries WHERE member_id = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
        (member_id, limit, offset),
    ).fetchall()
    return [dict(r) for r in rows], total


# --- deciding a burn ----------------------------------------------------------------------------------------------
def offline(conn: sqlite3.Connection) -> bool:
    """The hub has not had an acknowledged push from the central for ``members.offline_after_s`` (or never)."""
    last = sync_state.get(conn, "last_ack_at")
    if not last:
        return True
    return (utcnow() - parse_iso(last)).total_seconds() > settings.get(conn, "members.offline_after_s")


def unsynced_burns(conn: sqlite3.Connection, member_id: str) -> int:
    """Points this store burnt for the member that the central has not acknowledged yet (after the last ack)."""
    last = sync_state.get(conn, "last_ack_at") or ""
    return -int(
        conn.execute(
            "SELECT COALESCE(SUM(points), 0) FROM points_entries WHERE member_id = ? AND kind = 'burn' AND at > ?",
            (member_id, last),
        ).fetchone()[0]
    )


def check_burn(conn: sqlite3.Connection, member_id: str, points: int) -> None:
    """Refuse a burn below the minimum, beyond the balance, or — offline — beyond the offline cap."""
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationError("burn a whole number of points above 0", code="invalid_points")
    low = settings.get(conn, "members.burn_min_points")
    if points < low:
        raise _refused(f"burn at least {low} points at once", "burn_below_minimum", {"min_points": low})
    have = balance(conn, member_id)
    if points > have:
        raise _refused(f"the member has {have} points", "insufficient_points", {"balance": have})
    if offline(conn):
        cap = settings.get(conn, "members.offline_burn_cap")
        pending = unsynced_burns(conn, member_id)
        if pending + points > cap:
            raise _refused(
                f"the hub is offline: at most {cap} points may be burnt until it syncs ({pending} already)",
                "offline_burn_cap",
                {"cap": cap, "unsynced_burns": pending, "balance": have},
            )


def _refused(message: str, code: str, details: dict[str, Any]) -> Conflict:
    """A burn the member's points do not allow: 409, with the figures the till shows."""
    return Conflict(message, code=code, details=details)


# --- the central's figures (downlink kind ``member``) -------------------------------------------------------------
def apply_central(conn: sqlite3.Connection, member_id: str, payload: dict[str, Any], version: int) -> None:
    """Take the central's balance and this store's part of it. Older versions never overwrite newer ones."""
    me = settings.get(conn, "store_id")
    mine = (payload.get("stores") or {}).get(me) or {}
    ensure_row(conn, member_id)
    conn.execute(
        "UPDATE member_points SET central_balance = ?, central_mine = ?, central_spend_12m = ?,"
        " central_mine_spend_12m = ?, central_version = ?, central_at = ? WHERE member_id = ? AND central_version < ?",
        (
            int(payload["balance"]),
            int(mine.get("points", 0)),
            int(payload.get("spend_12m_minor", 0)),
            int(mine.get("spend_12m_minor", 0)),
            version,
            payload.get("as_of") or now_iso(),
            member_id,
            version,
        ),
    )


# --- giving burnt points back -------------------------------------------------------------------------------------
def refund_burn(
    conn: sqlite3.Connection, member_id: str, points: int, *, ref: str, actor: str, reason: str | None = None
) -> dict[str, Any]:
    """Give back points a burn took (a points tender taken back, or the points part of a return's refund): a
    ``reverse`` entry of ``+points`` referencing the refund; the same ``ref`` again returns the first entry."""
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationError("give back a whole number of points above 0", code="invalid_points")
    seen = by_ref(conn, member_id, "reverse", ref)
    if seen is not None:
        return seen
    return append(conn, member_id, "reverse", points, ref=ref, reason=reason, actor=actor)

"""Tiers: rules as data (``members.tiers``), upgrade at once, downgrade only at the period end, history kept.

Why the asymmetry: a member who crosses a threshold should get the benefit on the very next scan; taking a tier
away in the middle of a period (because an old sale fell out of the rolling window) would punish them for the
calendar. The period-end review is a job that runs once per period (``member_jobs``), so running it twice changes
nothing. Only the member's home store reviews them, so two stores never both downgrade one member."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from hub.kernel import outbox, settings
from hub.members import points, rules
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso, utcnow

REVIEW_JOB = "tier_review"


def lowest(conn: sqlite3.Connection) -> str:
    return str(rules.ordered_tiers(settings.get(conn, "members.tiers"))[0]["code"])


def record(
    conn: sqlite3.Connection,
    member_id: str,
    *,
    from_tier: str | None,
    to_tier: str,
    reason: str,
    spend: int | None,
    actor: str,
    at: str | None = None,
    fact: bool = True,
) -> dict[str, Any]:
    """Set the member's tier and keep the history row (and the fact for the central, unless it came from there)."""
    at = at or now_iso()
    conn.execute("UPDATE members SET tier = ?, tier_since = ? WHERE id = ?", (to_tier, at, member_id))
    conn.execute(
        "INSERT INTO member_tier_history(id, member_id, from_tier, to_tier, reason, spend_12m_minor, at, actor)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (new_id(), member_id, from_tier, to_tier, reason, spend, at, actor),
    )
    change = {
        "member_id": member_id,
        "from_tier": from_tier,
        "to_tier": to_tier,
        "reason": reason,
        "spend_12m_minor": spend or 0,
        "at": at,
        "store_id": settings.get(conn, "store_id"),
    }
    if fact:
        outbox.record(conn, "member.tier_changed", change, ts=at)
    return change


def maybe_upgrade(conn: sqlite3.Connection, member_id: str, *, actor: str) -> dict[str, Any] | None:
    """Upgrade at once when the 12-month spend reaches a higher tier; never downgrades."""
    tiers = settings.get(conn, "members.tiers")
    current = conn.execute("SELECT tier FROM members WHERE id = ?", (member_id,)).fetchone()[0]
    spend = points.spend_12m(conn, member_id)
    target = rules.tier_for(spend, tiers)
    if rules.tier_rank(target, tiers) > rules.tier_rank(current, tiers):
        return record(conn, member_id, from_tier=current, to_tier=target, reason="upgrade", spend=spend, actor=actor)
    return None


def local_today(conn: sqlite3.Connection) -> date:
    return utcnow().astimezone(ZoneInfo(settings.get(conn, "timezone"))).date()


def review(conn: sqlite3.Connection, *, actor: str, today: date | None = None) -> dict[str, Any]:
    """The period-end review: members of this store whose rolling spend no longer holds their tier fall to the
    tier it does hold. Runs once per period: before the period end it does nothing, after it once."""
    today = today or local_today(conn)
    end = rules.period_end(today.year, settings.get(conn, "members.tier_period_end"))
    period = str(today.year if today >= end else today.year - 1)
    last = conn.execute("SELECT last_period FROM member_jobs WHERE name = ?", (REVIEW_JOB,)).fetchone()
    if today < end and last is None:
        return {"period": None, "reviewed": 0, "downgraded": 0, "ran": False}
    if last is not None and last[0] >= period:
        return {"period": period, "reviewed": 0, "downgraded": 0, "ran": False}
    tiers = settings.get(conn, "members.tiers")
    store = settings.get(conn, "store_id")
    reviewed = downgraded = 0
    for r in conn.execute(
        "SELECT id, tier FROM members WHERE home_store = ? AND status = 'active'", (store,)
    ).fetchall():
        reviewed += 1
        spend = points.spend_12m(conn, r["id"])
        target = rules.tier_for(spend, tiers)
        if rules.tier_rank(target, tiers) < rules.tier_rank(r["tier"], tiers):
            record(conn, r["id"], from_tier=r["tier"], to_tier=target, reason="period_end", spend=spend, actor=actor)
            downgraded += 1
    conn.execute(
        "INSERT INTO member_jobs(name, last_period, ran_at) VALUES (?,?,?) ON CONFLICT(name) DO UPDATE"
        " SET last_period = excluded.last_period, ran_at = excluded.ran_at",
        (REVIEW_JOB, period, now_iso()),
    )
    return {"period": period, "reviewed": reviewed, "downgraded": downgraded, "ran": True}


def history(conn: sqlite3.Connection, member_id: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT from_tier, to_tier, reason, spend_12m_minor, at, actor FROM member_tier_history WHERE member_id = ?"
            " ORDER BY at, id",
            (member_id,),
        )
    ]

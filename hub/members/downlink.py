"""The central's word on a member, applied on the hub (downlink kind ``member``, key = member id).

The central sends a member's chain-wide balance, this store's part of it, the 12-month spend and the tier whenever
a merge or its expiry job changes them. A member enrolled at another store arrives here with the till view only
(card number, masked phone, tier, birthday month): this hub can then identify them by card and take their points,
but has no phone hash for them, so a phone lookup finds them only at the store that enrolled them (the phone hash
is keyed per hub; docs/members.md). Runs inside ``hub.synclink.downlink.apply_page``'s transaction.

Erasure (issue 15): a change with ``erased: true`` (the central erased the member at their request) makes this hub
drop everything personal it holds on them — the phone hash, masked phone, encrypted phone, name and birthday, the
birthday month — and mark them ``erased``; the member id, tier and points history stay (anonymous). The downlink
is versioned, so a store offline at the time applies it when it reconnects."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.kernel import audit
from hub.members import points, tiers

ACTOR = "system:sync"


def erase(conn: sqlite3.Connection, member_id: str, *, version: int) -> bool:
    """Drop a member's personal data on this hub (the central's erase). True if there was anything to drop."""
    cur = conn.execute(
        "UPDATE members SET phone_hash = NULL, phone_enc = NULL, name_enc = NULL, birthday_enc = NULL,"
        " phone_masked = '', birthday_month = NULL, status = 'erased' WHERE id = ?",
        (member_id,),
    )
    if cur.rowcount:
        audit.log(conn, actor=ACTOR, action="member.erased", target=member_id, details={"downlink_version": version})
    return bool(cur.rowcount)


def apply(conn: sqlite3.Connection, p: dict[str, Any], version: int) -> None:
    mid = str(p["member_id"])
    if p.get("erased"):
        erase(conn, mid, version=version)
        return
    row = conn.execute("SELECT tier, tier_since, status FROM members WHERE id = ?", (mid,)).fetchone()
    if row is not None and row["status"] == "erased":
        return  # an older change arriving after the erase brings nothing personal back
    if row is None:
        conn.execute(
            "INSERT INTO members(id, card_no, phone_masked, birthday_month, tier, tier_since, home_store,"
            " enrolled_at, enrolled_by) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                mid,
                p["card_no"],
                p["phone_masked"],
                p.get("birthday_month"),
                p["tier"],
                p["tier_since"],
                p["home_store"],
                p["enrolled_at"],
                ACTOR,
            ),
        )
        conn.execute(
            "INSERT INTO member_tier_history(id, member_id, from_tier, to_tier, reason, spend_12m_minor, at,"
            " actor) VALUES (?,?,NULL,?,'central',?,?,?)",
            (f"{mid}:central:{version}", mid, p["tier"], p.get("spend_12m_minor", 0), p["tier_since"], ACTOR),
        )
    elif p.get("tier") and p["tier"] != row["tier"] and p["tier_since"] > row["tier_since"]:
        tiers.record(
            conn,
            mid,
            from_tier=row["tier"],
            to_tier=p["tier"],
            reason="central",
            spend=p.get("spend_12m_minor"),
            actor=ACTOR,
            at=p["tier_since"],
            fact=False,
        )
    points.apply_central(conn, mid, p, version)

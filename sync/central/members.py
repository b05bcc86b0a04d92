"""Members and points at the central: the merge of every store's points entries, exactly once, and the balances
sent back down.

Merge by id: ``points.entry`` facts are folded by ``projections`` like any projected kind, then written here with
``INSERT … ON CONFLICT (entry_id) DO NOTHING``; only the entries really inserted move the balances. A push replayed
after a lost acknowledgement, a central killed mid-batch (the whole ingest transaction rolls back) or the same
entry arriving twice by any path therefore never counts twice. Balances are sums, so the order stores push in does
not matter.

Per member the central keeps the chain-wide balance (``member_points``) and each store's part of it
(``member_store_points``). After a merge it publishes, in the same transaction, one downlink change of kind
``member`` (scope ``*``, key = member id) carrying the till view, the balance, every store's part and the 12-month
spend: every store learns every member (a member enrolled in one store is identified by card in the next), and a
hub shows ``balance − its part + its own entries`` (hub/members/points.py). One change per member per merge is
what a chain of a few hundred thousand active members can carry; scoping changes to the stores a member visits is
the next step if the downlink grows too long.

Overdraw: a burn merged into a balance that ends below zero (two stores spent the same points while apart) is
recorded in ``points_overdraws`` — reported, never hidden or silently corrected.

Expiry (``expire``): FIFO by earn lot over every store's entries (``hub.members.rules``); each expiry entry's id
is derived from its lot (``uuid5``), so running the job twice, or on two central processes at once, expires once.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, func, select, update
from sqlalchemy.engine import Connection, Engine

from hub.members import rules
from hub.protocol.timeutil import iso, now_iso, parse_iso, utcnow
from sync.central import schema as t

EXPIRY_NS = uuid.UUID("6f1f3a52-4b8e-4f55-9a3c-0d7e2b9c1a11")
CENTRAL_STORE = "central"  # the store id of entries the central writes itself (expiry)
SPEND_WINDOW = timedelta(days=365)

members = Table(
    "members",
    t.metadata,
    Column("member_id", String(40), primary_key=True),
    Column("home_store", String(64), nullable=False),
    Column("card_no", String(16), nullable=False),
    Column("phone_hash", String(80)),
    Column("phone_masked", String(32), nullable=False),
    Column("birthday_month", Integer),
    Column("tier", String(32), nullable=False),
    Column("tier_since", String(32), nullable=False),
    Column("enrolled_at", String(32), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
)
Index("members_card", members.c.card_no, unique=True)

points_entries = Table(
    "points_entries",
    t.metadata,
    Column("entry_id", String(40), primary_key=True),
    Column("member_id", String(40), nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("spend_minor", BigInteger, nullable=False),
    Column("lot_id", String(40)),
    Column("ref", String(128)),
    Column("at", String(32), nullable=False),
    Column("merged_at", String(32), nullable=False),
)
Index("points_entries_member", points_entries.c.member_id, points_entries.c.at)

member_points = Table(
    "member_points",
    t.metadata,
    Column("member_id", String(40), primary_key=True),
    Column("balance", BigInteger, nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

member_store_points = Table(
    "member_store_points",
    t.metadata,
    Column("member_id", String(40), primary_key=True),
    Column("store_id", String(64), primary_key=True),
    Column("points", BigInteger, nullable=False),
)

points_overdraws = Table(
    "points_overdraws",
    t.metadata,
    Column("entry_id", String(40), primary_key=True),
    Column("member_id", String(40), nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("at", String(32), nullable=False),
    Column("found_at", String(32), nullable=False),
)


# --- projectors (``{kind: projector}`` entries in projections.PROJECTORS) --------------------------------------------
def project_entry(f: Any, e: dict[str, Any]) -> None:
    p = e["payload"]
    try:
        f.members["entries"].append(
            {
                "entry_id": str(p["id"])[:40],
                "member_id": str(p["member_id"])[:40],
                "kind": str(p["kind"])[:16],
                "points": int(p["points"]),
                "spend_minor": int(p.get("spend_minor") or 0),
                "lot_id": (str(p["lot_id"])[:40] if p.get("lot_id") else None),
                "ref": (str(p["ref"])[:128] if p.get("ref") else None),
                "at": str(p["at"])[:32],
            }
        )
    except (KeyError, TypeError, ValueError):
        return  # kept in events; nothing to project


def project_enrolled(f: Any, e: dict[str, Any]) -> None:
    p = e["payload"]
    if p.get("member_id") and p.get("card_no"):
        f.members["enrolled"].append(p)


def project_consent(f: Any, e: dict[str, Any]) -> None:
    """``member.consent`` → the consent register (sync/central/personal.py)."""
    p = e["payload"]
    if p.get("member_id") and p.get("purpose"):
        f.members["consents"].append({"payload": p, "event_id": str(e.get("id") or e["seq"])})


def project_staff(f: Any, e: dict[str, Any]) -> None:
    """``user.upsert`` → a staff member's display name, sealed by the hub, kept encrypted (sync/central/personal.py)."""
    p = e["payload"]
    if p.get("id"):
        f.members["staff"].append(p)  # without display_name_sealed (a hub without our key): nothing is stored


def project_tier(f: Any, e: dict[str, Any]) -> None:
    p = e["payload"]
    if p.get("member_id") and p.get("to_tier") and p.get("at"):
        f.members["tiers"].append(p)


def _insert(conn: Connection, table: Table):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def apply(conn: Connection, store_id: str, folded: dict[str, list[dict[str, Any]]]) -> None:
    """Write one ingest's member facts inside its transaction (called by ``projections.apply``)."""
    now = now_iso()
    for p in folded.get("enrolled", ()):
        conn.execute(
            _insert(conn, members).on_conflict_do_nothing(index_elements=["member_id"]),
            {
                "member_id": p["member_id"],
                "home_store": str(p.get("store_id") or store_id)[:64],
                "card_no": p["card_no"],
                "phone_hash": p.get("phone_hash"),
                "phone_masked": p.get("phone_masked") or "",
                "birthday_month": p.get("birthday_month"),
                "tier": p.get("tier") or "",
                "tier_since": p.get("tier_since") or p.get("enrolled_at") or now,
                "enrolled_at": p.get("enrolled_at") or now,
            },
        )
    touched: set[str] = set()
    for p in sorted(folded.get("tiers", ()), key=lambda p: p["at"]):
        r = conn.execute(
            update(members)
            .where(members.c.member_id == p["member_id"], members.c.tier_since < p["at"])
            .values(tier=p["to_tier"], tier_since=p["at"])
        )
        if r.rowcount:
            touched.add(p["member_id"])
    touched |= merge(conn, folded.get("entries", []), store_id=store_id, now=now)
    publish(conn, touched, now=now)


def merge(conn: Connection, entries: list[dict[str, Any]], *, store_id: str, now: str) -> set[str]:
    """Insert entries by id; move balances by what was really inserted; report overdraws. Returns the members
    whose balance moved."""
    if not entries:
        return set()
    rows = [{**e, "store_id": e.get("store_id") or store_id, "merged_at": now} for e in entries]
    fresh_ids = _insert_entries(conn, rows)
    fresh = [r for r in rows if r["entry_id"] in fresh_ids]
    if not fresh:
        return set()
    per_member: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_store: dict[tuple[str, str], int] = defaultdict(int)
    for r in fresh:
        m = per_member[r["member_id"]]
        m[0] += r["points"]
        m[1] += 1
        per_store[(r["member_id"], r["store_id"])] += r["points"]
    after = _add_balances(conn, per_member, per_store, now)
    over = [
        {
            "entry_id": r["entry_id"],
            "member_id": r["member_id"],
            "store_id": r["store_id"],
            "points": r["points"],
            "balance_after": after[r["member_id"]],
            "at": r["at"],
            "found_at": now,
        }
        for r in fresh
        if r["kind"] == "burn" and after[r["member_id"]] < 0
    ]
    if over:
        conn.execute(_insert(conn, points_overdraws).on_conflict_do_nothing(index_elements=["entry_id"]), over)
    return set(per_member)


# On PostgreSQL the rows travel as one JSON document expanded server-side (as ingest does for events): one short
# statement per table and batch. An executemany with RETURNING and ON CONFLICT would go row by row, and a
# multi-row VALUES list costs more to build in Python than the database spends on it.
_PG_ENTRIES = (
    "INSERT INTO points_entries (entry_id, member_id, store_id, kind, points, spend_minor, lot_id, ref, at, merged_at)"
    " SELECT x.entry_id, x.member_id, x.store_id, x.kind, x.points, x.spend_minor, x.lot_id, x.ref, x.at, x.merged_at"
    " FROM json_to_recordset(%s::json) AS x(entry_id text, member_id text, store_id text, kind text, points bigint,"
    " spend_minor bigint, lot_id text, ref text, at text, merged_at text)"
    " ON CONFLICT (entry_id) DO NOTHING RETURNING entry_id"
)
_PG_BALANCES = (
    "INSERT INTO member_points (member_id, balance, entries, updated_at)"
    " SELECT x.member_id, x.balance, x.entries, %s FROM json_to_recordset(%s::json)"
    " AS x(member_id text, balance bigint, entries bigint) ORDER BY x.member_id"
    " ON CONFLICT (member_id) DO UPDATE SET balance = member_points.balance + excluded.balance,"
    " entries = member_points.entries + excluded.entries, updated_at = excluded.updated_at"
    " RETURNING member_id, balance"
)
_PG_STORE_PARTS = (
    "INSERT INTO member_store_points (member_id, store_id, points)"
    " SELECT x.member_id, x.store_id, x.points FROM json_to_recordset(%s::json)"
    " AS x(member_id text, store_id text, points bigint) ORDER BY x.member_id, x.store_id"
    " ON CONFLICT (member_id, store_id) DO UPDATE SET points = member_store_points.points + excluded.points"
)


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


def _insert_entries(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """INSERT … ON CONFLICT (entry_id) DO NOTHING; the ids really inserted."""
    if conn.dialect.name == "postgresql":
        return {r[0] for r in conn.exec_driver_sql(_PG_ENTRIES, (_json(rows),))}
    ins = _insert(conn, points_entries).on_conflict_do_nothing(index_elements=["entry_id"])
    return set(conn.execute(ins.returning(points_entries.c.entry_id), rows).scalars().all())


def _add_balances(
    conn: Connection, per_member: dict[str, list[int]], per_store: dict[tuple[str, str], int], now: str
) -> dict[str, int]:
    """Add the deltas to the balances (rows in member order everywhere, so concurrent ingests cannot deadlock);
    returns the new balances."""
    members_rows = [{"member_id": m, "balance": v[0], "entries": v[1]} for m, v in sorted(per_member.items())]
    parts = [{"member_id": m, "store_id": s, "points": v} for (m, s), v in sorted(per_store.items())]
    if conn.dialect.name == "postgresql":
        after = {r[0]: int(r[1]) for r in conn.exec_driver_sql(_PG_BALANCES, (now, _json(members_rows)))}
        conn.exec_driver_sql(_PG_STORE_PARTS, (_json(parts),))
        return after
    ins = _insert(conn, member_points)
    after = {}
    for row in members_rows:
        after[row["member_id"]] = conn.execute(
            ins.on_conflict_do_update(
                index_elements=["member_id"],
                set_={
                    "balance": member_points.c.balance + ins.excluded.balance,
                    "entries": member_points.c.entries + ins.excluded.entries,
                    "updated_at": ins.excluded.updated_at,
                },
            ).returning(member_points.c.balance),
            {**row, "updated_at": now},
        ).scalar_one()
    ins2 = _insert(conn, member_store_points)
    conn.execute(
        ins2.on_conflict_do_update(
            index_elements=["member_id", "store_id"],
            set_={"points": member_store_points.c.points + ins2.excluded.points},
        ),
        parts,
    )
    return after


def _figures(conn: Connection, member_ids: list[str], now: str) -> dict[str, dict[str, Any]]:
    since = iso(parse_iso(now) - SPEND_WINDOW)
    e = points_entries.c
    out: dict[str, dict[str, Any]] = {m: {"balance": 0, "spend_12m_minor": 0, "stores": {}} for m in member_ids}
    for r in conn.execute(
        select(
            e.member_id, e.store_id, func.sum(e.points), func.sum(func.coalesce(e.spend_minor, 0)).filter(e.at >= since)
        )
        .where(e.member_id.in_(member_ids))
        .group_by(e.member_id, e.store_id)
    ):
        d = out[r[0]]
        pts, spend = int(r[2] or 0), int(r[3] or 0)
        d["balance"] += pts
        d["spend_12m_minor"] += spend
        d["stores"][r[1]] = {"points": pts, "spend_12m_minor": spend}
    return out


def publish(conn: Connection, member_ids: set[str], *, now: str) -> int:
    """One downlink change per (member, store that knows them) with the member's figures; same transaction."""
    if not member_ids:
        return 0
    ids = sorted(member_ids)
    info = {r.member_id: r for r in conn.execute(select(members).where(members.c.member_id.in_(ids)))}
    if not info:
        return 0  # points arrived before the enrolment: published when the enrolment is merged
    figs = _figures(conn, sorted(info), now)
    pending = []
    for mid in ids:
        m = info.get(mid)
        if m is None:
            continue  # points arrived before the enrolment: published when the enrolment is merged
        f = figs[mid]
        payload = {
            "member_id": mid,
            "card_no": m.card_no,
            "phone_masked": m.phone_masked,
            "birthday_month": m.birthday_month,
            "tier": m.tier,
            "tier_since": m.tier_since,
            "home_store": m.home_store,
            "enrolled_at": m.enrolled_at,
            "balance": f["balance"],
            "spend_12m_minor": f["spend_12m_minor"],
            "stores": f["stores"],
            "as_of": now,
        }
        pending.append(("*", mid, payload))
    if not pending:
        return 0
    head = conn.execute(select(t.downlink_head.c.version).where(t.downlink_head.c.id == 1).with_for_update()).scalar()
    rows = [
        {
            "version": head + i + 1,
            "scope": store,
            "kind": "member",
            "key": mid,
            "payload": payload,
            "author": "system:members",
            "created_at": now,
        }
        for i, (store, mid, payload) in enumerate(pending)
    ]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "INSERT INTO downlink_changes (version, scope, kind, key, payload, author, created_at)"
            " SELECT x.version, x.scope, x.kind, x.key, x.payload, x.author, x.created_at FROM json_to_recordset(%s::json)"
            " AS x(version bigint, scope text, kind text, key text, payload json, author text, created_at text)",
            (_json(rows),),
        )
    else:
        conn.execute(t.downlink_changes.insert(), rows)
    conn.execute(update(t.downlink_head).where(t.downlink_head.c.id == 1).values(version=head + len(rows)))
    return len(rows)


# --- reading --------------------------------------------------------------------------------------------------------
def balance(engine: Engine, member_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(member_points.c.balance).where(member_points.c.member_id == member_id)).scalar() or 0
        )


def fold(engine: Engine, member_id: str) -> int:
    """The balance recomputed from the merged entries (what ``member_points`` must always equal)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(points_entries.c.points), 0)).where(
                    points_entries.c.member_id == member_id
                )
            ).scalar()
        )


def lookup(conn: Connection, *, card_no: str | None = None, member_id: str | None = None) -> dict[str, Any] | None:
    """A member and their balance by card number or id (head office's member lookup)."""
    q = select(members, member_points.c.balance).select_from(
        members.outerjoin(member_points, member_points.c.member_id == members.c.member_id)
    )
    q = q.where(members.c.card_no == card_no) if card_no is not None else q.where(members.c.member_id == member_id)
    r = conn.execute(q).mappings().first()
    return dict(r) if r else None


def overdraws(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(points_overdraws).order_by(points_overdraws.c.found_at, points_overdraws.c.entry_id)
            ).mappings()
        ]


# --- expiry -----------------------------------------------------------------------------------------------------------
def expire(
    engine: Engine, *, today: date | None = None, years_after: int = 1, tz: str = "UTC", batch: int = 500
) -> dict[str, int]:
    """Expire what is left of every earn lot past its date (FIFO over all stores' entries). Idempotent: expiry
    ids derive from lot ids, and a lot already expired has nothing left. ``tz``: the chain's zone for the local
    day of an entry; ``today`` in that zone."""
    zone = ZoneInfo(tz)
    today = today or utcnow().astimezone(zone).date()
    cutoff = date(today.year - years_after, 1, 1)  # lots earned before this year may be due
    cut_ts = iso(parse_iso(f"{cutoff.isoformat()}T00:00:00+00:00") + timedelta(days=1))
    e = points_entries.c
    expired_lots = expired_points = 0
    with engine.connect() as conn:
        candidates = [r[0] for r in conn.execute(select(e.member_id).where(e.points > 0, e.at < cut_ts).distinct())]
    for i in range(0, len(candidates), batch):
        chunk = candidates[i : i + batch]
        with engine.begin() as conn:
            now = now_iso()
            by_member: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in conn.execute(
                select(e.entry_id, e.member_id, e.points, e.lot_id, e.at).where(e.member_id.in_(chunk))
            ).mappings():
                by_member[r["member_id"]].append(
                    {"id": r["entry_id"], "points": r["points"], "lot_id": r["lot_id"], "at": r["at"]}
                )
            new = []
            for mid, entries in sorted(by_member.items()):
                for lot, left in rules.expiry_due(
                    entries, today, years_after, lambda ts: parse_iso(ts).astimezone(zone).date()
                ):
                    new.append(
                        {
                            "entry_id": str(uuid.uuid5(EXPIRY_NS, f"expire:{lot}")),
                            "member_id": mid,
                            "kind": "expire",
                            "points": -left,
                            "spend_minor": 0,
                            "lot_id": lot,
                            "ref": None,
                            "at": now,
                            "store_id": CENTRAL_STORE,
                        }
                    )
            touched = merge(conn, new, store_id=CENTRAL_STORE, now=now)
            publish(conn, touched, now=now)
            expired_lots += len(new)
            expired_points += -sum(x["points"] for x in new)
    return {"lots": expired_lots, "points": expired_points, "members": len(candidates)}


def downlink_payloads(engine: Engine, store_id: str, member_id: str) -> list[dict[str, Any]]:
    """The ``member`` changes published for one store and member, oldest first (tests and support)."""
    c = t.downlink_changes.c
    with engine.connect() as conn:
        return [
            json.loads(json.dumps(r[0]))
            for r in conn.execute(
                select(c.payload).where(c.kind == "member", c.key == member_id, c.scope == store_id).order_by(c.version)
            )
        ]

"""Applying an uplink batch exactly once.

One transaction per batch: lock the store's row, drop events at or below the
store's contiguous high-water mark, ``INSERT ... ON CONFLICT DO NOTHING`` the rest
into ``events`` (unique per (store, month, seq); month derives from the immutable
hub timestamp), fold only the rows that were really inserted into the
projections, then advance the coverage. Either all of that commits or none of it,
so a batch replayed after a lost acknowledgement — or a crash of the central
mid-batch — can neither lose nor double-count an event.

Coverage: a batch asserts it carries every outbox row in ``(after, through]``.
If ``after <= hw`` the high-water mark moves to ``through`` (and swallows any
waiting ranges it now touches). Otherwise the batch's events are stored and
folded, its range is kept in ``store_ranges`` and the hole ``(hw, after]`` is a
visible gap; the acknowledgement stays at ``hw`` so the hub resends from there
and the resent rows already present are ignored."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine

from hub.timeutil import now_iso, parse_iso

from ..protocol import ProtocolError
from . import projections
from . import schema as t
from .db import ensure_partitions


class UnknownStore(Exception):
    pass


_UTC_TS = re.compile(r"^(\d{4})-(\d{2})-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


def _month(ts: str) -> date:
    m = _UTC_TS.match(ts)              # the hub's own format: UTC with Z (fast path)
    if m and 1 <= int(m.group(2)) <= 12:
        return date(int(m.group(1)), int(m.group(2)), 1)
    try:
        return parse_iso(ts).date().replace(day=1)
    except ValueError as exc:
        raise ProtocolError(f"bad event ts {ts!r}", "bad_ts") from exc


def _insert_events(conn, store_id: str, fresh: list[dict], months: dict[int, date], received: str) -> set[int]:
    """INSERT ... ON CONFLICT DO NOTHING; returns the seqs really inserted.

    On PostgreSQL the rows travel as one JSON document expanded server-side by
    ``json_to_recordset`` (one short statement instead of a multi-row VALUES
    list with 8 parameters per row for the driver to build)."""
    if conn.dialect.name == "postgresql":
        sql = ("INSERT INTO events (store_id, month, seq, event_id, kind, hub_ts, received_at, payload) "
               "SELECT %s, x.month, x.seq, x.event_id, x.kind, x.hub_ts, %s, x.payload "
               "FROM json_to_recordset(%s::json) AS x(month date, seq bigint, event_id text, kind text, hub_ts text,"
               " payload json) ON CONFLICT (store_id, month, seq) DO NOTHING RETURNING seq")
        rows = json.dumps([{"month": months[e["seq"]].isoformat(), "seq": e["seq"], "event_id": e["id"][:40],
                            "kind": e["kind"][:64], "hub_ts": e["ts"][:40], "payload": e["payload"]} for e in fresh],
                          separators=(",", ":"), ensure_ascii=False)
        return {r[0] for r in conn.exec_driver_sql(sql, (store_id, received, rows))}
    ins = projections._insert(conn, t.events)
    rows = [{"store_id": store_id, "month": months[e["seq"]], "seq": e["seq"], "event_id": e["id"][:40],
             "kind": e["kind"][:64], "hub_ts": e["ts"][:40], "received_at": received, "payload": e["payload"]}
            for e in fresh]
    return set(conn.execute(ins.on_conflict_do_nothing(index_elements=["store_id", "month", "seq"])
                            .returning(t.events.c.seq), rows).scalars().all())


class SeqReused(ProtocolError):
    """A replayed seq carries a different event than the one stored (e.g. a hub restored from an old backup)."""


def _check_same_events(conn, store_id: str, dups: list[dict]) -> None:
    """A duplicate must be the same outbox row (same event id) — otherwise the hub is reusing
    seqs and acknowledging would silently drop its new events. Runs only on replays."""
    if not dups:
        return
    lo, hi = dups[0]["seq"], dups[-1]["seq"]
    stored = dict(conn.execute(select(t.events.c.seq, t.events.c.event_id).where(
        t.events.c.store_id == store_id, t.events.c.seq >= lo, t.events.c.seq <= hi)).all())
    bad = [e["seq"] for e in dups if e["seq"] in stored and stored[e["seq"]] != e["id"][:40]]
    if bad:
        raise SeqReused(f"seq {bad[0]} (and {len(bad) - 1} more) already stored with a different event: "
                        "this hub reuses sequence numbers (restored from an old backup?) — re-register it",
                        "seq_reused")


def apply_batch(engine: Engine, store_id: str, batch: dict[str, Any]) -> dict[str, Any]:
    """Store a validated batch (see ``protocol.validate_batch``); returns the acknowledgement."""
    received = now_iso()
    after, through = batch["after"], batch["through"]
    evs = batch["events"]
    months = {e["seq"]: _month(e["ts"]) for e in evs}
    ensure_partitions(engine, set(months.values()))
    with engine.begin() as conn:
        st = conn.execute(select(t.stores).where(t.stores.c.store_id == store_id).with_for_update()).mappings().first()
        if st is None or not st["active"]:
            raise UnknownStore(store_id)
        hw = st["hw_seq"]
        fresh = [e for e in evs if e["seq"] > hw]
        duplicates = len(evs) - len(fresh)
        inserted: list[dict] = []
        if fresh:
            new_seqs = _insert_events(conn, store_id, fresh, months, received)
            inserted = [e for e in fresh if e["seq"] in new_seqs]
            duplicates += len(fresh) - len(inserted)
        if duplicates:
            new = {e["seq"] for e in inserted}
            _check_same_events(conn, store_id, [e for e in evs if e["seq"] not in new])
        if inserted:
            projections.apply(conn, store_id, projections.fold(inserted))

        # coverage (ranges can only be waiting above hw if something above hw was ever stored)
        if after <= hw:
            waiting_possible = st["max_seq"] > hw
            hw = max(hw, through)
            while waiting_possible:
                waiting = conn.execute(select(t.store_ranges).where(
                    t.store_ranges.c.store_id == store_id, t.store_ranges.c.after_seq <= hw)).mappings().all()
                if not waiting:
                    break
                hw = max([hw] + [r["through_seq"] for r in waiting])
                conn.execute(delete(t.store_ranges).where(
                    t.store_ranges.c.store_id == store_id,
                    t.store_ranges.c.after_seq.in_([r["after_seq"] for r in waiting])))
        elif through > after:
            existing = conn.execute(select(t.store_ranges.c.through_seq).where(
                t.store_ranges.c.store_id == store_id, t.store_ranges.c.after_seq == after)).scalar()
            if existing is None:
                conn.execute(t.store_ranges.insert().values(store_id=store_id, after_seq=after, through_seq=through,
                                                            recorded_at=received))
            elif existing < through:
                conn.execute(update(t.store_ranges).where(
                    t.store_ranges.c.store_id == store_id, t.store_ranges.c.after_seq == after).values(through_seq=through))

        values: dict[str, Any] = {
            "hw_seq": hw, "last_push_at": received,
            "max_seq": max(st["max_seq"], through),
            "events_total": t.stores.c.events_total + len(inserted),
            "duplicates_total": t.stores.c.duplicates_total + duplicates,
        }
        if inserted:
            newest = max(e["ts"] for e in inserted)
            if st["last_event_ts"] is None or newest > st["last_event_ts"]:
                values["last_event_ts"] = newest
        if batch.get("downlink_version") is not None:
            values["downlink_version"] = batch["downlink_version"]
            values["downlink_reported_at"] = received
        conn.execute(update(t.stores).where(t.stores.c.store_id == store_id).values(**values))
    return {"acked_through": hw, "applied": len(inserted), "duplicates": duplicates, "received_at": received}


def gaps(engine: Engine, store_id: str) -> list[tuple[int, int]]:
    """Holes between the high-water mark and the ranges waiting above it: [(after, through)] missing."""
    with engine.connect() as conn:
        hw = conn.execute(select(t.stores.c.hw_seq).where(t.stores.c.store_id == store_id)).scalar() or 0
        out, prev = [], hw
        for r in conn.execute(select(t.store_ranges).where(t.store_ranges.c.store_id == store_id)
                              .order_by(t.store_ranges.c.after_seq)).mappings():
            if r["after_seq"] > prev:
                out.append((prev, r["after_seq"]))
            prev = max(prev, r["through_seq"])
        return out


def event_count(engine: Engine, store_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.events).where(t.events.c.store_id == store_id)).scalar()

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
and the resent rows already present are ignored.

Event time: an event is filed under the month of its hub time, so a hub could make
the central create partitions for any month. Times before ``EventBounds.earliest``
or more than ``max_future_hours`` ahead of the central's clock (and unreadable
times) are refused one by one: such an event is kept in ``rejected_events`` with a
code and message, never folded, and covered by the high-water mark like any other
(the rest of the batch applies; one bad clock reading never blocks a hub). Every
acknowledgement lists the refused events of its range, replays included, so the hub
records them even if an earlier acknowledgement was lost.

Unstorable text: an event whose id, kind, time or payload (any string or key) holds NUL
(U+0000) or an unpaired surrogate is refused the same way, code ``unstorable_text``.
PostgreSQL can keep neither in text or JSON, so storing it would fail the whole batch
on every retry and stop the store's sync for good. It is refused on SQLite too, so both
centrals report the same. Its row in ``rejected_events`` keeps the event with each such
character replaced by U+FFFD (the only form that can be stored) and the message says
where the first one was."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine

from hub.protocol.storable import scrub_text, unstorable_text
from hub.protocol.timeutil import iso, parse_iso, utcnow
from sync.central import projections
from sync.central import schema as t
from sync.central.db import ensure_partitions
from sync.protocol import ProtocolError


class UnknownStore(Exception):
    pass


_UTC_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


@dataclass(frozen=True)
class EventBounds:
    """The accepted window of hub event times (see the module docstring)."""

    earliest: date = date(2020, 1, 1)
    max_future_hours: float = 48.0

    def window(self, now: datetime) -> tuple[str, str]:
        """(lowest, highest) accepted UTC time as comparable ``YYYY-MM-DDTHH:MM:SS`` text."""
        hi = now.astimezone(UTC) + timedelta(hours=self.max_future_hours)
        return self.earliest.isoformat() + "T00:00:00", hi.strftime("%Y-%m-%dT%H:%M:%S")


DEFAULT_BOUNDS = EventBounds()


def _when(ts: str) -> tuple[date, str]:
    """(month, UTC time as ``YYYY-MM-DDTHH:MM:SS``) of a hub timestamp; ValueError if unreadable."""
    m = _UTC_TS.match(ts)  # the hub's own format: UTC with Z (fast path)
    if m:
        d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))  # ValueError for 2026-13-40
        return d.replace(day=1), ts[:19]
    dt = parse_iso(ts).astimezone(UTC)
    return dt.date().replace(day=1), dt.strftime("%Y-%m-%dT%H:%M:%S")


def _month(ts: str) -> date:
    try:
        return _when(ts)[0]
    except (ValueError, OverflowError) as exc:
        raise ProtocolError(f"bad event ts {ts!r}", "bad_ts") from exc


def classify(
    events: list[dict], bounds: EventBounds, now: datetime
) -> tuple[dict[int, date], dict[int, tuple[str, str]]]:
    """Split events into accepted ({seq: month}) and refused ({seq: (code, message)}). Pure."""
    lo, hi = bounds.window(now)
    months: dict[int, date] = {}
    refused: dict[int, tuple[str, str]] = {}
    for e in events:
        ts = e["ts"]
        bad = unstorable_text({"id": e["id"], "kind": e["kind"], "ts": ts, "payload": e["payload"]})
        if bad:
            refused[e["seq"]] = ("unstorable_text", f"event {bad}"[:500])
            continue
        try:
            month, key = _when(ts)
        except (ValueError, OverflowError):
            refused[e["seq"]] = ("bad_ts", f"event time {ts[:60]!r} is not an ISO-8601 time")
            continue
        if key < lo:
            refused[e["seq"]] = (
                "ts_too_old",
                f"event time {ts} is before the earliest accepted date "
                f"{bounds.earliest.isoformat()} (hub clock not set?)",
            )
        elif key > hi:
            refused[e["seq"]] = (
                "ts_in_future",
                f"event time {ts} is more than {bounds.max_future_hours:g} h ahead of the central's clock ({iso(now)})",
            )
        else:
            months[e["seq"]] = month
    return months, refused


def _scrub(value: Any) -> Any:
    """``value`` with every unstorable character of its strings and keys replaced (see the module docstring)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub_text(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _stored_id(e: dict) -> str:
    """The event id as the central keeps it (an unstorable one scrubbed, as in ``rejected_events``)."""
    return scrub_text(e["id"])[:40]


def _insert_events(conn, store_id: str, fresh: list[dict], months: dict[int, date], received: str) -> set[int]:
    """INSERT ... ON CONFLICT DO NOTHING; returns the seqs really inserted.

    On PostgreSQL the rows travel as one JSON document expanded server-side by
    ``json_to_recordset`` (one short statement instead of a multi-row VALUES
    list with 8 parameters per row for the driver to build)."""
    if conn.dialect.name == "postgresql":
        sql = (
            "INSERT INTO events (store_id, month, seq, event_id, kind, hub_ts, received_at, payload) "
            "SELECT %s, x.month, x.seq, x.event_id, x.kind, x.hub_ts, %s, x.payload "
            "FROM json_to_recordset(%s::json) AS x(month date, seq bigint, event_id text, kind text, hub_ts text,"
            " payload json) ON CONFLICT (store_id, month, seq) DO NOTHING RETURNING seq"
        )
        rows = json.dumps(
            [
                {
                    "month": months[e["seq"]].isoformat(),
                    "seq": e["seq"],
                    "event_id": e["id"][:40],
                    "kind": e["kind"][:64],
                    "hub_ts": e["ts"][:40],
                    "payload": e["payload"],
                }
                for e in fresh
            ],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return {r[0] for r in conn.exec_driver_sql(sql, (store_id, received, rows))}
    ins = projections._insert(conn, t.events)
    rows = [
        {
            "store_id": store_id,
            "month": months[e["seq"]],
            "seq": e["seq"],
            "event_id": e["id"][:40],
            "kind": e["kind"][:64],
            "hub_ts": e["ts"][:40],
            "received_at": received,
            "payload": e["payload"],
        }
        for e in fresh
    ]
    return set(
        conn.execute(
            ins.on_conflict_do_nothing(index_elements=["store_id", "month", "seq"]).returning(t.events.c.seq), rows
        )
        .scalars()
        .all()
    )


class SeqReused(ProtocolError):
    """A replayed seq carries a different event than the one stored (e.g. a hub restored from an old backup)."""


def _check_same_events(conn, store_id: str, dups: list[dict], with_rejected: bool = False) -> None:
    """A duplicate must be the same outbox row (same event id) — otherwise the hub is reusing
    seqs and acknowledging would silently drop its new events. Runs only on replays."""
    if not dups:
        return
    lo, hi = dups[0]["seq"], dups[-1]["seq"]
    stored = dict(
        conn.execute(
            select(t.events.c.seq, t.events.c.event_id).where(
                t.events.c.store_id == store_id, t.events.c.seq >= lo, t.events.c.seq <= hi
            )
        ).all()
    )
    if with_rejected:
        stored.update(
            conn.execute(
                select(t.rejected_events.c.seq, t.rejected_events.c.event_id).where(
                    t.rejected_events.c.store_id == store_id,
                    t.rejected_events.c.seq >= lo,
                    t.rejected_events.c.seq <= hi,
                )
            ).all()
        )
    bad = [e["seq"] for e in dups if e["seq"] in stored and stored[e["seq"]] != _stored_id(e)]
    if bad:
        raise SeqReused(
            f"seq {bad[0]} (and {len(bad) - 1} more) already stored with a different event: "
            "this hub reuses sequence numbers (restored from an old backup?) — re-register it",
            "seq_reused",
        )


def _refused_in_range(conn, store_id: str, after: int, through: int) -> list[dict[str, Any]]:
    r = t.rejected_events
    return [
        {"seq": x.seq, "id": x.event_id, "kind": x.kind, "ts": x.hub_ts, "code": x.code, "message": x.message}
        for x in conn.execute(
            select(r.c.seq, r.c.event_id, r.c.kind, r.c.hub_ts, r.c.code, r.c.message)
            .where(r.c.store_id == store_id, r.c.seq > after, r.c.seq <= through)
            .order_by(r.c.seq)
        )
    ]


def apply_batch(
    engine: Engine,
    store_id: str,
    batch: dict[str, Any],
    *,
    bounds: EventBounds | None = None,
    now: datetime | None = None,
    timezone_name: str | None = None,
) -> dict[str, Any]:
    """Store a validated batch (see ``protocol.validate_batch``); returns the acknowledgement.

    ``timezone_name`` is the store's IANA zone as the hub reports it (already checked by the caller)."""
    now = now or utcnow()
    received = iso(now)
    after, through = batch["after"], batch["through"]
    evs = batch["events"]
    months, refused = classify(evs, bounds or DEFAULT_BOUNDS, now)
    ensure_partitions(engine, set(months.values()))
    with engine.begin() as conn:
        st = conn.execute(select(t.stores).where(t.stores.c.store_id == store_id).with_for_update()).mappings().first()
        if st is None or not st["active"]:
            raise UnknownStore(store_id)
        hw = st["hw_seq"]
        tz = timezone_name or st["timezone"]
        fresh = [e for e in evs if e["seq"] > hw]
        if fresh and st["rejected_total"] and st["max_seq"] > hw:
            # refused before while waiting above a gap: a replay, not a new event
            before = {
                r[0]
                for r in conn.execute(
                    select(t.rejected_events.c.seq).where(
                        t.rejected_events.c.store_id == store_id,
                        t.rejected_events.c.seq >= fresh[0]["seq"],
                        t.rejected_events.c.seq <= fresh[-1]["seq"],
                    )
                )
            }
            fresh = [e for e in fresh if e["seq"] not in before]
        duplicates = len(evs) - len(fresh)
        good = [e for e in fresh if e["seq"] not in refused]
        bad = [e for e in fresh if e["seq"] in refused]
        inserted: list[dict] = []
        newly_refused: set[int] = set()
        if good:
            new_seqs = _insert_events(conn, store_id, good, months, received)
            inserted = [e for e in good if e["seq"] in new_seqs]
        if bad:
            ins = projections._insert(conn, t.rejected_events)
            newly_refused = set(
                conn.execute(
                    ins.on_conflict_do_nothing(index_elements=["store_id", "seq"]).returning(t.rejected_events.c.seq),
                    [
                        {
                            "store_id": store_id,
                            "seq": e["seq"],
                            "event_id": _stored_id(e),
                            "kind": scrub_text(e["kind"])[:64],
                            "hub_ts": scrub_text(e["ts"])[:40],
                            "code": refused[e["seq"]][0],
                            "message": scrub_text(refused[e["seq"]][1]),
                            "received_at": received,
                            "payload": _scrub(e["payload"]),
                        }
                        for e in bad
                    ],
                )
                .scalars()
                .all()
            )
        duplicates += len(fresh) - len(inserted) - len(newly_refused)
        if duplicates:
            new = {e["seq"] for e in inserted} | newly_refused
            _check_same_events(
                conn,
                store_id,
                [e for e in evs if e["seq"] not in new],
                with_rejected=bool(st["rejected_total"] or newly_refused),
            )
        if inserted:
            projections.apply(conn, store_id, projections.fold(inserted, tz=tz))

        # coverage (ranges can only be waiting above hw if something above hw was ever stored)
        if after <= hw:
            waiting_possible = st["max_seq"] > hw
            hw = max(hw, through)
            while waiting_possible:
                waiting = (
                    conn.execute(
                        select(t.store_ranges).where(
                            t.store_ranges.c.store_id == store_id, t.store_ranges.c.after_seq <= hw
                        )
                    )
                    .mappings()
                    .all()
                )
                if not waiting:
                    break
                hw = max([hw] + [r["through_seq"] for r in waiting])
                conn.execute(
                    delete(t.store_ranges).where(
                        t.store_ranges.c.store_id == store_id,
                        t.store_ranges.c.after_seq.in_([r["after_seq"] for r in waiting]),
                    )
                )
        elif through > after:
            existing = conn.execute(
                select(t.store_ranges.c.through_seq).where(
                    t.store_ranges.c.store_id == store_id, t.store_ranges.c.after_seq == after
                )
            ).scalar()
            if existing is None:
                conn.execute(
                    t.store_ranges.insert().values(
                        store_id=store_id, after_seq=after, through_seq=through, recorded_at=received
                    )
                )
            elif existing < through:
                conn.execute(
                    update(t.store_ranges)
                    .where(t.store_ranges.c.store_id == store_id, t.store_ranges.c.after_seq == after)
                    .values(through_seq=through)
                )

        values: dict[str, Any] = {
            "hw_seq": hw,
            "last_push_at": received,
            "max_seq": max(st["max_seq"], through),
            "events_total": t.stores.c.events_total + len(inserted),
            "duplicates_total": t.stores.c.duplicates_total + duplicates,
        }
        if newly_refused:
            values["rejected_total"] = t.stores.c.rejected_total + len(newly_refused)
        if timezone_name and timezone_name != st["timezone"]:
            values["timezone"] = timezone_name
        if inserted:
            newest = max(e["ts"] for e in inserted)
            if st["last_event_ts"] is None or newest > st["last_event_ts"]:
                values["last_event_ts"] = newest
        if batch.get("downlink_version") is not None:
            values["downlink_version"] = batch["downlink_version"]
            values["downlink_reported_at"] = received
        conn.execute(update(t.stores).where(t.stores.c.store_id == store_id).values(**values))
        rejected = (
            _refused_in_range(conn, store_id, after, through)
            if (st["rejected_total"] or newly_refused) and through > after
            else []
        )
    return {
        "acked_through": hw,
        "applied": len(inserted),
        "duplicates": duplicates,
        "rejected": rejected,
        "received_at": received,
    }


def gaps(engine: Engine, store_id: str) -> list[tuple[int, int]]:
    """Holes between the high-water mark and the ranges waiting above it: [(after, through)] missing."""
    with engine.connect() as conn:
        hw = conn.execute(select(t.stores.c.hw_seq).where(t.stores.c.store_id == store_id)).scalar() or 0
        out, prev = [], hw
        for r in conn.execute(
            select(t.store_ranges).where(t.store_ranges.c.store_id == store_id).order_by(t.store_ranges.c.after_seq)
        ).mappings():
            if r["after_seq"] > prev:
                out.append((prev, r["after_seq"]))
            prev = max(prev, r["through_seq"])
        return out


def event_count(engine: Engine, store_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.events).where(t.events.c.store_id == store_id)).scalar()

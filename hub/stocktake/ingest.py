"""RFID reads into a count session: one record per EPC, built fast.

``TagIngest`` is the hot path. Raw reads (hundreds to thousands per second per
reader, the same tag many times a second) are folded in memory into one pending
delta per EPC: first/last seen, read count, peak RSSI and the antenna that saw
it strongest, the bitmask of antennas. ``flush()`` writes the deltas in one
transaction with an additive upsert (``reads = reads + delta``, min/max times,
max RSSI), so several processes may ingest into the same session safely, and
memory only ever holds what arrived since the last flush — RSS stays flat no
matter how long a sweep runs.

A tag's zone is the location its strongest antenna points at (``rfid_antennas``),
else the sweep's location. Each EPC is decoded once (cached): SGTINs with an item
filter and a known GTIN are ``item`` tags; other filters are ``case``/``pallet``,
SSCCs ``pallet``, GIAIs ``asset``, unknown GTINs ``unknown_gtin``, anything
else ``undecodable``; an item or zone outside the session's scope is
``out_of_scope``. Only ``item`` tags that pass the session's RSSI floor and
minimum read count are counted (see variance.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from typing import Any

from hub.bus import registry
from hub.kernel import outbox
from hub.kernel.errors import NotFound, ValidationError
from hub.protocol import rfid_formats
from hub.protocol.epc import EpcError
from hub.protocol.epc import decode as decode_epc
from hub.protocol.rfid_formats import TagRead, ms_iso
from hub.protocol.timeutil import now_iso
from hub.stocktake.expected import ensure_lines
from hub.stocktake.scope import Scope, scope_of

NON_ITEM_FILTER_KIND = {2: "case", 3: "case", 4: "case", 5: "case", 6: "pallet", 7: "case"}


class _Route:
    __slots__ = ("session_id", "sweep_id", "location_id", "antennas", "scope")

    def __init__(self, session_id, sweep_id, location_id, antennas, scope):
        self.session_id = session_id
        self.sweep_id = sweep_id
        self.location_id = location_id
        self.antennas = antennas
        self.scope = scope


class TagIngest:
    """Fold raw tag reads into per-session EPC records. Thread-safe; call ``flush()`` periodically
    (``maybe_flush()`` does it every ``flush_interval`` seconds or when ``max_pending`` EPCs wait)."""

    def __init__(self, db, *, flush_interval: float = 1.0, max_pending: int = 20_000, route_ttl: float = 2.0):
        self.db = db
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.route_ttl = route_ttl
        self._lock = threading.Lock()
        # (session_id, reader) -> {epc: [first, last, reads, peak, antmask, best_ant]}
        self._pending: dict[tuple[str, str], dict[str, list]] = {}
        self._raw: dict[str, int] = {}  # sweep_id -> raw reads since flush
        self._routes: dict[str, _Route | None] = {}
        self._routes_at = 0.0
        self._decoded: dict[str, tuple] = {}  # epc -> (base kind, item row or None, gtin, serial)
        self._gtins: dict[str, dict] | None = None
        self._ensured: set[tuple[str, str, str]] = set()
        self._last_flush = time.monotonic()
        self._gtin_version: tuple = ()
        self._npending = 0
        self.stats = {"reads": 0, "unassigned": 0, "flushes": 0, "rows_written": 0}

    # -- routing ------------------------------------------------------------------------------------
    def _load_routes(self, conn: sqlite3.Connection | None = None) -> None:
        conn = conn if conn is not None else self.db.read()
        routes: dict[str, _Route | None] = {}
        scopes: dict[str, Scope] = {}
        amap: dict[str, dict[int, str]] = {}
        for r in conn.execute("SELECT reader, antenna, location_id FROM rfid_antennas"):
            amap.setdefault(r[0], {})[r[1]] = r[2]
        for r in conn.execute(
            "SELECT w.id, w.session_id, w.reader, w.location_id, s.scope FROM rfid_sweeps w"
            " JOIN count_sessions s ON s.id = w.session_id WHERE w.ended_at IS NULL AND s.status = 'open'"
        ):
            if r["session_id"] not in scopes:
                scopes[r["session_id"]] = Scope(conn, json.loads(r["scope"]))
            routes[r["reader"]] = _Route(
                r["session_id"], r["id"], r["location_id"], amap.get(r["reader"], {}), scopes[r["session_id"]]
            )
        self._routes = routes
        self._routes_at = time.monotonic()
        # new GTINs in the catalog: forget cached decodes (an unknown GTIN may be known now)
        ngtins = conn.execute("SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM item_gtins").fetchone()
        version = (conn.execute("PRAGMA database_list").fetchone()[2], *ngtins)  # the file, then its GTINs
        if version != self._gtin_version:
            self._gtin_version = version
            self._ensured.clear()
            self._gtins = None
            self._decoded.clear()

    def refresh(self) -> None:
        with self._lock:
            self._load_routes()
            self._gtins = None

    def route(self, reader: str, conn: sqlite3.Connection | None = None) -> _Route | None:
        age = time.monotonic() - self._routes_at
        if age > self.route_ttl or (reader not in self._routes and age > 0.2):
            self._load_routes(conn)  # a sweep started a moment ago is picked up at once
        return self._routes.get(reader)

    # -- hot path -----------------------------------------------------------------------------------
    def feed(self, reader: str, reads: Iterable[TagRead], conn: sqlite3.Connection | None = None) -> int:
        """Fold reads from ``reader`` into its open sweep. Returns how many reads were accepted
        (0 when the reader has no open sweep: those are counted in ``stats['unassigned']``)."""
        with self._lock:
            rt = self.route(reader, conn)
            if rt is None:
                reads = reads if isinstance(reads, list) else list(reads)
                self.stats["unassigned"] += sum(r[3] for r in reads)
                return 0
            key = (rt.session_id, reader)
            pend = self._pending.get(key)
            if pend is None:
                pend = self._pending[key] = {}
            n = 0
            raw = 0
            new = 0
            for epc, ant, rssi, cnt, first, last in reads:
                n += 1
                raw += cnt
                rec = pend.get(epc)
                bit = (1 << ant) if ant < 63 else 0
                if rec is None:
                    pend[epc] = [first, last, cnt, rssi, bit, ant]
                    new += 1
                    continue
                if first < rec[0]:
                    rec[0] = first
                if last > rec[1]:
                    rec[1] = last
                rec[2] += cnt
                if rssi is not None and (rec[3] is None or rssi > rec[3]):
                    rec[3] = rssi
                    rec[5] = ant
                rec[4] |= bit
            self._raw[rt.sweep_id] = self._raw.get(rt.sweep_id, 0) + raw
            self.stats["reads"] += raw
            self._npending += new
            pending_now = self._npending
        if pending_now >= self.max_pending and conn is None:
            self.flush()
        return n

    def maybe_flush(self) -> int:
        if time.monotonic() - self._last_flush >= self.flush_interval:
            return self.flush()
        return 0

    # -- decoding -----------------------------------------------------------------------------------
    def _gtin_index(self, conn) -> dict[str, dict]:
        if self._gtins is None:
            self._gtins = {
                r[0]: {"id": r[1], "category": r[2]}
                for r in conn.execute(
                    "SELECT g.gtin, i.id, i.category FROM item_gtins g JOIN items i ON i.id = g.item_id"
                )
            }
        return self._gtins

    def _decode(self, conn, epc: str) -> tuple:
        d = self._decoded.get(epc)
        if d is not None:
            return d
        try:
            e = decode_epc(epc)
        except EpcError:
            d = ("undecodable", None, None, None)
        else:
            if e.scheme.startswith("sscc"):
                d = ("pallet", None, None, None)
            elif e.scheme.startswith("giai"):
                d = ("asset", None, None, e.giai)
            elif not e.is_item:
                d = (NON_ITEM_FILTER_KIND.get(e.filter, "case"), None, e.gtin, e.serial)
            else:
                item = self._gtin_index(conn).get(e.gtin)
                d = ("item" if item else "unknown_gtin", item, e.gtin, e.serial)
        if len(self._decoded) > 500_000:
            self._decoded.clear()
        self._decoded[epc] = d
        return d

    # -- flush --------------------------------------------------------------------------------------
    def flush(self, conn: sqlite3.Connection | None = None) -> int:
        """Write the pending records: in ``conn``'s open transaction when given, else in a new one."""
        with self._lock:
            pending, self._pending = self._pending, {}
            raw, self._raw = self._raw, {}
            self._npending = 0
            self._last_flush = time.monotonic()
        if not pending:
            return 0
        if conn is not None:
            # the caller's transaction may still roll back: do not remember which lines exist
            written, _pairs = self._write(conn, pending, raw)
        else:
            with self.db.write() as c:
                written, pairs = self._write(c, pending, raw)
            if len(self._ensured) > 200_000:
                self._ensured.clear()
            self._ensured.update(pairs)
        self.stats["flushes"] += 1
        self.stats["rows_written"] += written
        return written

    def _write(self, conn: sqlite3.Connection, pending: dict, raw: dict) -> tuple[int, set]:
        written = 0
        ensured: set[tuple[str, str, str]] = set()
        open_ids = {r[0] for r in conn.execute("SELECT id FROM count_sessions WHERE status = 'open'")}
        by_session: dict[str, list] = {}
        pairs: dict[str, set] = {}
        for (session_id, reader), recs in pending.items():
            if session_id not in open_ids:
                self.stats["unassigned"] += sum(r[2] for r in recs.values())
                continue
            rt = self._routes.get(reader)
            scope = rt.scope if rt and rt.session_id == session_id else scope_of(conn, session_id)
            default_loc = rt.location_id if rt and rt.session_id == session_id else None
            amap = rt.antennas if rt else {}
            rows = by_session.setdefault(session_id, [])
            ps = pairs.setdefault(session_id, set())
            for epc, (first, last, cnt, rssi, mask, best) in recs.items():
                kind, item, gtin, serial = self._decode(conn, epc)
                zone = amap.get(best, default_loc)
                item_id = item["id"] if item else None
                if kind == "item":
                    if zone is None or not scope.has_location(zone) or not scope.has_item(item):
                        kind = "out_of_scope"
                    elif (session_id, item_id, zone) not in self._ensured:
                        ps.add((item_id, zone))
                rows.append(
                    (
                        session_id,
                        epc,
                        ms_iso(first),
                        ms_iso(last),
                        cnt,
                        rssi,
                        mask,
                        best,
                        reader,
                        zone,
                        kind,
                        item_id,
                        gtin,
                        serial,
                    )
                )
        for session_id, rows in by_session.items():
            ensure_lines(conn, session_id, pairs[session_id])
            ensured.update((session_id, i, z) for i, z in pairs[session_id])
            conn.executemany(_UPSERT, rows)
            written += len(rows)
            outbox.record(
                conn,
                "count.rfid",
                {"session_id": session_id, "epcs": len(rows), "reads": sum(r[4] for r in rows), "ts": now_iso()},
            )
        for sweep_id, n in raw.items():
            conn.execute("UPDATE rfid_sweeps SET raw_reads = raw_reads + ? WHERE id = ?", (n, sweep_id))
        return written, ensured


# An EPC's record grows additively; the zone follows the strongest read.
_STRONGER = "(excluded.peak_rssi IS NOT NULL AND (count_rfid_tags.peak_rssi IS NULL OR excluded.peak_rssi > count_rfid_tags.peak_rssi))"
_UPSERT = (
    "INSERT INTO count_rfid_tags(session_id, epc, first_seen, last_seen, reads, peak_rssi, antennas, best_antenna, reader,"
    " zone_location_id, kind, item_id, gtin, serial) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(session_id, epc) DO UPDATE SET"
    " first_seen = min(count_rfid_tags.first_seen, excluded.first_seen),"
    " last_seen = max(count_rfid_tags.last_seen, excluded.last_seen),"
    " reads = count_rfid_tags.reads + excluded.reads,"
    " antennas = count_rfid_tags.antennas | excluded.antennas,"
    f" best_antenna = CASE WHEN {_STRONGER} THEN excluded.best_antenna ELSE count_rfid_tags.best_antenna END,"
    f" reader = CASE WHEN {_STRONGER} THEN excluded.reader ELSE count_rfid_tags.reader END,"
    f" zone_location_id = CASE WHEN {_STRONGER} THEN excluded.zone_location_id ELSE count_rfid_tags.zone_location_id END,"
    f" kind = CASE WHEN {_STRONGER} THEN excluded.kind ELSE count_rfid_tags.kind END,"
    " peak_rssi = CASE WHEN excluded.peak_rssi IS NULL THEN count_rfid_tags.peak_rssi"
    " WHEN count_rfid_tags.peak_rssi IS NULL THEN excluded.peak_rssi"
    " ELSE max(count_rfid_tags.peak_rssi, excluded.peak_rssi) END"
)


def record_heartbeats(conn: sqlite3.Connection, reader: str, count: int) -> None:
    """Reader heartbeats (Zebra management events) mark the reader alive in the device registry."""
    if count <= 0:
        return
    now = now_iso()
    registry.ensure(conn, reader, now, kind="rfid")
    conn.execute("UPDATE devices SET kind = COALESCE(kind, 'rfid'), last_seen = ? WHERE id = ?", (now, reader))
    registry.set_status(conn, reader, "online", now)


def ingest_once(db, reader: str, reads: list[TagRead]) -> dict[str, Any]:
    """Feed and flush in one go (HTTP uploads from handheld sleds, tests)."""
    ing = TagIngest(db)
    accepted = ing.feed(reader, reads)
    if accepted == 0 and reads:
        raise NotFound(f"reader {reader} has no open sweep", code="no_open_sweep")
    ing.flush()
    return {"accepted": accepted, "epcs": ing.stats["rows_written"]}


def upload(db, reader: str, fmt: str, payload: Any) -> dict[str, Any]:
    """Reader events uploaded over HTTP (a handheld sled, a reader's webhook) in the reader's own format
    (``hub.protocol.rfid_formats.FORMATS``): heartbeats mark the reader alive, tag reads go into its open sweep.

    ValidationError when nothing in the payload could be understood. Heartbeats are committed first, in their
    own transaction, so the reader counts as alive even when its reads are refused (no open sweep: NotFound);
    the reads are then folded and written in one transaction (``ingest_once``)."""
    parsed = rfid_formats.parse(fmt, payload, reader)
    if not parsed.reads and not parsed.heartbeats and parsed.errors:
        raise ValidationError(
            "no tag read could be understood", code="invalid_reader_payload", details=parsed.errors[:20]
        )
    if parsed.heartbeats:
        with db.write() as conn:
            record_heartbeats(conn, reader, len(parsed.heartbeats))
    out = ingest_once(db, reader, parsed.reads) if parsed.reads else {"accepted": 0, "epcs": 0}
    out["heartbeats"] = len(parsed.heartbeats)
    out["errors"] = parsed.errors[:20]
    return out

"""Transactional outbox: facts recorded for the central aggregator.

``record`` must be called with the connection of an open write transaction, so
the fact is stored if and only if the change that produced it is.

Rows are numbered by ``AUTOINCREMENT`` so a sequence is never handed out twice, even after the sync
worker pruned every acknowledged row (``prune``): the central refuses a reused seq, and the live stream's
``Last-Event-ID`` must keep meaning the same fact. ``last_seq`` therefore reads SQLite's own counter, not
``MAX(seq)`` of the rows that happen to be left."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso


def record(conn: sqlite3.Connection, kind: str, payload: dict[str, Any], *, ts: str | None = None) -> int:
    if not conn.in_transaction:
        raise RuntimeError("outbox.record outside a write transaction")
    cur = conn.execute(
        "INSERT INTO outbox(id, kind, ts, payload) VALUES (?,?,?,?)",
        (new_id(), kind, ts or now_iso(), json.dumps(payload, separators=(",", ":"), ensure_ascii=False)),
    )
    assert cur.lastrowid is not None  # an INSERT into a rowid table always has one
    return cur.lastrowid


def pending(conn: sqlite3.Connection, after_seq: int, limit: int = 500) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT seq, id, kind, ts, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [
        {"seq": r["seq"], "id": r["id"], "kind": r["kind"], "ts": r["ts"], "payload": json.loads(r["payload"])}
        for r in rows
    ]


def last_seq(conn: sqlite3.Connection) -> int:
    """The highest sequence ever handed out (0 for a new hub), whether or not its row was pruned since."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    if row is not None:
        return int(row[0])
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0])


def prune(conn: sqlite3.Connection, *, through_seq: int, before_ts: str, limit: int) -> int:
    """Delete up to ``limit`` of the oldest rows with ``seq <= through_seq`` (what the central acknowledged)
    and ``ts < before_ts`` (past the retention). Returns how many went.

    Chunked so one prune never holds the write lock long enough to delay a sale; rows still to push are
    never touched, whatever their age."""
    if not conn.in_transaction:
        raise RuntimeError("outbox.prune outside a write transaction")
    return conn.execute(
        "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE seq <= ? AND ts < ? ORDER BY seq LIMIT ?)",
        (through_seq, before_ts, limit),
    ).rowcount

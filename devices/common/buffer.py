"""A bounded, on-disk FIFO of messages waiting for the hub.

Every event (and command result) an agent produces is written here first, under its key — the event ``id``, or
``result:<request_id>`` — and removed only when the hub acknowledges that key on ``dev/<device>/ack``, which it
publishes after the transaction holding the message has committed. The broker's PUBACK is not enough: a broker
killed before its autosave (a power cut of the store's one box) loses messages it had confirmed. So a broker
outage, a broker crash or an agent restart loses nothing that fits in the buffer. When the buffer is full the
OLDEST messages are dropped (and counted): newer readings are worth more than stale ones.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)


def key_of(payload: dict) -> str | None:
    """The key the hub acknowledges a buffered payload by (see ``hub.protocol.contract.ack_key``)."""
    if isinstance(payload.get("id"), str):
        return payload["id"]
    if isinstance(payload.get("request_id"), str):
        return "result:" + payload["request_id"]
    return None


class DiskBuffer:
    def __init__(self, path: Path | str, max_events: int = 10_000):
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_events = max_events
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a message the device was told is safe (a print job's result, a scan the user heard beep) must
        # survive the agent box losing power too.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
            " payload TEXT NOT NULL, key TEXT)"
        )
        self._conn.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self._migrate()
        self._conn.execute("CREATE INDEX IF NOT EXISTS pending_key ON pending(key)")

    def _migrate(self) -> None:
        """Buffers written before acknowledgements had no key column: add it and fill it from the payloads."""
        cols = [r[1] for r in self._conn.execute("PRAGMA table_info(pending)")]
        if "key" in cols:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.execute("ALTER TABLE pending ADD COLUMN key TEXT")
        rows = self._conn.execute("SELECT seq, payload FROM pending").fetchall()
        self._conn.executemany(
            "UPDATE pending SET key = ? WHERE seq = ?", [(key_of(json.loads(p)), seq) for seq, p in rows]
        )
        self._conn.execute("COMMIT")

    def put(self, topic: str, payload: dict) -> int:
        """Append one message; returns its sequence number. Drops the oldest messages beyond the bound."""
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                cur = self._conn.execute(
                    "INSERT INTO pending (topic, payload, key) VALUES (?, ?, ?)", (topic, data, key_of(payload))
                )
                seq = cur.lastrowid
                n = self._conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
                if n > self.max_events:
                    excess = n - self.max_events
                    self._conn.execute(
                        "DELETE FROM pending WHERE seq IN (SELECT seq FROM pending ORDER BY seq LIMIT ?)", (excess,)
                    )
                    self._conn.execute(
                        "INSERT INTO counters VALUES ('dropped', ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
                        (excess, excess),
                    )
                    log.warning("event buffer full (%d): dropped %d oldest event(s)", self.max_events, excess)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return seq

    def peek(self, limit: int = 100, after: int = 0) -> list[tuple[int, str, dict]]:
        """The oldest ``limit`` messages after sequence number ``after`` as (seq, topic, payload), in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, topic, payload FROM pending WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [(seq, topic, json.loads(payload)) for seq, topic, payload in rows]

    def acknowledge(self, keys: list[str]) -> list[int]:
        """Forget the messages the hub has committed; returns their sequence numbers (unknown keys are ignored:
        an ack may arrive twice, or for a message this buffer already dropped)."""
        if not keys:
            return []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                seqs = []
                for i in range(0, len(keys), 500):
                    part = keys[i : i + 500]
                    marks = ",".join("?" * len(part))
                    seqs += [r[0] for r in self._conn.execute(f"SELECT seq FROM pending WHERE key IN ({marks})", part)]
                    self._conn.execute(f"DELETE FROM pending WHERE key IN ({marks})", part)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return seqs

    def remove(self, seqs: list[int]) -> None:
        """Forget messages by sequence number (ones that can never be sent, e.g. over the size limit)."""
        if not seqs:
            return
        with self._lock:
            self._conn.executemany("DELETE FROM pending WHERE seq = ?", [(s,) for s in seqs])

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0]

    @property
    def dropped(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return row[0] if row else 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

"""A bounded, on-disk FIFO of events waiting for the broker.

Every event an agent produces is written here first and removed only after the
broker acknowledged it (QoS 1 PUBACK), so a broker outage or an agent restart
loses nothing that fits in the buffer. When the buffer is full the OLDEST events
are dropped (and counted): newer readings are worth more than stale ones.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)


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
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
            " payload TEXT NOT NULL)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    def put(self, topic: str, payload: dict) -> int:
        """Append one event; returns its sequence number. Drops the oldest events beyond the bound."""
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                cur = self._conn.execute("INSERT INTO pending (topic, payload) VALUES (?, ?)", (topic, data))
                seq = cur.lastrowid
                n = self._conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
                if n > self.max_events:
                    excess = n - self.max_events
                    self._conn.execute(
                        "DELETE FROM pending WHERE seq IN (SELECT seq FROM pending ORDER BY seq LIMIT ?)", (excess,))
                    self._conn.execute(
                        "INSERT INTO counters VALUES ('dropped', ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
                        (excess, excess))
                    log.warning("event buffer full (%d): dropped %d oldest event(s)", self.max_events, excess)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return seq

    def peek(self, limit: int = 100) -> list[tuple[int, str, dict]]:
        """The oldest ``limit`` events as (seq, topic, payload), in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, topic, payload FROM pending ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(seq, topic, json.loads(payload)) for seq, topic, payload in rows]

    def remove(self, seqs: list[int]) -> None:
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

"""The print-job journal: one ``request_id`` prints at most once, even across agent restarts.

States: ``sending`` (bytes are going to the printer) → ``printed``; ``failed`` (nothing reached the
printer: offline, paper out — the same request_id may be retried); ``uncertain`` (the agent stopped or the
link broke while sending: part of the job may be on paper, so it is NEVER resent automatically — the hub
must decide and send a new request_id).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

from hub.protocol.timeutil import now_iso


def doc_hash(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class Journal:
    def __init__(self, path: Path | str):
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # a 'printed' mark must survive a power cut
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS jobs (request_id TEXT PRIMARY KEY, doc_hash TEXT NOT NULL,"
            " state TEXT NOT NULL, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, nbytes INTEGER)"
        )
        # whatever was being sent when the previous agent stopped may be partly printed
        self._conn.execute(
            "UPDATE jobs SET state = 'uncertain', error = 'agent stopped while sending',"
            " updated_at = ? WHERE state = 'sending'",
            (now_iso(),),
        )

    def get(self, request_id: str) -> dict | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT request_id, doc_hash, state, error, created_at, updated_at, attempts, nbytes FROM jobs"
                " WHERE request_id = ?",
                (request_id,),
            ).fetchone()
        if not row:
            return None
        return dict(
            zip(("request_id", "doc_hash", "state", "error", "created_at", "updated_at", "attempts", "nbytes"), row)
        )

    def begin(self, request_id: str, digest: str) -> None:
        now = now_iso()
        with self._lock:
            self._conn.execute(
                "INSERT INTO jobs (request_id, doc_hash, state, created_at, updated_at) VALUES (?, ?, 'new', ?, ?)"
                " ON CONFLICT(request_id) DO NOTHING",
                (request_id, digest, now, now),
            )

    def set(self, request_id: str, state: str, error: str | None = None, nbytes: int | None = None) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE jobs SET state = ?, error = ?, updated_at = ?, nbytes = COALESCE(?, nbytes),"
                " attempts = attempts + (CASE WHEN ? = 'sending' THEN 1 ELSE 0 END) WHERE request_id = ?",
                (state, error, now_iso(), nbytes, state, request_id),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

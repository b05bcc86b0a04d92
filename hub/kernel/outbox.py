"""Transactional outbox: facts recorded for the central aggregator.

``record`` must be called with the connection of an open write transaction, so
the fact is stored if and only if the change that produced it is."""

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
    return int(cur.lastrowid)


def pending(conn: sqlite3.Connection, after_seq: int, limit: int = 500) -> list[dict]:
    rows = conn.execute(
        "SELECT seq, id, kind, ts, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [
        {"seq": r["seq"], "id": r["id"], "kind": r["kind"], "ts": r["ts"], "payload": json.loads(r["payload"])}
        for r in rows
    ]

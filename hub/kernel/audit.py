"""Append-only audit log of every state-changing action (who, what, when, which device)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.kernel import outbox
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso


def log(
    conn: sqlite3.Connection,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    device: str | None = None,
    details: dict[str, Any] | None = None,
) -> str:
    if not conn.in_transaction:
        raise RuntimeError("audit.log outside a write transaction")
    entry_id = new_id()
    ts = now_iso()
    conn.execute(
        "INSERT INTO audit_log(id, ts, actor, device, action, target, details) VALUES (?,?,?,?,?,?,?)",
        (entry_id, ts, actor, device, action, target, json.dumps(details, ensure_ascii=False) if details else None),
    )
    outbox.record(
        conn,
        "audit",
        {"id": entry_id, "actor": actor, "device": device, "action": action, "target": target, "details": details},
        ts=ts,
    )
    return entry_id


def entries(
    conn: sqlite3.Connection, *, limit: int = 50, offset: int = 0, actor: str | None = None
) -> list[dict[str, Any]]:
    sql = "SELECT id, ts, actor, device, action, target, details FROM audit_log"
    args: list[Any] = []
    if actor:
        sql += " WHERE actor = ?"
        args.append(actor)
    sql += " ORDER BY seq DESC LIMIT ? OFFSET ?"
    args += [limit, offset]
    out = []
    for r in conn.execute(sql, args):
        d = dict(r)
        d["details"] = json.loads(d["details"]) if d["details"] else None
        out.append(d)
    return out

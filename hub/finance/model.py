"""Finance: queries and changes. Every function takes an open connection; changes run inside the caller's
``db.write()`` transaction and never commit, so the row, its fact and its audit entry land together."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.finance.rules import clean_title


def create_record(conn: sqlite3.Connection, *, title: str, actor: str, device: str | None = None) -> dict[str, Any]:
    if not settings.get(conn, "finance.enabled"):
        raise Conflict("finance is switched off in this store's settings", code="finance_disabled")
    row = {"id": new_id(), "title": clean_title(title, max_length=settings.get(conn, "finance.max_title_length")),
           "created_by": actor, "device": device, "created_at": now_iso()}
    conn.execute("INSERT INTO finance_records(id, title, created_by, device, created_at)"
                 " VALUES (:id, :title, :created_by, :device, :created_at)", row)
    outbox.record(conn, "finance.recorded", row, ts=row["created_at"])
    audit.log(conn, actor=actor, device=device, action="finance.create", target=row["id"], details={"title": row["title"]})
    return row


def list_records(conn: sqlite3.Connection, *, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    total = conn.execute("SELECT COUNT(*) FROM finance_records").fetchone()[0]
    rows = conn.execute("SELECT * FROM finance_records ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                        (limit, offset)).fetchall()
    return [dict(r) for r in rows], total

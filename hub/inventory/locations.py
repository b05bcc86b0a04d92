"""The location tree: store → area → aisle → bay → bin, with a walk sequence.

Location labels are scannable: the printed code is ``SHL-<code>``."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

KINDS = ("store", "area", "aisle", "bay", "bin")
_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
LABEL_PREFIX = "SHL-"


def label_for(code: str) -> str:
    return LABEL_PREFIX + code


def validate_code(code: str) -> str:
    c = str(code or "").strip().upper()
    if not _CODE_RE.match(c):
        raise ValidationError(f"bad location code {code!r}: 1-32 of A-Z 0-9 . _ -", code="invalid_location_code")
    return c


def create(
    conn: sqlite3.Connection,
    *,
    code: str,
    name: str,
    kind: str,
    parent_id: str | None = None,
    walk_seq: int = 0,
    actor: str,
    location_id: str | None = None,
    audit_it: bool = True,
    device: str | None = None,
) -> dict[str, Any]:
    code = validate_code(code)
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}", code="invalid_location_kind")
    if not isinstance(walk_seq, int) or isinstance(walk_seq, bool):
        raise ValidationError("walk_seq must be an integer")
    if parent_id is not None:
        parent = get(conn, parent_id)
        if KINDS.index(parent["kind"]) >= KINDS.index(kind):
            raise ValidationError(f"a {kind} cannot sit inside a {parent['kind']}", code="invalid_location_parent")
    elif kind != "store":
        raise ValidationError("only the store location has no parent", code="invalid_location_parent")
    if conn.execute("SELECT 1 FROM locations WHERE code = ?", (code,)).fetchone():
        raise Conflict(f"location code {code} exists", code="location_code_taken")
    loc_id = location_id or new_id()
    conn.execute(
        "INSERT INTO locations(id, code, name, kind, parent_id, walk_seq, created_at) VALUES (?,?,?,?,?,?,?)",
        (loc_id, code, name, kind, parent_id, walk_seq, now_iso()),
    )
    loc = get(conn, loc_id)
    outbox.record(conn, "location.upsert", loc)
    if audit_it:
        audit.log(conn, actor=actor, device=device, action="location.create", target=loc_id, details={"code": code})
    return loc


def get(conn: sqlite3.Connection, location_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM locations WHERE id = ?", (location_id,)).fetchone()
    if row is None:
        raise NotFound(f"no location {location_id}", code="location_not_found")
    d = dict(row)
    d["label"] = label_for(d["code"])
    return d


def get_by_code(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT id FROM locations WHERE code = ?", (str(code).strip().upper(),)).fetchone()
    return get(conn, row[0]) if row else None


def list_all(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    out = []
    for row in conn.execute("SELECT * FROM locations ORDER BY walk_seq, code"):
        d = dict(row)
        d["label"] = label_for(d["code"])
        out.append(d)
    return out


def subtree_ids(conn: sqlite3.Connection, location_id: str) -> list[str]:
    rows = conn.execute(
        "WITH RECURSIVE t(id) AS (SELECT ? UNION ALL SELECT l.id FROM locations l JOIN t ON l.parent_id = t.id) SELECT id FROM t",
        (location_id,),
    ).fetchall()
    return [r[0] for r in rows]


def path(conn: sqlite3.Connection, location_id: str) -> list[dict[str, Any]]:
    """Ancestors from the store down to this location."""
    chain = []
    current: str | None = location_id
    while current:
        loc = get(conn, current)
        chain.append(loc)
        current = loc["parent_id"]
    return list(reversed(chain))

"""Login sessions: bearer tokens for API clients, cookies for the web UI.

Only a SHA-256 digest of each token is stored. Cookie sessions carry a CSRF
token that state-changing requests must echo in ``X-CSRF-Token``."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from datetime import timedelta
from typing import Any

from hub.auth.users import display_name
from hub.protocol.timeutil import iso, now_iso, parse_iso, utcnow

TOKEN_TTL = timedelta(hours=12)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    conn: sqlite3.Connection, user_id: str, *, kind: str, device: str | None = None, ttl: timedelta = TOKEN_TTL
) -> dict[str, Any]:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24) if kind == "cookie" else None
    now = utcnow()
    expires = iso(now + ttl)
    conn.execute(
        "INSERT INTO sessions(token_digest, user_id, kind, csrf_token, device, created_at, last_used_at, expires_at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (_digest(token), user_id, kind, csrf, device, iso(now), iso(now), expires),
    )
    return {"token": token, "csrf_token": csrf, "expires_at": expires}


def resolve(conn: sqlite3.Connection, token: str) -> dict[str, Any] | None:
    """Return the session joined with its user, or None if unknown, expired or the user is disabled."""
    row = conn.execute(
        "SELECT s.token_digest, s.kind, s.csrf_token, s.device, s.expires_at, u.id AS user_id, u.username,"
        " u.display_name, u.role, u.language, u.active FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_digest = ?",
        (_digest(token),),
    ).fetchone()
    if row is None or not row["active"] or parse_iso(row["expires_at"]) <= utcnow():
        return None
    return {**dict(row), "display_name": display_name(conn, row["user_id"], row["display_name"])}


def revoke(conn: sqlite3.Connection, token: str) -> None:
    conn.execute("DELETE FROM sessions WHERE token_digest = ?", (_digest(token),))


def purge_expired(conn: sqlite3.Connection) -> int:
    return conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now_iso(),)).rowcount

"""Head-office users: scrypt-hashed passwords (same scheme as the hub), session
cookies for the views, bearer tokens (stored as SHA-256 digests) for the read API."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hub.auth.users import hash_secret, validate_password, verify_secret
from hub.kernel.errors import Conflict, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import iso, now_iso, parse_iso, utcnow
from sync.central import schema as t

ROLES = ("viewer", "admin")


def add_user(engine: Engine, username: str, password: str, role: str = "viewer") -> dict[str, Any]:
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise ValidationError("username: 1-64 characters, no spaces", code="invalid_username")
    if role not in ROLES:
        raise ValidationError(f"role is one of {', '.join(ROLES)}", code="invalid_role")
    row = {
        "id": new_id(),
        "username": username,
        "password_hash": hash_secret(validate_password(password)),
        "role": role,
        "created_at": now_iso(),
    }
    try:
        with engine.begin() as conn:
            conn.execute(t.office_users.insert().values(**row))
    except IntegrityError as exc:
        raise Conflict(f"user {username} exists", code="username_taken") from exc
    return {k: row[k] for k in ("id", "username", "role")}


class Locked(Exception):
    def __init__(self, retry_after_s: int):
        super().__init__(f"too many failed attempts; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def check_password(engine: Engine, username: str, password: str) -> dict[str, Any] | None:
    """The user for a right password, None for a wrong one; raises ``Locked`` while locked out.

    The same back-off as hub staff logins (``hub.auth.users._lock_seconds``): a few free attempts, then an
    exponentially growing lock, reset by a successful login."""
    from hub.auth.users import _lock_seconds

    with engine.connect() as conn:
        r = conn.execute(select(t.office_users).where(t.office_users.c.username == username)).mappings().first()
    if r is not None and r["locked_until"] and r["locked_until"] > now_iso():
        raise Locked(int((parse_iso(r["locked_until"]) - utcnow()).total_seconds()) + 1)
    ok = verify_secret(password or "", r["password_hash"] if r else None)
    if r is None:
        return None
    with engine.begin() as conn:
        if ok:
            conn.execute(
                update(t.office_users)
                .where(t.office_users.c.id == r["id"])
                .values(failed_attempts=0, locked_until=None)
            )
            return {"id": r["id"], "username": r["username"], "role": r["role"]}
        failures = r["failed_attempts"] + 1
        lock = _lock_seconds(failures)
        conn.execute(
            update(t.office_users)
            .where(t.office_users.c.id == r["id"])
            .values(failed_attempts=failures, locked_until=iso(utcnow() + timedelta(seconds=lock)) if lock else None)
        )
    return None


def get_user(engine: Engine, user_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        r = (
            conn.execute(
                select(t.office_users.c.id, t.office_users.c.username, t.office_users.c.role).where(
                    t.office_users.c.id == user_id
                )
            )
            .mappings()
            .first()
        )
    return dict(r) if r else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(engine: Engine, user_id: str, ttl_hours: int = 12) -> dict[str, Any]:
    token = "sho_" + secrets.token_urlsafe(32)
    expires = iso(utcnow() + timedelta(hours=ttl_hours))
    with engine.begin() as conn:
        conn.execute(delete(t.office_tokens).where(t.office_tokens.c.expires_at < now_iso()))
        conn.execute(
            t.office_tokens.insert().values(
                digest=_digest(token), user_id=user_id, created_at=now_iso(), expires_at=expires
            )
        )
    return {"token": token, "expires_at": expires}


def user_for_token(engine: Engine, token: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        r = conn.execute(select(t.office_tokens).where(t.office_tokens.c.digest == _digest(token))).mappings().first()
    if r is None or r["expires_at"] < now_iso():
        return None
    return get_user(engine, r["user_id"])

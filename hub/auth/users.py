"""Staff, roles and credentials.

PINs and passwords are hashed with scrypt (stdlib, memory-hard). Badge codes are
looked up on scan, so they are stored as an HMAC-SHA256 under the hub's secret
key rather than a salted hash. Repeated failures lock the account with an
exponential back-off.

Personal data at rest (issue 20): a staff member's display name is stored only encrypted
(``hub.kernel.pii``: AES-GCM under the hub's key ring, the table, column and user id as
associated data) and decrypted on read here (``display_name``), so the API output is
unchanged. The ``user.upsert`` fact carries it sealed to the central (``fact``), never in
plain text. Rows written before migration 0004 are encrypted by it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3
from datetime import timedelta
from typing import Any

from hub.kernel import audit, outbox, pii
from hub.kernel.errors import Conflict, NotFound, TooManyAttempts, Unauthorized, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import iso, now_iso, parse_iso, utcnow

ROLES = ("associate", "supervisor", "manager", "admin")
ROLE_RANK = {r: i for i, r in enumerate(ROLES)}
PASSWORD_ROLES = ("manager", "admin")
LANGUAGES = ("en", "zh-CN")

FREE_ATTEMPTS = 5
BASE_LOCK_S = 30
MAX_LOCK_S = 15 * 60

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$%d$%d$%d$%s$%s" % (
        _SCRYPT["n"],
        _SCRYPT["r"],
        _SCRYPT["p"],
        base64.b64encode(salt).decode(),
        base64.b64encode(dk).decode(),
    )


def verify_secret(secret: str, stored: str | None) -> bool:
    if not stored:
        # still spend the time so a missing credential is not faster to detect
        hashlib.scrypt(b"x", salt=b"0" * 16, dklen=32, **_SCRYPT)
        return False
    try:
        algo, n, r, p, salt, dk = stored.split("$")
        assert algo == "scrypt"
        got = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p))
    except Exception:
        return False
    return hmac.compare_digest(got, base64.b64decode(dk))


def badge_digest(secret_key: bytes, badge: str) -> str:
    return hmac.new(secret_key, badge.strip().encode(), hashlib.sha256).hexdigest()


def validate_pin(pin: str) -> str:
    if not isinstance(pin, str) or not pin.isdigit() or not 4 <= len(pin) <= 8:
        raise ValidationError("a PIN is 4 to 8 digits", code="invalid_pin")
    return pin


def validate_password(pw: str) -> str:
    if not isinstance(pw, str) or len(pw) < 10:
        raise ValidationError("a password has at least 10 characters", code="invalid_password")
    return pw


# --- the display name, encrypted at rest ----------------------------------------------------------------------------
def name_context(user_id: str) -> str:
    return f"users.display_name|{user_id}"


def encrypt_name(conn: sqlite3.Connection, user_id: str, name: str) -> str:
    return pii.for_connection(conn).encrypt(name, context=name_context(user_id))


def display_name(conn: sqlite3.Connection, user_id: str, stored: str | None) -> str | None:
    """The plain display name of a ``users.display_name`` value (what other domains' joins read goes through
    here). A value not yet encrypted (a database opened before migration 0004 ran) is returned as it is."""
    if not stored or not stored.startswith(pii.PREFIX + ":"):
        return stored
    return pii.for_connection(conn).decrypt(stored, context=name_context(user_id))


def names(conn: sqlite3.Connection, rows: list[dict[str, Any]], *, id_key: str, name_key: str) -> list[dict[str, Any]]:
    """``rows`` (dicts from a join with ``users``) with ``name_key`` decrypted, the user id in ``id_key``."""
    return [{**r, name_key: display_name(conn, r[id_key], r[name_key]) if r[id_key] else r[name_key]} for r in rows]


def decrypt_rows(conn: sqlite3.Connection, rows: Any, *, id_key: str, name_key: str = "display_name") -> list[dict]:
    """``names`` over sqlite3 rows (``dict`` each first)."""
    return names(conn, [dict(r) for r in rows], id_key=id_key, name_key=name_key)


def fact(conn: sqlite3.Connection, user_id: str) -> dict[str, Any]:
    """The ``user.upsert`` payload: the public record with the display name sealed to the central (None, and a
    warning, on a hub not provisioned for sync) — no plain personal data enters the outbox."""
    out = get(conn, user_id)
    name = out.pop("display_name")
    sealed = pii.seal_for_central(conn, {"display_name": name}, context=f"user.upsert|{user_id}")
    out["display_name_sealed"] = sealed["display_name"] if sealed else None
    return out


def encrypt_plaintext_names(conn: sqlite3.Connection) -> int:
    """Encrypt every display name still stored in plain text (migration 0004; idempotent)."""
    n = 0
    for uid, name in conn.execute("SELECT id, display_name FROM users").fetchall():
        if name and not name.startswith(pii.PREFIX + ":"):
            conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (encrypt_name(conn, uid, name), uid))
            n += 1
    return n


def keys_in_use(conn: sqlite3.Connection) -> set[str]:
    return {
        pii.key_id(r[0])
        for r in conn.execute("SELECT display_name FROM users WHERE display_name LIKE ?", (pii.PREFIX + ":%",))
    }


def reencrypt(conn: sqlite3.Connection, ring: pii.KeyRing) -> int:
    """Every display name under the ring's current key (key rotation, ``storehub pii rotate-key``)."""
    n = 0
    for uid, old in conn.execute("SELECT id, display_name FROM users").fetchall():
        if not old:
            continue
        if old.startswith(pii.PREFIX + ":"):
            new = ring.reencrypt(old, context=name_context(uid))
        else:
            new = ring.encrypt(old, context=name_context(uid))
        if new != old:
            conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (new, uid))
            n += 1
    return n


def public(row: sqlite3.Row | dict, conn: sqlite3.Connection) -> dict[str, Any]:
    d = dict(row)
    return {
        "id": d["id"],
        "username": d["username"],
        "display_name": display_name(conn, d["id"], d["display_name"]) or "",
        "role": d["role"],
        "language": d["language"],
        "active": bool(d["active"]),
        "has_pin": bool(d.get("pin_hash")),
        "has_password": bool(d.get("password_hash")),
        "has_badge": bool(d.get("badge_digest")),
    }


def create(
    conn: sqlite3.Connection,
    *,
    username: str,
    role: str,
    secret_key: bytes,
    display_name: str | None = None,
    pin: str | None = None,
    password: str | None = None,
    badge: str | None = None,
    language: str = "en",
    actor: str = "system:cli",
    user_id: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise ValidationError("username: 1-64 characters, no spaces", code="invalid_username")
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", code="invalid_role")
    if language not in LANGUAGES:
        raise ValidationError(f"language must be one of {', '.join(LANGUAGES)}", code="invalid_language")
    if pin is None and password is None and badge is None:
        raise ValidationError("give a PIN, a password or a badge", code="no_credential")
    if role in PASSWORD_ROLES and password is None:
        raise ValidationError(f"a {role} needs a password (PIN alone is for floor staff)", code="password_required")
    if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
        raise Conflict(f"user {username} exists", code="username_taken")
    digest = badge_digest(secret_key, badge) if badge else None
    if digest and conn.execute("SELECT 1 FROM users WHERE badge_digest = ?", (digest,)).fetchone():
        raise Conflict("badge already assigned", code="badge_taken")
    uid = user_id or new_id()
    conn.execute(
        "INSERT INTO users(id, username, display_name, role, language, pin_hash, password_hash, badge_digest, created_at)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        (
            uid,
            username,
            encrypt_name(conn, uid, display_name or username),
            role,
            language,
            hash_secret(validate_pin(pin)) if pin is not None else None,
            hash_secret(validate_password(password)) if password is not None else None,
            digest,
            now_iso(),
        ),
    )
    user = get(conn, uid)
    outbox.record(conn, "user.upsert", fact(conn, uid))
    audit.log(
        conn, actor=actor, device=device, action="user.create", target=uid, details={"username": username, "role": role}
    )
    return user


def get(conn: sqlite3.Connection, user_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise NotFound(f"no user {user_id}", code="user_not_found")
    return public(row, conn)


def list_all(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [public(r, conn) for r in conn.execute("SELECT * FROM users ORDER BY username")]


def set_language(
    conn: sqlite3.Connection, user_id: str, language: str, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    if language not in LANGUAGES:
        raise ValidationError(f"language must be one of {', '.join(LANGUAGES)}", code="invalid_language")
    conn.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))
    audit.log(conn, actor=actor, device=device, action="user.language", target=user_id, details={"language": language})
    return get(conn, user_id)


def _lock_seconds(failures: int) -> int:
    if failures < FREE_ATTEMPTS:
        return 0
    return min(MAX_LOCK_S, BASE_LOCK_S * 2 ** (failures - FREE_ATTEMPTS))


def authenticate(
    conn: sqlite3.Connection,
    *,
    secret_key: bytes,
    username: str | None = None,
    pin: str | None = None,
    password: str | None = None,
    badge: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Check one credential inside a write transaction; records failures and lockouts.

    Raises Unauthorized (wrong or unknown) or TooManyAttempts (locked)."""
    if badge is not None:
        row = conn.execute("SELECT * FROM users WHERE badge_digest = ?", (badge_digest(secret_key, badge),)).fetchone()
        if row is None or not row["active"]:
            audit.log(conn, actor="anonymous", device=device, action="auth.fail", details={"method": "badge"})
            raise Unauthorized("badge not recognised", code="bad_credentials")
        _check_lock(row)
        _succeed(conn, row, "badge", device)
        return public(row, conn)
    row = conn.execute("SELECT * FROM users WHERE username = ?", ((username or "").strip(),)).fetchone()
    method = "pin" if pin is not None else "password"
    if row is None or not row["active"]:
        verify_secret(pin or password or "", None)
        audit.log(
            conn, actor="anonymous", device=device, action="auth.fail", details={"method": method, "username": username}
        )
        raise Unauthorized("wrong user or credential", code="bad_credentials")
    _check_lock(row)
    if pin is not None:
        ok = verify_secret(pin, row["pin_hash"])
    else:
        ok = verify_secret(password or "", row["password_hash"])
    if not ok:
        failures = row["failed_attempts"] + 1
        lock = _lock_seconds(failures)
        locked_until = iso(utcnow() + timedelta(seconds=lock)) if lock else None
        conn.execute(
            "UPDATE users SET failed_attempts = ?, locked_until = ? WHERE id = ?", (failures, locked_until, row["id"])
        )
        audit.log(
            conn,
            actor=row["id"],
            device=device,
            action="auth.fail",
            details={"method": method, "failures": failures, "locked_for_s": lock},
        )
        raise Unauthorized(
            "wrong user or credential",
            code="bad_credentials",
            details={"attempts_before_lock": max(0, FREE_ATTEMPTS - failures)},
        )
    _succeed(conn, row, method, device)
    return public(row, conn)


def _check_lock(row: sqlite3.Row) -> None:
    if row["locked_until"] and parse_iso(row["locked_until"]) > utcnow():
        wait = int((parse_iso(row["locked_until"]) - utcnow()).total_seconds()) + 1
        raise TooManyAttempts(f"too many failed attempts; try again in {wait} s", details={"retry_after_s": wait})


def _succeed(conn: sqlite3.Connection, row: sqlite3.Row, method: str, device: str | None) -> None:
    conn.execute("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?", (row["id"],))
    audit.log(conn, actor=row["id"], device=device, action="auth.login", details={"method": method})


def has_role(user_role: str, needed: str) -> bool:
    return ROLE_RANK[user_role] >= ROLE_RANK[needed]

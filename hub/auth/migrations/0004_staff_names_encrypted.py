"""Staff display names encrypted at rest (issue 20): every ``users.display_name`` still in plain text is
encrypted under the hub's personal-data key ring (``hub.kernel.pii``, ``pii.keys`` beside hub.db), bound to its
row. Runs once (hub/kernel/db.py: Python migrations run with secure_delete, then the WAL is truncated); later
writes encrypt as they go (hub/auth/users.py)."""

from __future__ import annotations

import sqlite3


def upgrade(conn: sqlite3.Connection) -> None:
    if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is None:
        return  # nothing to encrypt (and a fresh hub needs no key ring yet)
    from hub.auth.users import encrypt_plaintext_names

    encrypt_plaintext_names(conn)

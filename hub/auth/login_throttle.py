"""Per-source login throttle: back-off on failed logins per client address and per device id.

The per-user lockout in :mod:`hub.auth.users` stops guessing one account's PIN; it cannot stop one
device trying many badge codes (a badge failure has no account) or one PIN against many users.
This module counts failed logins per *source* — the client address (IPv6 grouped by /64) and the
device id the client names — and blocks a source with an exponential back-off once it has more
than :data:`FREE_FAILURES` failures within :data:`WINDOW_S` of each other. While a source is
blocked every login from it is refused before any credential is checked.

State lives in the ``login_throttle`` table and every function runs inside the caller's
``db.write()`` transaction (``BEGIN IMMEDIATE``), so the count is shared by all gunicorn workers
and concurrent attempts cannot both slip under the limit. A success does not reset a source (an
attacker holding one valid badge could otherwise clear the count between guesses); failures simply
age out after :data:`WINDOW_S` without a new one.

Audit: ``auth.throttle`` when a block starts, ``auth.throttled`` for the first login refused in a
block (later refusals in the same block are only counted in ``refused``, so a flood of refused
requests does not flood the audit log and the outbox).
"""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.kernel import audit
from hub.kernel.errors import TooManyAttempts
from hub.protocol.timeutil import iso, parse_iso, utcnow

FREE_FAILURES = 10  # failures a source may have before it is blocked
BASE_BLOCK_S = 30  # first block; doubles with each further failure
MAX_BLOCK_S = 15 * 60
WINDOW_S = 15 * 60  # failures further apart than this start a new count
SCOPES = ("ip", "device")


class LoginThrottled(TooManyAttempts):
    code = "login_throttled"


@dataclass(frozen=True)
class Source:
    scope: str
    key: str

    def label(self) -> str:
        return f"{self.scope}:{self.key}"


def client_key(addr: str | None) -> str:
    """The throttle key of a client address: IPv4 as is, IPv6 by its /64 (one host has a whole /64)."""
    if not addr:
        return "unknown"
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return addr[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def sources(remote_addr: str | None, devices: Iterable[str | None] = ()) -> list[Source]:
    out = [Source("ip", client_key(remote_addr))]
    for d in devices:
        if d and Source("device", d) not in out:
            out.append(Source("device", d))
    return out


def block_seconds(failures: int) -> int:
    if failures <= FREE_FAILURES:
        return 0
    return min(MAX_BLOCK_S, BASE_BLOCK_S * 2 ** (failures - FREE_FAILURES - 1))


def _row(conn: sqlite3.Connection, src: Source) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM login_throttle WHERE scope = ? AND key = ?", (src.scope, src.key)).fetchone()


def check(
    conn: sqlite3.Connection, srcs: list[Source], *, device: str | None = None, now: datetime | None = None
) -> None:
    """Raise :class:`LoginThrottled` (after recording the refusal) if any source is blocked.

    Call inside a write transaction and commit before letting the error escape."""
    now = now or utcnow()
    worst: tuple[int, Source] | None = None
    for src in srcs:
        row = _row(conn, src)
        if row is None or not row["blocked_until"]:
            continue
        until = parse_iso(row["blocked_until"])
        if until <= now:
            continue
        wait = max(1, int((until - now).total_seconds() + 0.999))
        conn.execute(
            "UPDATE login_throttle SET refused = refused + 1 WHERE scope = ? AND key = ?", (src.scope, src.key)
        )
        if row["refused"] == 0:
            audit.log(
                conn,
                actor="anonymous",
                device=device,
                action="auth.throttled",
                target=src.label(),
                details={"scope": src.scope, "key": src.key, "retry_after_s": wait, "failures": row["failures"]},
            )
        if worst is None or wait > worst[0]:
            worst = (wait, src)
    if worst is not None:
        wait, src = worst
        raise LoginThrottled(
            f"too many failed logins from this {'device' if src.scope == 'device' else 'address'};"
            f" try again in {wait} s",
            details={"retry_after_s": wait, "scope": src.scope},
        )


def record_failure(
    conn: sqlite3.Connection, srcs: list[Source], *, device: str | None = None, now: datetime | None = None
) -> int:
    """Count one failed login against every source; start or lengthen a block when due.

    Returns the longest block started (seconds, 0 if none)."""
    now = now or utcnow()
    now_s = iso(now)
    window_start = iso(now - timedelta(seconds=WINDOW_S))
    longest = 0
    for src in srcs:
        row = _row(conn, src)
        if row is None or (
            row["last_failure_at"] < window_start
            and (not row["blocked_until"] or parse_iso(row["blocked_until"]) <= now)
        ):
            failures, first = 1, now_s
        else:
            failures, first = row["failures"] + 1, row["first_failure_at"]
        block = block_seconds(failures)
        blocked_until = iso(now + timedelta(seconds=block)) if block else None
        conn.execute(
            "INSERT INTO login_throttle(scope, key, failures, first_failure_at, last_failure_at, blocked_until, refused)"
            " VALUES (?,?,?,?,?,?,0) ON CONFLICT(scope, key) DO UPDATE SET failures = excluded.failures,"
            " first_failure_at = excluded.first_failure_at, last_failure_at = excluded.last_failure_at,"
            " blocked_until = excluded.blocked_until, refused = 0",
            (src.scope, src.key, failures, first, now_s, blocked_until),
        )
        if block:
            audit.log(
                conn,
                actor="anonymous",
                device=device,
                action="auth.throttle",
                target=src.label(),
                details={
                    "scope": src.scope,
                    "key": src.key,
                    "failures": failures,
                    "blocked_for_s": block,
                    "refused_in_previous_block": row["refused"] if row is not None else 0,
                },
            )
            longest = max(longest, block)
    _purge(conn, now)
    return longest


def _purge(conn: sqlite3.Connection, now: datetime) -> None:
    """Forget sources whose failures have aged out and that are not blocked (keeps the table small)."""
    conn.execute(
        "DELETE FROM login_throttle WHERE last_failure_at < ? AND (blocked_until IS NULL OR blocked_until < ?)",
        (iso(now - timedelta(seconds=WINDOW_S)), iso(now)),
    )


def status(conn: sqlite3.Connection, src: Source) -> dict | None:
    row = _row(conn, src)
    return dict(row) if row is not None else None

"""The device bus's ``scan`` handler for staff: a badge scanned at a clock point clocks its owner.

The bus has already validated the event, recorded its (device, event id) so it is applied once, and stored the
scan (``hub.bus.builtin.on_scan`` runs first, in domain order); this handler runs in the same transaction. It
reacts only to codes the one resolver reads as a staff badge (``SHB-<id>``) at devices listed in the
``staff.clock_devices`` setting. A badge that clocks nobody — unknown, a disabled user, a clock-out without a
clock-in — is recorded in ``staff_clock_refusals`` with a ``staff.clock_refused`` fact and an audit entry, and
the event is still accepted: the scan was real and is kept, and refusing it would only make the agent resend it.

Badges are stored as HMAC-SHA256 digests under the hub's secret key (``hub.auth.users.badge_digest``). A handler
receives only the connection, so the key is read from the data directory the database lives in — the same
``secret.key`` beside ``hub.db`` that the web app and the CLI use (``hub.kernel.config.HubConfig``)."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

from hub.auth import users
from hub.bus.handlers import DeviceEvent
from hub.identify import resolve as resolver
from hub.kernel import audit, outbox, settings
from hub.kernel.config import HubConfig
from hub.kernel.errors import StoreHubError
from hub.staff import attendance
from hub.staff.facts import REFUSALS


@functools.lru_cache(maxsize=8)
def _key_for(data_dir: str) -> bytes:
    return HubConfig(data_dir=Path(data_dir)).secret_key()


def secret_key(conn: sqlite3.Connection) -> bytes:
    """The hub's secret key, found beside the database this connection has open."""
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main" and row[2]:
            return _key_for(str(Path(row[2]).parent))
    raise RuntimeError("the hub database has no file: no secret key to read badges with")


def badge_owner(conn: sqlite3.Connection, badge_id: str, key: bytes) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT id, active FROM users WHERE badge_digest = ?", (users.badge_digest(key, badge_id),)
    ).fetchone()


def on_scan(conn: sqlite3.Connection, ev: DeviceEvent) -> None:
    mode = settings.get(conn, "staff.clock_devices").get(ev.device_id)
    code = ev.payload["code"]
    if mode is None or code[:4].upper() != "SHB-":  # cheap test first: most scans are items
        return
    try:
        res = resolver.resolve(conn, code, settings=settings.get_all(conn), with_stock=False)
    except StoreHubError:
        return  # an unreadable badge code: the bus kept the scan with the resolver's reason
    if res.kind != "badge" or not res.badge:
        return
    owner = badge_owner(conn, res.badge, secret_key(conn))
    if owner is None or not owner["active"]:
        _refuse(conn, ev, "unknown_badge" if owner is None else "user_disabled", owner["id"] if owner else None)
        return
    action = attendance.toggle_action(conn, owner["id"], mode, ev.ts)
    try:
        attendance.punch(conn, owner["id"], action, source="badge", at=ev.ts, device_id=ev.device_id, event_id=ev.id)
    except StoreHubError as exc:
        _refuse(conn, ev, exc.code, owner["id"])


def _refuse(conn: sqlite3.Connection, ev: DeviceEvent, reason: str, user_id: str | None) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO staff_clock_refusals(device_id, event_id, at, reason, user_id) VALUES (?,?,?,?,?)",
        (ev.device_id, ev.id, ev.ts, reason, user_id),
    )
    fact_reason = reason if reason in REFUSALS else "other"
    outbox.record(
        conn,
        "staff.clock_refused",
        {"device_id": ev.device_id, "event_id": ev.id, "at": ev.ts, "reason": fact_reason, "user_id": user_id},
        ts=ev.received_at,
    )
    audit.log(
        conn,
        actor=user_id or "anonymous",
        device=ev.device_id,
        action="staff.clock_refused",
        details={"reason": reason, "event_id": ev.id},
    )


def refusals(conn: sqlite3.Connection, *, limit: int = 50) -> list[dict[str, object]]:
    return [dict(r) for r in conn.execute("SELECT * FROM staff_clock_refusals ORDER BY at DESC LIMIT ?", (limit,))]

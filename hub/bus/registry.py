"""The device registry: what devices exist, what they are, whether they are online.

Fed by the bus: ``status`` (birth ``online`` / Last Will ``offline``), ``info`` (kind, model, firmware,
capabilities, health — a reader's radio, antenna states and clock skew included) and every event (last seen,
counters). State changes are facts (outbox) and raise or clear alerts."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hub.bus import alerts
from hub.kernel import outbox, settings
from hub.kernel.errors import NotFound
from hub.protocol.timeutil import parse_iso

# Seconds without any message after which an online device is reported silent; None = never.
DEFAULT_SILENCE_S: dict[str, int | None] = {"shelf": 300, "scale": None, "scanner": None, "printer": None, "rfid": None}
LOW_BATTERY_PCT = 15
# Health a device reports (info or evt/state): a reader's radio and antennas from its heartbeats, and its
# clock_skew_ms, how far the times it stamps its reads with are from the clock of its agent's host (which
# keeps the hub's time) — null while within hub.protocol.rfid_formats.CLOCK_SKEW_TOLERANCE_MS.
HEALTH_FIELDS = ("battery_pct", "paper", "error", "radio", "antennas", "clock_skew_ms")

_COLUMNS = (
    "id, kind, model, firmware, capabilities, online, status_changed_at, first_seen, last_seen, "
    "last_event_at, battery_pct, paper, error, radio, antennas, clock_skew_ms, events_total, "
    "events_duplicate, rejected_total, silence_s, provisioned_at"
)


def _row(r: sqlite3.Row, counts: dict[str, int] | None = None) -> dict[str, Any]:
    d = dict(r)
    d["online"] = bool(d["online"])
    d["capabilities"] = json.loads(d["capabilities"] or "[]")
    d["antennas"] = json.loads(d["antennas"]) if d["antennas"] else None
    if counts is not None:
        d["event_counts"] = counts
    return d


def ensure(conn: sqlite3.Connection, device_id: str, now: str, kind: str | None = None) -> None:
    conn.execute("INSERT OR IGNORE INTO devices(id, kind, first_seen) VALUES (?,?,?)", (device_id, kind, now))


def provision(conn: sqlite3.Connection, device_id: str, kind: str, now: str) -> None:
    ensure(conn, device_id, now, kind)
    conn.execute("UPDATE devices SET kind = COALESCE(kind, ?), provisioned_at = ? WHERE id = ?", (kind, now, device_id))


def set_status(conn: sqlite3.Connection, device_id: str, status: str, now: str, *, seen: bool = True) -> bool:
    """Apply a status message; returns True when the device changed state.

    ``seen=False`` (a retained status replayed by the broker, or an ``offline`` Will the broker sends for a
    dead device) changes the state without making the device "last seen" now."""
    ensure(conn, device_id, now)
    online = 1 if status == "online" else 0
    cur = conn.execute(
        "UPDATE devices SET online = ?, status_changed_at = ? WHERE id = ? AND online != ?",
        (online, now, device_id, online),
    )
    if seen:
        conn.execute("UPDATE devices SET last_seen = ? WHERE id = ?", (now, device_id))
    changed = cur.rowcount > 0
    first = conn.execute("SELECT status_changed_at FROM devices WHERE id = ?", (device_id,)).fetchone()[0] is None
    if first:  # a first 'offline' is still a state we have now learnt
        conn.execute("UPDATE devices SET status_changed_at = ? WHERE id = ?", (now, device_id))
    if changed or first:
        outbox.record(conn, "device.status", {"device_id": device_id, "status": status}, ts=now)
    if online:
        alerts.clear(conn, "device_offline", device_id, now=now)
        if seen:
            alerts.clear(conn, "device_silent", device_id, now=now)
    elif changed or first:
        alerts.raise_alert(
            conn, "device_offline", device_id, f"device {device_id} went offline", severity="warning", now=now
        )
    return changed


def apply_info(conn: sqlite3.Connection, device_id: str, info: dict, now: str, *, seen: bool = True) -> bool:
    """Apply a (retained) info; ``seen=False`` for the broker's replay of the retained copy."""
    ensure(conn, device_id, now)
    before = conn.execute("SELECT info FROM devices WHERE id = ?", (device_id,)).fetchone()[0]
    text = json.dumps(info, sort_keys=True, ensure_ascii=False)
    conn.execute(
        "UPDATE devices SET kind = ?, model = ?, firmware = ?, capabilities = ?, info = ?,"
        " last_seen = CASE WHEN ? THEN ? ELSE last_seen END WHERE id = ?",
        (
            info["kind"],
            info["model"],
            info["firmware"],
            json.dumps(info.get("capabilities", [])),
            text,
            1 if seen else 0,
            now,
            device_id,
        ),
    )
    health = {k: info[k] for k in HEALTH_FIELDS if k in info}
    if health:
        apply_health(conn, device_id, health, now)
    if before != text:
        outbox.record(conn, "device.info", {"device_id": device_id, **info}, ts=now)
        return True
    return False


def apply_health(conn: sqlite3.Connection, device_id: str, health: dict, now: str) -> None:
    """Battery / paper / error states and a reader's radio / antenna states, from info or ``evt/state``; raise
    or clear the matching alerts."""
    ensure(conn, device_id, now)
    old = conn.execute(f"SELECT {', '.join(HEALTH_FIELDS)} FROM devices WHERE id = ?", (device_id,)).fetchone()
    before = {k: (json.loads(old[k]) if k == "antennas" and old[k] else old[k]) for k in HEALTH_FIELDS}
    sets, args = [], []
    for k in HEALTH_FIELDS:
        if k in health:
            sets.append(f"{k} = ?")
            args.append(
                json.dumps(health[k], sort_keys=True) if k == "antennas" and health[k] is not None else health[k]
            )
    if not sets:
        return
    conn.execute(f"UPDATE devices SET {', '.join(sets)} WHERE id = ?", (*args, device_id))
    changed = {k: v for k, v in health.items() if k in HEALTH_FIELDS and before[k] != v}
    if changed:
        outbox.record(conn, "device.health", {"device_id": device_id, **changed}, ts=now)
    if "antennas" in health:
        _antenna_alert(conn, device_id, health["antennas"] or {}, now)
    if "clock_skew_ms" in health:
        _clock_alert(conn, device_id, health["clock_skew_ms"], now)
    if "paper" in health:
        if health["paper"] == "out":
            alerts.raise_alert(
                conn, "paper_out", device_id, f"printer {device_id} is out of paper", severity="critical", now=now
            )
        else:
            alerts.clear(conn, "paper_out", device_id, now=now)
    if "error" in health:
        if health["error"]:
            alerts.raise_alert(
                conn,
                "device_error",
                device_id,
                f"device {device_id} reports: {health['error']}",
                severity="critical",
                details={"error": health["error"]},
                now=now,
            )
        else:
            alerts.clear(conn, "device_error", device_id, now=now)
    if "battery_pct" in health:
        if health["battery_pct"] <= LOW_BATTERY_PCT:
            alerts.raise_alert(
                conn,
                "low_battery",
                device_id,
                f"device {device_id} battery {health['battery_pct']}%",
                severity="warning",
                details={"battery_pct": health["battery_pct"]},
                now=now,
            )
        else:
            alerts.clear(conn, "low_battery", device_id, now=now)


def _antenna_alert(conn: sqlite3.Connection, device_id: str, antennas: dict[str, str], now: str) -> None:
    """One ``antenna_disconnected`` alert per reader naming every disconnected port: a reader counting with a
    dead antenna misses its zone's tags, which a count would then book as missing."""
    down = sorted((p for p, state in antennas.items() if state == "disconnected"), key=int)
    open_ = conn.execute(
        "SELECT details FROM alerts WHERE kind = 'antenna_disconnected' AND subject = ? AND cleared_at IS NULL",
        (device_id,),
    ).fetchone()
    if open_ is not None and json.loads(open_["details"] or "{}").get("ports") == down:
        return
    if open_ is not None:  # the set of dead ports changed: the alert says which ones now
        alerts.clear(conn, "antenna_disconnected", device_id, now=now)
    if down:
        alerts.raise_alert(
            conn,
            "antenna_disconnected",
            device_id,
            f"reader {device_id}: antenna {', '.join(down)} disconnected",
            severity="critical",
            details={"ports": down},
            now=now,
        )


def _clock_alert(conn: sqlite3.Connection, device_id: str, skew_ms: int | None, now: str) -> None:
    """``clock_skew`` while a reader's clock is off (re-raised when the skew changes, so it says by how much):
    its reads carry wrong times and would sort before or after other readers' reads of the same moment."""
    open_ = conn.execute(
        "SELECT details FROM alerts WHERE kind = 'clock_skew' AND subject = ? AND cleared_at IS NULL", (device_id,)
    ).fetchone()
    if open_ is not None and json.loads(open_["details"] or "{}").get("skew_ms") == skew_ms:
        return
    if open_ is not None:
        alerts.clear(conn, "clock_skew", device_id, now=now)
    if skew_ms is not None:
        alerts.raise_alert(
            conn,
            "clock_skew",
            device_id,
            f"reader {device_id}: its clock is {abs(skew_ms) / 1000:.0f} s "
            f"{'ahead of' if skew_ms > 0 else 'behind'} the hub's; its reads carry wrong times",
            severity="warning",
            details={"skew_ms": skew_ms},
            now=now,
        )


@dataclass
class Activity:
    """What a batch saw from one device (applied in one UPDATE per device)."""

    messages: int = 0
    events: int = 0
    duplicates: int = 0
    types: Counter = field(default_factory=Counter)


def touch_many(conn: sqlite3.Connection, activity: dict[str, Activity], now: str) -> None:
    for device_id, a in activity.items():
        ensure(conn, device_id, now)
        conn.execute(
            "UPDATE devices SET last_seen = ?, events_total = events_total + ?, events_duplicate = events_duplicate + ?,"
            " last_event_at = CASE WHEN ? > 0 THEN ? ELSE last_event_at END WHERE id = ?",
            (now, a.events, a.duplicates, a.events, now, device_id),
        )
        for t, n in a.types.items():
            conn.execute(
                "INSERT INTO device_event_counts(device_id, event_type, count) VALUES (?,?,?) "
                "ON CONFLICT(device_id, event_type) DO UPDATE SET count = count + excluded.count",
                (device_id, t, n),
            )
        alerts.clear(conn, "device_silent", device_id, now=now)


def silence_thresholds(conn: sqlite3.Connection) -> dict[str, int | None]:
    configured = settings.get(conn, "device_silence_s") or {}
    return {**DEFAULT_SILENCE_S, **configured}


def check_silence(conn: sqlite3.Connection, now: str) -> list[str]:
    """Raise ``device_silent`` for online devices quiet for longer than their threshold."""
    thresholds = silence_thresholds(conn)
    now_dt = parse_iso(now)
    raised = []
    for r in conn.execute("SELECT id, kind, last_seen, silence_s FROM devices WHERE online = 1").fetchall():
        limit = r["silence_s"] if r["silence_s"] is not None else thresholds.get(r["kind"] or "")
        if not limit or not r["last_seen"]:
            continue
        if parse_iso(r["last_seen"]) < now_dt - timedelta(seconds=limit):
            a = alerts.raise_alert(
                conn,
                "device_silent",
                r["id"],
                f"device {r['id']} has sent nothing for more than {limit} s",
                severity="warning",
                details={"last_seen": r["last_seen"], "limit_s": limit},
                now=now,
            )
            if a:
                raised.append(r["id"])
    return raised


def set_silence(conn: sqlite3.Connection, device_id: str, seconds: int | None) -> dict:
    get(conn, device_id)
    conn.execute("UPDATE devices SET silence_s = ? WHERE id = ?", (seconds, device_id))
    return get(conn, device_id)


def get(conn: sqlite3.Connection, device_id: str) -> dict[str, Any]:
    r = conn.execute(f"SELECT {_COLUMNS} FROM devices WHERE id = ?", (device_id,)).fetchone()
    if r is None:
        raise NotFound(f"no device {device_id}", code="device_not_found")
    counts = {
        row[0]: row[1]
        for row in conn.execute(
            "SELECT event_type, count FROM device_event_counts WHERE device_id = ? ORDER BY event_type", (device_id,)
        )
    }
    return _row(r, counts)


def list_devices(
    conn: sqlite3.Connection, *, kind: str | None = None, online: bool | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    where, args = [], []
    if kind:
        where.append("kind = ?")
        args.append(kind)
    if online is not None:
        where.append("online = ?")
        args.append(1 if online else 0)
    w = (" WHERE " + " AND ".join(where)) if where else ""
    total = conn.execute(f"SELECT COUNT(*) FROM devices{w}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM devices{w} ORDER BY id LIMIT ? OFFSET ?", [*args, limit, offset]
    ).fetchall()
    return [_row(r) for r in rows], total


# Event ids are remembered this long: far beyond the broker's session expiry (7 days) and
# persistent_client_expiration (14 days), so any redelivery still finds its id.
PROCESSED_RETENTION_DAYS = 30
DEAD_LETTER_RETENTION_DAYS = 30


def prune(conn: sqlite3.Connection, now: str, *, limit: int = 5000) -> dict[str, int]:
    """Forget old processed-event ids and dead letters (a bounded number per call)."""
    now_dt = parse_iso(now)
    days = settings.get(conn, "device_event_retention_days") or PROCESSED_RETENTION_DAYS
    cutoff = (now_dt - timedelta(days=max(int(days), 15))).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    dl_cutoff = (
        (now_dt - timedelta(days=DEAD_LETTER_RETENTION_DAYS)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    a = conn.execute(
        "DELETE FROM device_events_processed WHERE (device_id, event_id) IN (SELECT device_id, event_id"
        " FROM device_events_processed WHERE received_at < ? LIMIT ?)",
        (cutoff, limit),
    ).rowcount
    b = conn.execute(
        "DELETE FROM dead_letters WHERE seq IN (SELECT seq FROM dead_letters WHERE received_at < ? LIMIT ?)",
        (dl_cutoff, limit),
    ).rowcount
    return {"processed": a, "dead_letters": b}

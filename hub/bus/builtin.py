"""The hub's own event handlers: scans, weights, shelf sensors and device health.

Each stores what the device said; domain code may then act on it. Scanned codes are resolved
by :func:`hub.identify.resolve.resolve`; a code the store does not know (or cannot read) is
still a scan worth keeping."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from typing import Any

from hub.bus import registry
from hub.bus.handlers import DeviceEvent
from hub.identify import barcode
from hub.identify import resolve as resolver
from hub.kernel import outbox, settings
from hub.kernel.errors import StoreHubError

log = logging.getLogger("storehub.bus")

# The store's barcode options, re-read at most every OPTIONS_TTL_S seconds (settings change rarely).
OPTIONS_TTL_S = 5.0
_OPTS: dict = {"at": 0.0, "value": None}


def _parse_options(conn: sqlite3.Connection) -> barcode.ParseOptions:
    now = time.monotonic()
    if _OPTS["value"] is None or now - _OPTS["at"] > OPTIONS_TTL_S:
        _OPTS["value"] = resolver.options_for(settings.get_all(conn))
        _OPTS["at"] = now
    return _OPTS["value"]


def resolve_code(conn: sqlite3.Connection, code: str) -> tuple[str | None, dict[str, Any]]:
    """(item id, summary) of a scanned code; never fails the scan itself.

    The summary is what ``device_scans.resolution`` keeps: kind, qty, weight_g, order_ref, location_id
    and sku, or ``{"kind": None, "error", "message"}`` when the code did not resolve."""
    try:
        res = resolver.resolve(conn, code, settings=_parse_options(conn), with_stock=False)  # reads only
    except StoreHubError as exc:  # an unknown or unreadable code is still a scan worth keeping
        return None, {"kind": None, "error": exc.code, "message": str(exc)[:200]}
    except Exception as exc:  # nor does a fault in resolving lose the scan; it is logged
        log.warning("scan %r not resolved: %s: %s", code[:80], type(exc).__name__, exc)
        return None, {"kind": None, "error": getattr(exc, "code", type(exc).__name__), "message": str(exc)[:200]}
    item = res.item or {}
    summary = {
        "kind": res.kind,
        "qty": res.qty,
        "weight_g": res.weight_g,
        "order_ref": res.order_ref,
        "location_id": (res.location or {}).get("id"),
        "sku": item.get("sku"),
    }
    return item.get("id"), summary


def on_scan(conn: sqlite3.Connection, ev: DeviceEvent) -> None:
    code = ev.payload["code"]
    item_id, resolution = resolve_code(conn, code)
    conn.execute(
        "INSERT OR IGNORE INTO device_scans(event_id, device_id, code, symbology, ts, received_at, item_id, resolution)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (
            ev.id,
            ev.device_id,
            code,
            ev.payload.get("symbology"),
            ev.ts,
            ev.received_at,
            item_id,
            json.dumps(resolution, ensure_ascii=False, default=str) if resolution else None,
        ),
    )
    outbox.record(
        conn,
        "device.scan",
        {
            "device_id": ev.device_id,
            "event_id": ev.id,
            "code": code,
            "symbology": ev.payload.get("symbology"),
            "item_id": item_id,
            "ts": ev.ts,
        },
        ts=ev.received_at,
    )


def on_weight(conn: sqlite3.Connection, ev: DeviceEvent) -> None:
    """Keep the latest stable weight per scale (motion readings only count as activity)."""
    p = ev.payload
    if not p["stable"]:
        return
    # mg: the scale's own resolution (agents before mg sent whole grams only)
    mg = p.get("mg", p["grams"] * 1000)
    tare_mg = p.get("tare_mg", None if p.get("tare_grams") is None else p["tare_grams"] * 1000)
    cur = conn.execute(
        "INSERT INTO scale_weights(device_id, grams, mg, net, tare_grams, tare_mg, event_id, ts, received_at)"
        " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(device_id) DO UPDATE SET grams=excluded.grams, mg=excluded.mg,"
        " net=excluded.net, tare_grams=excluded.tare_grams, tare_mg=excluded.tare_mg,"
        " event_id=excluded.event_id, ts=excluded.ts, received_at=excluded.received_at WHERE excluded.ts >= scale_weights.ts",
        (
            ev.device_id,
            p["grams"],
            mg,
            None if "net" not in p else int(p["net"]),
            p.get("tare_grams"),
            tare_mg,
            ev.id,
            ev.ts,
            ev.received_at,
        ),
    )
    if cur.rowcount:
        outbox.record(
            conn,
            "device.weight",
            {
                "device_id": ev.device_id,
                "event_id": ev.id,
                "grams": p["grams"],
                "mg": mg,
                "net": p.get("net"),
                "ts": ev.ts,
            },
            ts=ev.received_at,
        )


def on_state(conn: sqlite3.Connection, ev: DeviceEvent) -> None:
    registry.apply_health(
        conn, ev.device_id, {k: ev.payload[k] for k in registry.HEALTH_FIELDS if k in ev.payload}, ev.received_at
    )


def latest_weight(conn: sqlite3.Connection, device_id: str) -> dict | None:
    r = conn.execute("SELECT * FROM scale_weights WHERE device_id = ?", (device_id,)).fetchone()
    return dict(r) if r else None


def recent_scans(conn: sqlite3.Connection, *, device_id: str | None = None, limit: int = 50) -> list[dict]:
    if device_id:
        rows = conn.execute(
            "SELECT * FROM device_scans WHERE device_id = ? ORDER BY seq DESC LIMIT ?", (device_id, limit)
        )
    else:
        rows = conn.execute("SELECT * FROM device_scans ORDER BY seq DESC LIMIT ?", (limit,))
    out = []
    for r in rows:
        d = dict(r)
        d["resolution"] = json.loads(d["resolution"]) if d["resolution"] else None
        out.append(d)
    return out

"""The hub's own event handlers: scans, weights, shelf sensors and device health.

Each stores what the device said; domain code may then act on it (``hub.identify.resolve``
resolves scanned codes when that module is present)."""

from __future__ import annotations

import importlib
import json
import logging
import sqlite3
import time

from hub.kernel import outbox, settings
from hub.bus import registry
from hub.bus.handlers import DeviceEvent

log = logging.getLogger("storehub.bus")


_OPTS: dict = {"at": 0.0, "value": None}


def _scan_module():
    """``hub.identify.resolve`` if present (kept optional: the bus stores scans either way)."""
    try:
        return importlib.import_module("hub.identify.resolve")
    except ImportError:
        return None


def _parse_options(conn: sqlite3.Connection, mod):
    """The store's barcode options, re-read at most every few seconds (settings change rarely)."""
    now = time.monotonic()
    if _OPTS["value"] is None or now - _OPTS["at"] > 5.0:
        _OPTS["value"] = mod.options_for(settings.get_all(conn)) if hasattr(mod, "options_for") \
            else settings.get_all(conn)
        _OPTS["at"] = now
    return _OPTS["value"]


def resolve_code(conn: sqlite3.Connection, code: str) -> tuple[str | None, dict | None]:
    """Resolve a scanned code through ``hub.identify.resolve.resolve``; never fails the scan itself."""
    mod = _scan_module()
    fn = getattr(mod, "resolve", None) if mod else None
    if fn is None:
        return None, None
    try:
        result = fn(conn, code, settings=_parse_options(conn, mod), with_stock=False)  # reads only
    except Exception as exc:  # an unknown or unreadable code is still a scan worth keeping
        return None, {"kind": None, "error": getattr(exc, "code", type(exc).__name__), "message": str(exc)[:200]}
    item = result.get("item") if isinstance(result.get("item"), dict) else None
    location = result.get("location") if isinstance(result.get("location"), dict) else None
    summary = {"kind": result.get("kind"), "qty": result.get("qty"), "weight_g": result.get("weight_g"),
               "order_ref": result.get("order_ref"), "location_id": (location or {}).get("id"),
               "sku": (item or {}).get("sku")}
    return (item or {}).get("id"), summary


def on_scan(conn: sqlite3.Connection, ev: DeviceEvent) -> None:
    code = ev.payload["code"]
    item_id, resolution = resolve_code(conn, code)
    conn.execute(
        "INSERT OR IGNORE INTO device_scans(event_id, device_id, code, symbology, ts, received_at, item_id, resolution)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (ev.id, ev.device_id, code, ev.payload.get("symbology"), ev.ts, ev.received_at, item_id,
         json.dumps(resolution, ensure_ascii=False, default=str) if resolution else None))
    outbox.record(conn, "device.scan", {"device_id": ev.device_id, "event_id": ev.id, "code": code,
                                        "symbology": ev.payload.get("symbology"), "item_id": item_id, "ts": ev.ts},
                  ts=ev.received_at)


def on_weight(conn: sqlite3.Connection, ev: DeviceEvent) -> None:
    """Keep the latest stable weight per scale (motion readings only count as activity)."""
    p = ev.payload
    if not p["stable"]:
        return
    cur = conn.execute(
        "INSERT INTO scale_weights(device_id, grams, net, tare_grams, event_id, ts, received_at) VALUES (?,?,?,?,?,?,?) "
        "ON CONFLICT(device_id) DO UPDATE SET grams=excluded.grams, net=excluded.net, tare_grams=excluded.tare_grams,"
        " event_id=excluded.event_id, ts=excluded.ts, received_at=excluded.received_at WHERE excluded.ts >= scale_weights.ts",
        (ev.device_id, p["grams"], None if "net" not in p else int(p["net"]), p.get("tare_grams"), ev.id, ev.ts,
         ev.received_at))
    if cur.rowcount:
        outbox.record(conn, "device.weight", {"device_id": ev.device_id, "event_id": ev.id, "grams": p["grams"],
                                              "net": p.get("net"), "ts": ev.ts}, ts=ev.received_at)


def on_state(conn: sqlite3.Connection, ev: DeviceEvent) -> None:
    registry.apply_health(conn, ev.device_id, {k: ev.payload[k] for k in ("battery_pct", "paper", "error")
                                               if k in ev.payload}, ev.received_at)


def latest_weight(conn: sqlite3.Connection, device_id: str) -> dict | None:
    r = conn.execute("SELECT * FROM scale_weights WHERE device_id = ?", (device_id,)).fetchone()
    return dict(r) if r else None


def recent_scans(conn: sqlite3.Connection, *, device_id: str | None = None, limit: int = 50) -> list[dict]:
    if device_id:
        rows = conn.execute("SELECT * FROM device_scans WHERE device_id = ? ORDER BY seq DESC LIMIT ?", (device_id, limit))
    else:
        rows = conn.execute("SELECT * FROM device_scans ORDER BY seq DESC LIMIT ?", (limit,))
    out = []
    for r in rows:
        d = dict(r)
        d["resolution"] = json.loads(d["resolution"]) if d["resolution"] else None
        out.append(d)
    return out

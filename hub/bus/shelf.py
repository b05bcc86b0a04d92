"""Shelf sensors (load cells under a shelf bin): grams → units → low-stock / empty-shelf alerts.

A shelf sensor is bound to one item at one location. Each reading is turned into
units with the item's ``unit_weight_g`` (after the binding's tare), and the shelf
level — ``ok``, ``low`` (units ≤ ``low_units``) or ``empty`` — raises or clears
the matching alert when it changes. Readings are not stock movements: a shelf
holds what is on display, the ledger what the store owns."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.bus import alerts
from hub.bus.handlers import DeviceEvent
from hub.inventory import catalog, locations
from hub.kernel import audit, outbox
from hub.kernel.errors import NotFound, Unprocessable, ValidationError
from hub.protocol.contract import DEVICE_ID_RE
from hub.protocol.timeutil import now_iso


def units_for(grams: float, unit_weight_g: int, tare_grams: int = 0) -> int:
    """Whole units on the shelf, rounding to the nearest unit; never negative."""
    if unit_weight_g <= 0:
        raise ValueError("unit weight must be positive")
    net = grams - tare_grams
    if net <= 0:
        return 0
    return int((net + unit_weight_g / 2) // unit_weight_g)


def level_for(units: int, low_units: int) -> str:
    if units <= 0:
        return "empty"
    if units <= low_units:
        return "low"
    return "ok"


def bind(
    conn: sqlite3.Connection,
    device_id: str,
    *,
    item_id: str,
    location_id: str,
    low_units: int = 2,
    tare_grams: int = 0,
    actor: str,
    device: str | None = None,
) -> dict[str, Any]:
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise ValidationError("bad device id", code="bad_device_id")
    item = catalog.get_item(conn, item_id)
    if not item.get("unit_weight_g"):
        raise Unprocessable(
            f"item {item['sku']} has no unit_weight_g; a shelf sensor cannot count it", code="no_unit_weight"
        )
    locations.get(conn, location_id)
    now = now_iso()
    conn.execute("INSERT OR IGNORE INTO devices(id, kind, first_seen) VALUES (?, 'shelf', ?)", (device_id, now))
    conn.execute(
        "INSERT INTO shelf_bindings(device_id, item_id, location_id, low_units, tare_grams, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?) ON CONFLICT(device_id) DO UPDATE SET item_id=excluded.item_id,"
        " location_id=excluded.location_id, low_units=excluded.low_units, tare_grams=excluded.tare_grams,"
        " updated_at=excluded.updated_at",
        (device_id, item_id, location_id, low_units, tare_grams, now, now),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="shelf.bind",
        target=device_id,
        details={"item_id": item_id, "location_id": location_id, "low_units": low_units, "tare_grams": tare_grams},
    )
    # Re-evaluate the last reading against the new binding.
    last = conn.execute("SELECT grams, event_id, ts FROM shelf_readings WHERE device_id = ?", (device_id,)).fetchone()
    if last is not None:
        _apply(conn, device_id, float(last["grams"]), last["event_id"], last["ts"], now, force=True)
    return get_binding(conn, device_id)


def unbind(conn: sqlite3.Connection, device_id: str, *, actor: str, device: str | None = None) -> None:
    cur = conn.execute("DELETE FROM shelf_bindings WHERE device_id = ?", (device_id,))
    if cur.rowcount == 0:
        raise NotFound(f"shelf sensor {device_id} is not bound")
    now = now_iso()
    alerts.clear(conn, "low_stock", device_id, now=now)
    alerts.clear(conn, "empty_shelf", device_id, now=now)
    conn.execute(
        "UPDATE shelf_readings SET units = NULL, item_id = NULL, location_id = NULL, level = 'unbound' "
        "WHERE device_id = ?",
        (device_id,),
    )
    audit.log(conn, actor=actor, device=device, action="shelf.unbind", target=device_id)


def get_binding(conn: sqlite3.Connection, device_id: str) -> dict[str, Any]:
    r = conn.execute(
        "SELECT b.*, r.grams, r.units, r.level, r.ts AS reading_ts, i.sku, i.name_en, i.name_zh, i.unit_weight_g,"
        " l.code AS location_code FROM shelf_bindings b JOIN items i ON i.id = b.item_id"
        " JOIN locations l ON l.id = b.location_id LEFT JOIN shelf_readings r ON r.device_id = b.device_id"
        " WHERE b.device_id = ?",
        (device_id,),
    ).fetchone()
    if r is None:
        raise NotFound(f"shelf sensor {device_id} is not bound")
    return dict(r)


def list_shelves(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT r.device_id, r.grams, r.units, r.level, r.ts, b.item_id, b.location_id, b.low_units, i.sku,"
        " i.name_en, i.name_zh, l.code AS location_code FROM shelf_readings r"
        " LEFT JOIN shelf_bindings b ON b.device_id = r.device_id LEFT JOIN items i ON i.id = b.item_id"
        " LEFT JOIN locations l ON l.id = b.location_id"
        " UNION ALL SELECT b.device_id, NULL, NULL, NULL, NULL, b.item_id, b.location_id, b.low_units, i.sku,"
        " i.name_en, i.name_zh, l.code FROM shelf_bindings b JOIN items i ON i.id = b.item_id"
        " JOIN locations l ON l.id = b.location_id"
        " WHERE b.device_id NOT IN (SELECT device_id FROM shelf_readings) ORDER BY 1"
    ).fetchall()
    return [dict(r) for r in rows]


def _apply(
    conn: sqlite3.Connection, device_id: str, grams: float, event_id: str, ts: str, now: str, *, force: bool = False
) -> str:
    prev = conn.execute("SELECT level, units, ts FROM shelf_readings WHERE device_id = ?", (device_id,)).fetchone()
    if prev is not None and not force and ts < prev["ts"]:
        return prev["level"]  # an older reading arriving late never overrides a newer one
    b = conn.execute(
        "SELECT b.item_id, b.location_id, b.low_units, b.tare_grams, i.unit_weight_g, i.sku "
        "FROM shelf_bindings b JOIN items i ON i.id = b.item_id WHERE b.device_id = ?",
        (device_id,),
    ).fetchone()
    if b is None or not b["unit_weight_g"]:
        units, level, item_id, location_id = None, "unbound", None, None
    else:
        units = units_for(grams, b["unit_weight_g"], b["tare_grams"])
        level = level_for(units, b["low_units"])
        item_id, location_id = b["item_id"], b["location_id"]
    conn.execute(
        "INSERT INTO shelf_readings(device_id, grams, units, item_id, location_id, level, event_id, ts, received_at)"
        " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(device_id) DO UPDATE SET grams=excluded.grams, units=excluded.units,"
        " item_id=excluded.item_id, location_id=excluded.location_id, level=excluded.level,"
        " event_id=excluded.event_id, ts=excluded.ts, received_at=excluded.received_at",
        (device_id, grams, units, item_id, location_id, level, event_id, ts, now),
    )
    changed = prev is None or prev["level"] != level or prev["units"] != units
    if changed:
        outbox.record(
            conn,
            "shelf.level",
            {
                "device_id": device_id,
                "item_id": item_id,
                "location_id": location_id,
                "grams": grams,
                "units": units,
                "level": level,
                "ts": ts,
            },
            ts=now,
        )
    if force or prev is None or prev["level"] != level:
        details = {"item_id": item_id, "location_id": location_id, "units": units}
        if level == "empty":
            alerts.clear(conn, "low_stock", device_id, now=now)
            alerts.raise_alert(
                conn,
                "empty_shelf",
                device_id,
                f"shelf {device_id} ({b['sku']}) is empty",
                severity="critical",
                details=details,
                now=now,
            )
        elif level == "low":
            alerts.clear(conn, "empty_shelf", device_id, now=now)
            alerts.raise_alert(
                conn,
                "low_stock",
                device_id,
                f"shelf {device_id} ({b['sku']}) is low: {units} left",
                severity="warning",
                details=details,
                now=now,
            )
        else:
            alerts.clear(conn, "empty_shelf", device_id, now=now)
            alerts.clear(conn, "low_stock", device_id, now=now)
    return level


def on_shelf(conn: sqlite3.Connection, ev: DeviceEvent) -> None:
    _apply(conn, ev.device_id, float(ev.payload["grams"]), ev.id, ev.ts, ev.received_at)

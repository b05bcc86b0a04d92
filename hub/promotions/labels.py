"""Promo shelf labels (issue 14): when a promotion starts, one ``shelf_label`` per SKU in its scope goes to the
store's printer through the printer agent (device command ``print`` → MQTT → python-escpos).

A label carries the item's names, its promotional price (per-unit types: ``percent_off`` at round-half-up, and
``fixed_price`` never above the shelf price, per kg on a weighed item), the promotion's name in the store's
language with the price before it and the last day it runs (store time), the SKU and the item's GTIN as the
barcode. Grouping types (``buy_x_get_y``, ``bundle_price``, ``nth_item_off``) keep the shelf price and say the
deal in the promotion's name. Only item-phase promotions with a positive scope (SKUs, categories, brands or bundle
groups) get labels: an order-phase or whole-basket promotion has no shelf. Items without a GTIN are skipped (the
label's barcode is the GTIN), as are inactive ones.

Once per promotion version per store: the bus process checks once a minute (``hub.bus.runner``); each label's request id is derived from (promotion id, downlink version,
SKU), and ``hub.bus.commands.send_command`` ignores a request id it already holds, so however often ``queue_due``
runs (the bus process calls it with each heartbeat) a version is printed once; a new version from head office
prints again. The manual "print labels" (``print_promotion(..., manual=True)``) always prints anew.

Pure domain: functions over a sqlite3 connection, called in the caller's write transaction."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.bus import commands
from hub.kernel import settings
from hub.kernel.errors import NotFound, Unprocessable
from hub.promotions import engine
from hub.promotions.validation import parse_promotion
from hub.protocol.errors import StoreHubError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import utcnow

PRINTER_SETTING = "checkout.printer_device"  # the store's printer (the tills' default)
ACTOR = "system:promo-labels"
MAX_LABELS = 500  # per promotion and run: a category-wide promotion on a big store is printed in one go up to this

WORDS = {
    "en": {"was": "was {price}", "until": "until {day}"},
    "zh-CN": {"was": "原价 {price}", "until": "至 {day}"},
}


def _money(minor: int, currency: str, exp: int) -> str:
    if exp == 0:
        return f"{currency} {minor}"
    return f"{currency} {minor // 10**exp}.{minor % 10**exp:0{exp}d}"


def request_id(promotion_id: str, version: int | None, sku: str) -> str:
    """The label's print request id: the same for the same promotion version and SKU (idempotent printing)."""
    digest = hashlib.sha256(json.dumps([promotion_id, version, sku]).encode()).hexdigest()[:40]
    return f"promo-label-{digest}"


def _delivered(conn: sqlite3.Connection) -> list[tuple[engine.Promotion, int | None]]:
    out = []
    for _id, body, version in conn.execute("SELECT id, body, downlink_version FROM central_promotions ORDER BY id"):
        try:
            out.append((parse_promotion(json.loads(body)), version))
        except (StoreHubError, ValueError):
            continue  # what does not validate is listed under "skipped" by the active promotions
    return out


def _items_in_scope(conn: sqlite3.Connection, p: engine.Promotion) -> list[dict[str, Any]]:
    if p.phase != "item" or p.whole_basket:
        return []
    group_skus = set().union(*(skus for skus, _q in p.groups)) if p.groups else set()
    rows = conn.execute(
        "SELECT id, sku, name_en, name_zh, category, brand, price_minor, unit FROM items WHERE active = 1 ORDER BY sku"
    ).fetchall()
    out = []
    for r in rows:
        sku = r["sku"]
        if sku in p.exclude_skus or (p.groups and sku not in group_skus):
            continue
        if (p.skus or p.categories or p.brands) and not (
            sku in p.skus or (r["category"] or "") in p.categories or (r["brand"] or "") in p.brands
        ):
            continue
        if r["unit"] == "kg" and p.type not in engine.WEIGHABLE:
            continue
        out.append(dict(r))
    return out


def _gtin(conn: sqlite3.Connection, item_id: str) -> str | None:
    row = conn.execute("SELECT gtin FROM item_gtins WHERE item_id = ? ORDER BY gtin LIMIT 1", (item_id,)).fetchone()
    if row is None:
        return None
    g = row[0]
    # stored as GTIN-14: print the shortest form the symbology takes (EAN-13 for a leading zero)
    return g[1:] if len(g) == 14 and g.startswith("0") else g


def promo_price(p: engine.Promotion, price_minor: int) -> int:
    """One unit's (one kg's) price under a per-unit promotion; the shelf price for the grouping types."""
    if p.type == "percent_off" and p.percent is not None:
        return price_minor - engine.percent_of(price_minor, p.percent)
    if p.type == "fixed_price" and p.price_minor is not None:
        return min(price_minor, p.price_minor)
    return price_minor


def label(conn: sqlite3.Connection, p: engine.Promotion, item: dict[str, Any], gtin: str) -> dict[str, Any]:
    """The ``shelf_label`` document (devices/printer/documents.py) for one item under ``p``."""
    lang = settings.get(conn, "language")
    lang = lang if lang in WORDS else "en"
    currency = settings.get(conn, "currency")
    exp = settings.get(conn, "currency_exponent")
    zone = ZoneInfo(settings.get(conn, "timezone"))
    last_day = (p.end - timedelta(microseconds=1)).astimezone(zone).date().isoformat()
    name = p.name.get(lang) or p.name.get("en") or p.name.get("zh-CN") or p.id
    new = promo_price(p, item["price_minor"])
    parts = [name]
    if new != item["price_minor"]:
        parts.append(WORDS[lang]["was"].format(price=_money(item["price_minor"], currency, exp)))
    parts.append(WORDS[lang]["until"].format(day=last_day))
    doc: dict[str, Any] = {
        "type": "shelf_label",
        "lang": lang,
        "name": (item["name_en"] or item["name_zh"] or item["sku"])[:200],
        "sku": item["sku"],
        "price_minor": new,
        "currency": currency,
        "unit": "kg" if item["unit"] == "kg" else "each",
        "gtin": gtin,
        "promo": " · ".join(parts)[:200],
    }
    if item["name_zh"]:
        doc["name_zh"] = item["name_zh"][:200]
    return doc


def _send(
    conn: sqlite3.Connection,
    p: engine.Promotion,
    version: int | None,
    printer: str,
    *,
    actor: str,
    device: str | None,
    manual: bool,
) -> dict[str, Any]:
    jobs, skipped = [], []
    for item in _items_in_scope(conn, p)[:MAX_LABELS]:
        gtin = _gtin(conn, item["id"])
        if gtin is None:
            skipped.append({"sku": item["sku"], "reason": "no_gtin"})
            continue
        rid = new_id() if manual else request_id(p.id, version, item["sku"])
        fresh = conn.execute("SELECT 1 FROM device_commands WHERE request_id = ?", (rid,)).fetchone() is None
        commands.send_command(
            conn, printer, "print", {"document": label(conn, p, item, gtin)}, actor=actor, device=device, request_id=rid
        )
        jobs.append({"request_id": rid, "sku": item["sku"], "new": fresh})
    return {"promotion": p.id, "version": version, "device_id": printer, "jobs": jobs, "skipped": skipped}


def _printer(conn: sqlite3.Connection) -> str | None:
    return settings.get(conn, PRINTER_SETTING) or None


def due(conn: sqlite3.Connection, now: datetime | None = None) -> list[tuple[str, int | None]]:
    """(id, downlink version) of the delivered promotions in force at ``now`` (started, not ended)."""
    now = now or utcnow()
    return [(p.id, version) for p, version in _delivered(conn) if p.start <= now < p.end]


def queue_due(
    conn: sqlite3.Connection, now: datetime | None = None, *, done: set[tuple[str, int | None]] | None = None
) -> list[dict[str, Any]]:
    """Labels for every delivered promotion that has started and not ended (each version once); returns what was
    newly queued. Nothing without a printer. ``done``: versions the caller already saw through (skipped, and
    added to) — a cache only: the request ids alone make printing idempotent."""
    printer = _printer(conn)
    if printer is None:
        return []
    now = now or utcnow()
    out = []
    for p, version in _delivered(conn):
        if not (p.start <= now < p.end) or (done is not None and (p.id, version) in done):
            continue
        sent = _send(conn, p, version, printer, actor=ACTOR, device=None, manual=False)
        sent["jobs"] = [j for j in sent["jobs"] if j["new"]]
        if done is not None:
            done.add((p.id, version))
        if sent["jobs"]:
            out.append(sent)
    return out


def print_promotion(
    conn: sqlite3.Connection,
    promotion_id: str,
    *,
    actor: str,
    device: str | None = None,
    printer: str | None = None,
) -> dict[str, Any]:
    """The manual "print labels": every label of one delivered promotion, printed again."""
    row = conn.execute("SELECT body, downlink_version FROM central_promotions WHERE id = ?", (promotion_id,)).fetchone()
    if row is None:
        raise NotFound(f"no promotion {promotion_id}", code="promotion_not_found")
    p = parse_promotion(json.loads(row[0]))
    printer = printer or _printer(conn)
    if printer is None:
        raise Unprocessable(f"no printer: set {PRINTER_SETTING} to print labels", code="no_label_printer")
    if p.end <= utcnow():
        raise Unprocessable(f"promotion {promotion_id} has ended", code="promotion_ended")
    out = _send(conn, p, row[1], printer, actor=actor, device=device, manual=True)
    for j in out["jobs"]:
        j.pop("new", None)
    return out

"""What a scanned code means in this store.

``resolve(conn, code, settings=...)`` reads the code with :mod:`hub.identify.barcode` and
looks it up with indexed queries only: an item (by GTIN; for a variable-measure
label by the label GTIN, then its base GTIN, then its PLU) with the quantity the
scan stands for, a location label, a staff badge or an order code. Unknown but
well-formed codes raise ``NotFound(code="unknown_code")``; unreadable codes raise
``BarcodeError`` — a scan never resolves to an item it does not name.

Staff report codes nobody knows with :func:`report_unknown`."""

from __future__ import annotations

import sqlite3
from decimal import Decimal, ROUND_HALF_UP
from typing import Any

from hub.kernel import audit, outbox
from hub.identify import barcode
from hub.inventory import catalog, ledger, locations
from hub.kernel.errors import Conflict, NotFound, Unprocessable, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso


def options_for(settings: dict[str, Any] | barcode.ParseOptions) -> barcode.ParseOptions:
    if isinstance(settings, barcode.ParseOptions):
        return settings
    return barcode.ParseOptions.from_settings(settings)


def resolve(conn: sqlite3.Connection, code: str, *, settings: dict[str, Any] | barcode.ParseOptions,
            with_stock: bool = True) -> dict[str, Any]:
    opts = options_for(settings)
    parsed = barcode.parse(code, opts)
    out: dict[str, Any] = {"kind": None, "code": code, "parsed": parsed.to_dict(), "item": None, "location": None,
                           "order_ref": None, "qty": None, "weight_g": None}
    if parsed.kind == "location":
        loc = locations.get_by_code(conn, parsed.own_code)
        if loc is None:
            raise _unknown(code, parsed, f"no location {parsed.own_code} in this store")
        out.update(kind="location", location=loc)
        return out
    if parsed.kind == "badge":
        out["kind"] = "badge"
        return out
    if parsed.kind == "order":
        out.update(kind="order", order_ref=parsed.own_code)
        return out
    if parsed.gtin is None:
        raise _unknown(code, parsed, "the code names no trade item (no GTIN)")
    item = find_item(conn, parsed)
    if item is None:
        raise _unknown(code, parsed, f"GTIN {parsed.gtin} is not in this store's catalog")
    qty, weight = quantity_for(item, parsed, store_currency=opts.currency)
    if with_stock:
        item["stock"] = ledger.stock_for_item(conn, item["id"])
        item["totals"] = ledger.on_hand_total(conn, item["id"])
    out.update(kind="item", item=item, qty=qty, weight_g=weight)
    return out


def _unknown(code: str, parsed: barcode.ParsedCode, message: str) -> NotFound:
    return NotFound(message, code="unknown_code", details={"code": code, "parsed": parsed.to_dict()})


def find_item(conn: sqlite3.Connection, parsed: barcode.ParsedCode) -> dict[str, Any] | None:
    """The catalog item a parsed code names, or None. Each step is one indexed lookup."""
    item = catalog.find_by_gtin(conn, parsed.gtin) if parsed.gtin else None
    if item is not None or not parsed.variable_measure:
        return item
    if parsed.base_gtin:
        item = catalog.find_by_gtin(conn, parsed.base_gtin)
        if item is not None:
            return item
    if parsed.item_ref:
        return _find_by_plu(conn, parsed.item_ref)
    return None


def _find_by_plu(conn: sqlite3.Connection, ref: str) -> dict[str, Any] | None:
    # A label's item reference is fixed width ("04131"); the catalog's PLU may be unpadded ("4131").
    candidates = list(dict.fromkeys([ref, ref.lstrip("0") or "0"]))
    ids: list[str] = []
    for plu in candidates:
        ids += [r[0] for r in conn.execute("SELECT id FROM items WHERE plu = ? AND active = 1 LIMIT 2", (plu,))]
    ids = list(dict.fromkeys(ids))
    if len(ids) > 1:
        raise Conflict(f"PLU {ref} belongs to more than one active item; fix the catalog", code="ambiguous_plu",
                       details={"item_ids": ids})
    return catalog.get_item(conn, ids[0]) if ids else None


def quantity_for(item: dict[str, Any], parsed: barcode.ParsedCode, *, store_currency: str) -> tuple[int | None, int | None]:
    """(qty, weight_g) a scan stands for: pieces for ``each`` items, grams for ``kg`` items.

    A kg item's grams come from the label's weight, else from its price divided by the item's
    price per kg (the same price the scale used); without either the item must be weighed (None)."""
    weight = parsed.weight_g
    if item["unit"] == "kg":
        if weight is None and parsed.price_minor is not None and item["price_minor"] > 0 \
                and (parsed.currency or store_currency) == store_currency:
            grams = Decimal(parsed.price_minor) * 1000 / Decimal(item["price_minor"])
            weight = int(grams.to_integral_value(rounding=ROUND_HALF_UP))
        return weight, weight
    return (parsed.count if parsed.count is not None else 1), weight


# ---------------------------------------------------------------- unknown-code reports
def report_unknown(conn: sqlite3.Connection, *, code: str, note: str = "", location_id: str | None = None,
                   actor: str, device: str | None = None,
                   settings: dict[str, Any] | barcode.ParseOptions) -> dict[str, Any]:
    """Record that staff scanned ``code`` and the hub did not know it (audit-logged, synced)."""
    if not isinstance(code, str) or not code.strip():
        raise ValidationError("code is required", code="empty_code")
    if len(code) > barcode.MAX_LENGTH:
        raise ValidationError(f"code longer than {barcode.MAX_LENGTH} characters", code="too_long")
    kind = gtin = parse_error = None
    try:
        parsed = barcode.parse(code, options_for(settings))
        kind, gtin = parsed.kind, parsed.gtin
    except barcode.BarcodeError as exc:
        parse_error = exc.code
    if location_id is not None:
        try:
            locations.get(conn, location_id)
        except NotFound:
            raise Unprocessable(f"no location {location_id}", code="location_not_found") from None
    row = {"id": new_id(), "code": code, "kind": kind, "gtin": gtin, "parse_error": parse_error,
           "note": (note or "").strip(), "location_id": location_id, "reported_by": actor, "device": device,
           "ts": now_iso()}
    conn.execute(
        "INSERT INTO unknown_codes(id, code, kind, gtin, parse_error, note, location_id, reported_by, device, ts) "
        "VALUES (:id, :code, :kind, :gtin, :parse_error, :note, :location_id, :reported_by, :device, :ts)", row)
    outbox.record(conn, "unknown_code.report", row)
    audit.log(conn, actor=actor, device=device, action="unknown_code.report", target=row["id"],
              details={"code": code, "gtin": gtin})
    return row


def list_unknown(conn: sqlite3.Connection, *, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    total = conn.execute("SELECT COUNT(*) FROM unknown_codes").fetchone()[0]
    rows = conn.execute("SELECT * FROM unknown_codes ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?",
                        (limit, offset)).fetchall()
    return [dict(r) for r in rows], total

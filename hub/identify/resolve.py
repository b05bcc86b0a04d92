"""What a scanned code means in this store — the one place that answers it.

``resolve(conn, code, settings=...)`` reads the code with :mod:`hub.identify.barcode` and
looks it up with indexed queries only: an item (by GTIN; for a variable-measure
label by the label GTIN, then its base GTIN, then its PLU) with the quantity the
scan stands for, a location label, a staff badge or an order code. The answer is a
:class:`Resolution`; its ``to_dict()`` is the JSON of ``GET /api/v1/scan/resolve``.

Unknown but well-formed codes raise ``NotFound(code="unknown_code")``; unreadable codes raise
``BarcodeError`` — a scan never resolves to an item it does not name. A PLU shared by two
active items raises ``Conflict(code="ambiguous_plu")``.

Callers that also take typed input (a stock count) may accept, for a code that is not a
readable barcode, an exact SKU (``accept_sku``) and an item-level EPC in hex from an RFID sled
in keyboard mode (``accept_epc``).

Staff report codes nobody knows with :func:`report_unknown`."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hub.identify import barcode
from hub.inventory import catalog, ledger, locations
from hub.kernel import audit, outbox
from hub.kernel.errors import Conflict, NotFound, Unprocessable, ValidationError
from hub.members import identity as members
from hub.protocol import epc as epcs
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

KINDS = ("item", "location", "order", "badge", "epc", "member")
# Hex lengths of the item EPCs a sled types: SGTIN-96, SGTIN-198 (50 digits, or 52 as whole 16-bit words).
EPC_HEX_LENGTHS = (24, 50, 52)


@dataclass(frozen=True)
class Resolution:
    """What one scanned (or typed) code means here.

    ``kind`` is ``item`` (a barcode or an exact SKU naming a catalog item), ``epc`` (an RFID tag naming
    one unit of an item), ``location``, ``order`` or ``badge``. For items, ``qty`` is the quantity the
    scan stands for in the item's base unit (pieces, or grams for ``kg`` items; None when a kg item
    must still be weighed), ``weight_g`` the weight the label states (or derives from its price) and
    ``price_minor`` the price printed on the label. ``parsed`` is None when the code was read as a SKU
    or an EPC rather than a barcode."""

    kind: str
    code: str
    parsed: barcode.ParsedCode | None = None
    item: dict[str, Any] | None = None
    qty: int | None = None
    weight_g: int | None = None
    price_minor: int | None = None
    location: dict[str, Any] | None = None
    order_ref: str | None = None  # the reference of an order code SHO-<ref> (what a handover scans)
    badge: str | None = None  # the badge id of a staff badge SHB-<id>
    epc: str | None = None  # the EPC in hex, for kind ``epc``
    member: dict[str, Any] | None = None  # the till view of a member card SHM-… or dynamic member code SHD-…

    @property
    def names_item(self) -> bool:
        return self.kind in ("item", "epc")

    @property
    def count(self) -> int | None:
        """The piece count the label states (GS1 AI 30/37 or a count label), None when it states none."""
        return self.parsed.count if self.parsed is not None else None

    @property
    def own_code(self) -> str | None:
        """The location code, order reference or badge id of one of the store's own codes."""
        if self.kind == "location":
            return self.location["code"] if self.location else None
        return self.order_ref if self.kind == "order" else self.badge

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``GET /api/v1/scan/resolve`` returns (RESOLVE_SCHEMA)."""
        return {
            "kind": self.kind,
            "code": self.code,
            "parsed": self.parsed.to_dict() if self.parsed is not None else None,
            "item": self.item,
            "location": self.location,
            "order_ref": self.order_ref,
            "qty": self.qty,
            "weight_g": self.weight_g,
            **({"member": self.member} if self.member else {}),
        }


def options_for(settings: dict[str, Any] | barcode.ParseOptions) -> barcode.ParseOptions:
    if isinstance(settings, barcode.ParseOptions):
        return settings
    return barcode.ParseOptions.from_settings(settings)


def resolve(
    conn: sqlite3.Connection,
    code: str,
    *,
    settings: dict[str, Any] | barcode.ParseOptions,
    with_stock: bool = True,
    accept_sku: bool = False,
    accept_epc: bool = False,
) -> Resolution:
    """What ``code`` means in this store (see the module docstring). ``with_stock`` adds the item's
    stock per location and totals; ``accept_sku``/``accept_epc`` let a code that is not a readable
    barcode name an item by its exact SKU or its EPC (else the barcode error is raised)."""
    opts = options_for(settings)
    member = members.recognise(conn, code)  # a member card or dynamic code (checked, not used up)
    if member is not None:
        return Resolution("member", code, member=member)
    try:
        parsed = barcode.parse(code, opts)
    except barcode.BarcodeError:
        typed = _typed_item(conn, code, accept_sku=accept_sku, accept_epc=accept_epc)
        if typed is None:
            raise
        return _with_stock(conn, typed) if with_stock else typed
    if parsed.kind == "location" and parsed.own_code is not None:
        loc = locations.get_by_code(conn, parsed.own_code)
        if loc is None:
            raise _unknown(code, parsed, f"no location {parsed.own_code} in this store")
        return Resolution("location", code, parsed, location=loc)
    if parsed.kind == "badge":
        return Resolution("badge", code, parsed, badge=parsed.own_code)
    if parsed.kind == "order":
        return Resolution("order", code, parsed, order_ref=parsed.own_code)
    if parsed.gtin is None:
        raise _unknown(code, parsed, "the code names no trade item (no GTIN)")
    item = find_item(conn, parsed)
    if item is None:
        raise _unknown(code, parsed, f"GTIN {parsed.gtin} is not in this store's catalog")
    qty, weight = quantity_for(item, parsed, store_currency=opts.currency)
    res = Resolution("item", code, parsed, item=item, qty=qty, weight_g=weight, price_minor=parsed.price_minor)
    return _with_stock(conn, res) if with_stock else res


def _with_stock(conn: sqlite3.Connection, res: Resolution) -> Resolution:
    assert res.item is not None  # called for item resolutions only
    res.item["stock"] = ledger.stock_for_item(conn, res.item["id"])
    res.item["totals"] = ledger.on_hand_total(conn, res.item["id"])
    return res


def _typed_item(conn: sqlite3.Connection, code: str, *, accept_sku: bool, accept_epc: bool) -> Resolution | None:
    """An item named by its exact SKU, or one unit of an item named by an item-level EPC (SGTIN) in hex."""
    text = code.strip() if isinstance(code, str) else ""
    if not text:
        return None
    if accept_sku:
        item = catalog.get_item_by_sku(conn, text)
        if item is not None:
            return Resolution("item", code, item=item, qty=_one_unit(item))
    if accept_epc and len(text) in EPC_HEX_LENGTHS:
        try:
            tag = epcs.decode(text)
        except epcs.EpcError:
            return None
        if tag.gtin and tag.is_item:
            item = catalog.find_by_gtin(conn, tag.gtin)
            if item is not None:
                return Resolution("epc", code, item=item, qty=_one_unit(item), epc=tag.hex)
    return None


def _one_unit(item: dict[str, Any]) -> int | None:
    """One piece of an ``each`` item; a ``kg`` item named without a weight still has to be weighed."""
    return None if item["unit"] == "kg" else 1


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
        raise Conflict(
            f"PLU {ref} belongs to more than one active item; fix the catalog",
            code="ambiguous_plu",
            details={"item_ids": ids},
        )
    return catalog.get_item(conn, ids[0]) if ids else None


def quantity_for(
    item: dict[str, Any], parsed: barcode.ParsedCode, *, store_currency: str
) -> tuple[int | None, int | None]:
    """(qty, weight_g) a scan stands for: pieces for ``each`` items, grams for ``kg`` items.

    A kg item's grams come from the label's weight, else from its price divided by the item's
    price per kg (the same price the scale used); without either the item must be weighed (None)."""
    weight = parsed.weight_g
    if item["unit"] == "kg":
        if (
            weight is None
            and parsed.price_minor is not None
            and item["price_minor"] > 0
            and (parsed.currency or store_currency) == store_currency
        ):
            grams = Decimal(parsed.price_minor) * 1000 / Decimal(item["price_minor"])
            weight = int(grams.to_integral_value(rounding=ROUND_HALF_UP))
        return weight, weight
    return (parsed.count if parsed.count is not None else 1), weight


# ---------------------------------------------------------------- unknown-code reports
def report_unknown(
    conn: sqlite3.Connection,
    *,
    code: str,
    note: str = "",
    location_id: str | None = None,
    actor: str,
    device: str | None = None,
    settings: dict[str, Any] | barcode.ParseOptions,
) -> dict[str, Any]:
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
    row = {
        "id": new_id(),
        "code": code,
        "kind": kind,
        "gtin": gtin,
        "parse_error": parse_error,
        "note": (note or "").strip(),
        "location_id": location_id,
        "reported_by": actor,
        "device": device,
        "ts": now_iso(),
    }
    conn.execute(
        "INSERT INTO unknown_codes(id, code, kind, gtin, parse_error, note, location_id, reported_by, device, ts) "
        "VALUES (:id, :code, :kind, :gtin, :parse_error, :note, :location_id, :reported_by, :device, :ts)",
        row,
    )
    outbox.record(conn, "unknown_code.report", row)
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="unknown_code.report",
        target=row["id"],
        details={"code": code, "gtin": gtin},
    )
    return row


def list_unknown(conn: sqlite3.Connection, *, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    total = conn.execute("SELECT COUNT(*) FROM unknown_codes").fetchone()[0]
    rows = conn.execute(
        "SELECT * FROM unknown_codes ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?", (limit, offset)
    ).fetchall()
    return [dict(r) for r in rows], total

"""Print documents (the ``document`` of ``cmd/print``) and their layout as printer-neutral blocks.

Document types (``type``): ``receipt``, ``shelf_label``, ``pick_label``, ``pack_label``, ``text``.
:func:`validate` checks a document against its schema (clear errors); :func:`layout` turns it into a list of
:class:`Block` that :mod:`devices.printer.render` turns into ESC/POS bytes. Money is in integer minor units
with an ISO 4217 currency; weights in grams.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jsonschema import Draft202012Validator

_STR = {"type": "string", "maxLength": 200}
_MINOR = {"type": "integer", "minimum": -10**12, "maximum": 10**12}
_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}
_LINES = {"type": "array", "maxItems": 50, "items": _STR}
_ITEMS = {"type": "array", "maxItems": 200, "items": {
    "type": "object", "required": ["name", "qty"],
    "properties": {"sku": _STR, "name": _STR, "qty": {"type": ["integer", "number"]}, "bin": _STR,
                   "unit": {"enum": ["each", "kg", "g"]}}}}
_BARCODE = {"type": "object", "required": ["symbology", "value"], "properties": {
    "symbology": {"enum": ["ean13", "ean8", "code128"]}, "value": {"type": "string", "minLength": 1, "maxLength": 80}}}
_QR = {"type": "string", "minLength": 1, "maxLength": 700}
_COMMON = {"type": {"type": "string"}, "copies": {"type": "integer", "minimum": 1, "maximum": 20}}

SCHEMAS = {
    "receipt": {"required": ["lines", "total_minor", "currency"], "properties": {
        "store_name": _STR, "header": _LINES, "order_id": _STR, "cashier": _STR, "ts": _STR,
        "lines": {"type": "array", "minItems": 1, "maxItems": 300, "items": {
            "type": "object", "required": ["name", "amount_minor"],
            "properties": {"name": _STR, "qty": {"type": ["integer", "number"]}, "amount_minor": _MINOR}}},
        "total_minor": _MINOR, "paid_minor": _MINOR, "change_minor": _MINOR, "currency": _CURRENCY,
        "footer": _LINES, "barcode": _BARCODE, "qr": _QR, "open_drawer": {"type": "boolean"}}},
    "shelf_label": {"required": ["name", "price_minor", "currency", "gtin"], "properties": {
        "name": _STR, "name_zh": _STR, "sku": _STR, "price_minor": _MINOR, "currency": _CURRENCY,
        "unit": {"enum": ["each", "kg"]}, "gtin": {"type": "string", "pattern": r"^(\d{8}|\d{12,14})$"},
        "promo": _STR, "location": _STR}},
    "pick_label": {"required": ["order_id", "items"], "properties": {
        "order_id": _STR, "pick_id": _STR, "picker": _STR, "items": _ITEMS, "qr": _QR, "barcode": _BARCODE}},
    "pack_label": {"required": ["order_id"], "properties": {
        "order_id": _STR, "order_code": _STR, "customer": _STR, "ship_to": _LINES, "parcel": _STR,
        "items": _ITEMS, "weight_g": {"type": "integer", "minimum": 0}, "barcode": _BARCODE, "qr": _QR,
        "note": _STR}},
    "text": {"required": ["lines"], "properties": {"lines": {**_LINES, "minItems": 1}, "cut": {"type": "boolean"}}},
}

_VALIDATORS = {
    name: Draft202012Validator({"type": "object", "required": ["type", *s["required"]],
                                "properties": {**_COMMON, **s["properties"]}, "additionalProperties": False})
    for name, s in SCHEMAS.items()
}


class DocumentError(ValueError):
    pass


def validate(doc) -> dict:
    if not isinstance(doc, dict):
        raise DocumentError("document must be a JSON object")
    kind = doc.get("type")
    if kind not in _VALIDATORS:
        raise DocumentError(f"unknown document type {kind!r}; known: {sorted(_VALIDATORS)}")
    err = next(iter(sorted(_VALIDATORS[kind].iter_errors(doc), key=lambda e: list(e.absolute_path))), None)
    if err is not None:
        path = "/".join(str(p) for p in err.absolute_path) or "(document)"
        raise DocumentError(f"{kind}: {path}: {err.message}")
    for bc in [doc.get("barcode")] if doc.get("barcode") else []:
        check_barcode(bc["symbology"], bc["value"])
    if kind == "shelf_label":
        check_barcode("ean13" if len(doc["gtin"]) != 8 else "ean8", _gtin_symbol(doc["gtin"]))
    return doc


def gtin_check_digit(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def check_barcode(symbology: str, value: str) -> None:
    if symbology in ("ean13", "ean8"):
        n = 13 if symbology == "ean13" else 8
        if not value.isdigit() or len(value) != n:
            raise DocumentError(f"{symbology} value must be {n} digits, got {value!r}")
        if gtin_check_digit(value[:-1]) != int(value[-1]):
            raise DocumentError(f"{symbology} {value}: wrong check digit")
    elif symbology == "code128":
        if not all(32 <= ord(c) < 127 for c in value):
            raise DocumentError("code128 value must be printable ASCII")


def _gtin_symbol(gtin: str) -> str:
    """GTIN-12/13/14 as the EAN-13 a shelf label shows (GTIN-14 with indicator 0; UPC-A with a leading 0)."""
    if len(gtin) == 8:
        return gtin
    g = gtin.zfill(14)
    if g[0] != "0":
        raise DocumentError(f"GTIN-14 {gtin} with indicator {g[0]} is a case code, not a shelf-label barcode")
    return g[1:]


@dataclass
class Block:
    kind: str                          # text | barcode | qr | feed | cut | drawer | rule
    text: str = ""
    align: str = "left"
    bold: bool = False
    size: int = 1                      # 1 normal, 2 double width and height
    symbology: str = ""
    extra: dict = field(default_factory=dict)


def money(minor: int, currency: str) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    digits = 0 if currency in ("JPY", "KRW") else 2
    if digits == 0:
        return f"{currency} {sign}{minor}"
    return f"{currency} {sign}{minor // 100}.{minor % 100:02d}"


def two_cols(left: str, right: str, width: int) -> str:
    room = width - len(right) - 1
    if len(left) > room:
        left = left[:max(room, 0)]
    return left + " " * (width - len(left) - len(right)) + right


def _qty(q) -> str:
    return str(int(q)) if float(q).is_integer() else f"{q:g}"


def _item(it: dict) -> str:
    unit = it.get("unit", "each")
    if unit in ("g", "kg"):
        return f"{it['name']} {_qty(it['qty'])} {unit}"
    return f"{_qty(it['qty'])} x {it['name']}"


def layout(doc: dict, width: int = 42) -> list[Block]:
    validate(doc)
    t = doc["type"]
    out: list[Block] = []
    T = lambda text, **kw: out.append(Block("text", text=text, **kw))  # noqa: E731
    if t == "receipt":
        if doc.get("store_name"):
            T(doc["store_name"], align="center", bold=True, size=2)
        for line in doc.get("header", []):
            T(line, align="center")
        for k, label in (("order_id", "Order"), ("cashier", "Cashier"), ("ts", "Time")):
            if doc.get(k):
                T(f"{label}: {doc[k]}")
        out.append(Block("rule"))
        cur = doc["currency"]
        for ln in doc["lines"]:
            name = ln["name"] if ln.get("qty") in (None, 1) else f"{_qty(ln['qty'])} x {ln['name']}"
            T(two_cols(name, money(ln["amount_minor"], cur), width))
        out.append(Block("rule"))
        T(two_cols("TOTAL", money(doc["total_minor"], cur), width), bold=True)
        for k, label in (("paid_minor", "Paid"), ("change_minor", "Change")):
            if k in doc:
                T(two_cols(label, money(doc[k], cur), width))
        for line in doc.get("footer", []):
            T(line, align="center")
    elif t == "shelf_label":
        T(doc["name"], align="center", bold=True)
        if doc.get("name_zh"):
            T(doc["name_zh"], align="center", bold=True)
        price = money(doc["price_minor"], doc["currency"]) + (" /kg" if doc.get("unit") == "kg" else "")
        T(price, align="center", bold=True, size=2)
        if doc.get("promo"):
            T(doc["promo"], align="center")
        info = " ".join(x for x in (doc.get("sku"), doc.get("location")) if x)
        if info:
            T(info, align="center")
        sym = _gtin_symbol(doc["gtin"])
        out.append(Block("barcode", symbology="ean8" if len(sym) == 8 else "ean13", text=sym))
    elif t == "pick_label":
        T("PICK", align="center", bold=True, size=2)
        T(f"Order {doc['order_id']}", align="center", bold=True)
        if doc.get("pick_id"):
            T(f"Pick {doc['pick_id']}", align="center")
        if doc.get("picker"):
            T(f"Picker: {doc['picker']}")
        out.append(Block("rule"))
        for it in doc["items"]:
            left = _item(it)
            T(two_cols(left, it.get("bin", ""), width) if it.get("bin") else left)
        if doc.get("barcode"):
            out.append(Block("barcode", symbology=doc["barcode"]["symbology"], text=doc["barcode"]["value"]))
        if doc.get("qr"):
            out.append(Block("qr", text=doc["qr"]))
    elif t == "pack_label":
        T(doc.get("order_code") or doc["order_id"], align="center", bold=True, size=2)
        if doc.get("parcel"):
            T(f"Parcel {doc['parcel']}", align="center")
        if doc.get("customer"):
            T(doc["customer"], bold=True)
        for line in doc.get("ship_to", []):
            T(line)
        if doc.get("items"):
            out.append(Block("rule"))
            for it in doc["items"]:
                T(_item(it) + (f" ({it['sku']})" if it.get("sku") else ""))
        if "weight_g" in doc:
            T(f"Weight: {doc['weight_g'] / 1000:.3f} kg")
        if doc.get("note"):
            T(doc["note"])
        bc = doc.get("barcode") or {"symbology": "code128", "value": doc.get("order_code") or doc["order_id"]}
        out.append(Block("barcode", symbology=bc["symbology"], text=bc["value"]))
        if doc.get("qr"):
            out.append(Block("qr", text=doc["qr"]))
    elif t == "text":
        for line in doc["lines"]:
            T(line)
    if t == "receipt":
        if doc.get("barcode"):
            out.append(Block("barcode", symbology=doc["barcode"]["symbology"], text=doc["barcode"]["value"]))
        if doc.get("qr"):
            out.append(Block("qr", text=doc["qr"]))
    if t != "text" or doc.get("cut", True):
        out.append(Block("cut"))
    if t == "receipt" and doc.get("open_drawer"):
        out.append(Block("drawer"))
    return out

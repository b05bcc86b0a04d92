"""Print documents (the ``document`` of ``cmd/print``) and their layout as printer-neutral blocks.

Document types (``type``): ``receipt``, ``shelf_label``, ``pick_label``, ``pack_label``, ``text``.
:func:`validate` checks a document against its schema (clear errors); :func:`layout` turns it into a list of
:class:`Block` that :mod:`devices.printer.render` turns into ESC/POS bytes. Money is in integer minor units
with an ISO 4217 currency; weights in grams.

The sender decides what is said: the words it composes (names, addresses, footer) in the store's language,
``lang`` for the few fixed labels printed here (``en`` or ``zh-CN``) and ``ts`` as the store's local time with
its UTC offset. The layout decides how it fits: every text line is wrapped to the paper's columns (``width``,
the agent's option: 32 on 58 mm, 42 or 48 on 80 mm), counting a character as the printer prints it — CJK and
anything outside the code page take two columns — and double-size text as twice as wide. Nothing is cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from jsonschema import Draft202012Validator
from wcwidth import wcwidth

_STR = {"type": "string", "maxLength": 200}
_MINOR = {"type": "integer", "minimum": -(10**12), "maximum": 10**12}
_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}
_LINES = {"type": "array", "maxItems": 50, "items": _STR}
_ITEMS = {
    "type": "array",
    "maxItems": 200,
    "items": {
        "type": "object",
        "required": ["name", "qty"],
        "properties": {
            "sku": _STR,
            "name": _STR,
            "qty": {"type": ["integer", "number"]},
            "bin": _STR,
            "unit": {"enum": ["each", "kg", "g"]},
        },
    },
}
_BARCODE = {
    "type": "object",
    "required": ["symbology", "value"],
    "properties": {
        "symbology": {"enum": ["ean13", "ean8", "code128"]},
        "value": {"type": "string", "minLength": 1, "maxLength": 80},
    },
}
_QR = {"type": "string", "minLength": 1, "maxLength": 700}
LANGS = ("en", "zh-CN")
_COMMON = {
    "type": {"type": "string"},
    "copies": {"type": "integer", "minimum": 1, "maximum": 20},
    "lang": {"enum": list(LANGS)},
}

SCHEMAS = {
    "receipt": {
        "required": ["lines", "total_minor", "currency"],
        "properties": {
            "store_name": _STR,
            "header": _LINES,
            "order_id": _STR,
            "cashier": _STR,
            "ts": _STR,
            "lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": 300,
                "items": {
                    "type": "object",
                    "required": ["name", "amount_minor"],
                    "properties": {"name": _STR, "qty": {"type": ["integer", "number"]}, "amount_minor": _MINOR},
                },
            },
            "total_minor": _MINOR,
            "paid_minor": _MINOR,
            "change_minor": _MINOR,
            "currency": _CURRENCY,
            "footer": _LINES,
            "barcode": _BARCODE,
            "qr": _QR,
            "open_drawer": {"type": "boolean"},
        },
    },
    "shelf_label": {
        "required": ["name", "price_minor", "currency", "gtin"],
        "properties": {
            "name": _STR,
            "name_zh": _STR,
            "sku": _STR,
            "price_minor": _MINOR,
            "currency": _CURRENCY,
            "unit": {"enum": ["each", "kg"]},
            "gtin": {"type": "string", "pattern": r"^(\d{8}|\d{12,14})$"},
            "promo": _STR,
            "location": _STR,
        },
    },
    "pick_label": {
        "required": ["order_id", "items"],
        "properties": {
            "order_id": _STR,
            "pick_id": _STR,
            "picker": _STR,
            "items": _ITEMS,
            "qr": _QR,
            "barcode": _BARCODE,
        },
    },
    "pack_label": {
        "required": ["order_id"],
        "properties": {
            "order_id": _STR,
            "order_code": _STR,
            "customer": _STR,
            "ship_to": _LINES,
            "parcel": _STR,
            "items": _ITEMS,
            "weight_g": {"type": "integer", "minimum": 0},
            "barcode": _BARCODE,
            "qr": _QR,
            "note": _STR,
        },
    },
    "text": {"required": ["lines"], "properties": {"lines": {**_LINES, "minItems": 1}, "cut": {"type": "boolean"}}},
}

_VALIDATORS = {
    name: Draft202012Validator(
        {
            "type": "object",
            "required": ["type", *s["required"]],
            "properties": {**_COMMON, **s["properties"]},
            "additionalProperties": False,
        }
    )
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
    kind: str  # text | barcode | qr | feed | cut | drawer | rule
    text: str = ""
    align: str = "left"
    bold: bool = False
    size: int = 1  # 1 normal, 2 double width and height
    symbology: str = ""
    extra: dict = field(default_factory=dict)


# The fixed words of the layouts; everything else on paper is the sender's text.
LABELS = {
    "en": {
        "order": "Order",
        "cashier": "Cashier",
        "time": "Time",
        "total": "TOTAL",
        "paid": "Paid",
        "change": "Change",
        "pick": "PICK",
        "pick_id": "Pick",
        "picker": "Picker",
        "parcel": "Parcel",
        "weight": "Weight",
        "per_kg": "/kg",
        "sep": ": ",
    },
    "zh-CN": {
        "order": "订单",
        "cashier": "收银员",
        "time": "时间",
        "total": "合计",
        "paid": "实付",
        "change": "找零",
        "pick": "拣货",
        "pick_id": "拣货单",
        "picker": "拣货员",
        "parcel": "包裹",
        "weight": "重量",
        "per_kg": "/公斤",
        "sep": "：",
    },
}


def char_width(ch: str) -> int:
    """Columns one character takes on paper as :mod:`devices.printer.render` sends it: one for ASCII and
    the code page (PC437), two for wide (CJK) characters and for anything else — a printer set up for
    Chinese prints those as GB18030 double-byte glyphs, which are full width (others print a one-column ``?``,
    so two is never too few)."""
    if ch < "\x80":
        return 1
    if wcwidth(ch) == 2:
        return 2
    try:
        ch.encode("cp437")
        return 1
    except UnicodeEncodeError:
        return 2


def display_width(text: str) -> int:
    return sum(char_width(c) for c in text)


_TOKENS = re.compile(r"\s+|[^\s]")


def _tokens(text: str) -> list[str]:
    """Runs of spaces, words of narrow characters, and each wide character alone (CJK breaks anywhere)."""
    out: list[str] = []
    for t in _TOKENS.findall(text):
        if not t.isspace() and char_width(t) == 1 and out and not out[-1].isspace() and char_width(out[-1][-1]) == 1:
            out[-1] += t
        else:
            out.append(t)
    return out


def _cut(word: str, columns: int) -> tuple[str, str]:
    used = 0
    for i, ch in enumerate(word):
        used += char_width(ch)
        if used > columns:
            return word[: max(i, 1)], word[max(i, 1) :]
    return word, ""


def wrap(text: str, columns: int) -> list[str]:
    """``text`` as lines of at most ``columns`` columns: broken at spaces (dropped at the break) or between CJK
    characters; a word longer than a line is split. Never loses a visible character."""
    columns = max(columns, 2)  # room for one wide character
    if display_width(text) <= columns:
        return [text]
    lines: list[str] = []
    cur, used = "", 0
    for tok in _tokens(text):
        w = display_width(tok)
        if tok.isspace():
            if cur and used + w < columns:  # a space never ends a line
                cur, used = cur + tok, used + w
            elif cur:
                lines.append(cur.rstrip())
                cur, used = "", 0
            continue
        if used + w > columns:
            if cur.strip():
                lines.append(cur.rstrip())
            cur, used = "", 0
            while w > columns:
                head, tok = _cut(tok, columns)
                lines.append(head)
                w = display_width(tok)
        cur, used = cur + tok, used + w
    if cur.strip() or not lines:
        lines.append(cur.rstrip())
    return lines


def money(minor: int, currency: str) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    digits = 0 if currency in ("JPY", "KRW") else 2
    if digits == 0:
        return f"{currency} {sign}{minor}"
    return f"{currency} {sign}{minor // 100}.{minor % 100:02d}"


def two_cols(left: str, right: str, width: int) -> list[str]:
    """``left`` and ``right`` on one line of ``width`` columns, ``right`` flush right; a long ``left`` wraps
    onto lines above (``right`` is never cut: it is an amount or a bin)."""
    room = width - display_width(right) - 1
    if room < 4:  # a right part as wide as the paper: each on its own lines
        return [*wrap(left, width), *[" " * max(width - display_width(r), 0) + r for r in wrap(right, width)]]
    parts = wrap(left, room)
    last = parts[-1]
    return [*parts[:-1], last + " " * (width - display_width(last) - display_width(right)) + right]


def local_time(ts: str) -> str:
    """The time as the sender stated it: an ISO time with an offset prints its own wall clock (the hub sends
    the store's local time); a UTC ``Z`` time says UTC so it is never taken for local; anything else as is."""
    try:
        dt = datetime.fromisoformat(ts.strip())
    except ValueError:
        return ts
    if dt.tzinfo is None:
        return ts
    text = f"{dt:%Y-%m-%d %H:%M}"
    return text + " UTC" if ts.strip().upper().endswith("Z") else text


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
    lab = LABELS[doc.get("lang", "en")]
    out: list[Block] = []

    def T(text: str, *, size: int = 1, **kw) -> None:
        # double-size characters take twice the columns
        for line in wrap(text, width // size):
            out.append(Block("text", text=line, size=size, **kw))

    def row(left: str, right: str, **kw) -> None:
        for line in two_cols(left, right, width):
            out.append(Block("text", text=line, **kw))

    def field_line(key: str, value: str) -> None:
        T(f"{lab[key]}{lab['sep']}{value}")

    if t == "receipt":
        if doc.get("store_name"):
            T(doc["store_name"], align="center", bold=True, size=2)
        for line in doc.get("header", []):
            T(line, align="center")
        if doc.get("order_id"):
            field_line("order", doc["order_id"])
        if doc.get("cashier"):
            field_line("cashier", doc["cashier"])
        if doc.get("ts"):
            field_line("time", local_time(doc["ts"]))
        out.append(Block("rule"))
        cur = doc["currency"]
        for ln in doc["lines"]:
            name = ln["name"] if ln.get("qty") in (None, 1) else f"{_qty(ln['qty'])} x {ln['name']}"
            row(name, money(ln["amount_minor"], cur))
        out.append(Block("rule"))
        row(lab["total"], money(doc["total_minor"], cur), bold=True)
        for k, key in (("paid_minor", "paid"), ("change_minor", "change")):
            if k in doc:
                row(lab[key], money(doc[k], cur))
        for line in doc.get("footer", []):
            T(line, align="center")
    elif t == "shelf_label":
        names = [doc["name"], doc.get("name_zh")]
        if doc.get("lang") == "zh-CN":
            names.reverse()
        for name in filter(None, names):
            T(name, align="center", bold=True)
        price = money(doc["price_minor"], doc["currency"]) + (f" {lab['per_kg']}" if doc.get("unit") == "kg" else "")
        T(price, align="center", bold=True, size=2)
        if doc.get("promo"):
            T(doc["promo"], align="center")
        info = " ".join(x for x in (doc.get("sku"), doc.get("location")) if x)
        if info:
            T(info, align="center")
        sym = _gtin_symbol(doc["gtin"])
        out.append(Block("barcode", symbology="ean8" if len(sym) == 8 else "ean13", text=sym))
    elif t == "pick_label":
        T(lab["pick"], align="center", bold=True, size=2)
        T(f"{lab['order']} {doc['order_id']}", align="center", bold=True)
        if doc.get("pick_id"):
            T(f"{lab['pick_id']} {doc['pick_id']}", align="center")
        if doc.get("picker"):
            field_line("picker", doc["picker"])
        out.append(Block("rule"))
        for it in doc["items"]:
            if it.get("bin"):
                row(_item(it), it["bin"])
            else:
                T(_item(it))
        if doc.get("barcode"):
            out.append(Block("barcode", symbology=doc["barcode"]["symbology"], text=doc["barcode"]["value"]))
        if doc.get("qr"):
            out.append(Block("qr", text=doc["qr"]))
    elif t == "pack_label":
        T(doc.get("order_code") or doc["order_id"], align="center", bold=True, size=2)
        if doc.get("parcel"):
            T(f"{lab['parcel']} {doc['parcel']}", align="center")
        if doc.get("customer"):
            T(doc["customer"], bold=True)
        for line in doc.get("ship_to", []):
            T(line)
        if doc.get("items"):
            out.append(Block("rule"))
            for it in doc["items"]:
                T(_item(it) + (f" ({it['sku']})" if it.get("sku") else ""))
        if "weight_g" in doc:
            field_line("weight", f"{doc['weight_g'] / 1000:.3f} kg")
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

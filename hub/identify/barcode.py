"""What a scanned code says, without looking anything up.

``parse(code, options)`` turns the characters a store scanner sends into a
:class:`ParsedCode`: a GTIN (EAN-8/13, UPC-A/E, ITF-14), a GS1 element string
(GS1-128, GS1 DataMatrix, GS1 QR, DataBar), a GS1 Digital Link URI, an in-store
variable-measure label, or one of StoreHub's own codes (``SHL-`` location label,
``SHB-`` staff badge, ``SHO-`` order). GS1 parsing is done by ``biip``; this
module adds the store's rules around it:

* An AIM symbology identifier (``]E0``, ``]C1``, ``]d2``…) decides how the data is
  read. Without one, a plain 8/12/13/14-digit number is a GTIN and must carry a
  valid check digit — it is never re-read as an element string such as ``(22)…``.
  Without an AIM id an element string must start with AI 00, 01 or 02.
* FNC1 arrives as GS (0x1D) or as the configured printable substitute.
* Restricted-circulation (variable-measure) labels are read with a layout the
  store configures (``rcn_layouts``), or biip's rules for the store's region.
* Wrong check digits and garbage raise :class:`BarcodeError`; nothing is guessed.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from biip import ParseConfig, ParseError
from biip.checksums import gs1_price_weight_check_digit, gs1_standard_check_digit
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.rcn import Rcn, RcnRegion, RcnUsage
from biip.symbology import ISOSymbology
from biip.upc import Upc

from hub.kernel.errors import ValidationError

MAX_LENGTH = 512
GS = "\x1d"
LOCATION_PREFIX = "SHL-"
BADGE_PREFIX = "SHB-"
ORDER_PREFIX = "SHO-"
KINDS = ("gtin", "gs1", "variable_measure", "location", "badge", "order")

# The keys of the JSON object ``storehub barcode parse --json`` prints (and the API's "parsed").
RESULT_KEYS = (
    "gtin",
    "symbology",
    "lot",
    "serial",
    "expiry",
    "best_before",
    "weight_g",
    "price_minor",
    "currency",
    "count",
    "variable_measure",
    "base_gtin",
    "kind",
    "own_code",
)


class BarcodeError(ValidationError):
    """A scanned code that cannot be read. ``code`` says why (e.g. ``invalid_check_digit``)."""

    def __init__(self, code: str, message: str, details: Any = None):
        super().__init__(message, code=code, details=details)


# ---------------------------------------------------------------- currencies
# ISO 4217: alpha code -> (numeric code, minor-unit exponent). Used for AI 393n
# (amount payable with a numeric currency) and to turn prices into minor units.
_CURRENCIES: dict[str, tuple[str, int]] = {
    "AED": ("784", 2),
    "AUD": ("036", 2),
    "BGN": ("975", 2),
    "BHD": ("048", 3),
    "BRL": ("986", 2),
    "CAD": ("124", 2),
    "CHF": ("756", 2),
    "CLP": ("152", 0),
    "CNY": ("156", 2),
    "CZK": ("203", 2),
    "DKK": ("208", 2),
    "EGP": ("818", 2),
    "EUR": ("978", 2),
    "GBP": ("826", 2),
    "HKD": ("344", 2),
    "HUF": ("348", 2),
    "IDR": ("360", 2),
    "ILS": ("376", 2),
    "INR": ("356", 2),
    "ISK": ("352", 0),
    "JOD": ("400", 3),
    "JPY": ("392", 0),
    "KRW": ("410", 0),
    "KWD": ("414", 3),
    "MOP": ("446", 2),
    "MXN": ("484", 2),
    "MYR": ("458", 2),
    "NOK": ("578", 2),
    "NZD": ("554", 2),
    "OMR": ("512", 3),
    "PHP": ("608", 2),
    "PLN": ("985", 2),
    "RON": ("946", 2),
    "RUB": ("643", 2),
    "SAR": ("682", 2),
    "SEK": ("752", 2),
    "SGD": ("702", 2),
    "THB": ("764", 2),
    "TND": ("788", 3),
    "TRY": ("949", 2),
    "TWD": ("901", 2),
    "UAH": ("980", 2),
    "USD": ("840", 2),
    "VND": ("704", 0),
    "ZAR": ("710", 2),
}
_CURRENCY_BY_NUMERIC = {num: alpha for alpha, (num, _exp) in _CURRENCIES.items()}
# Currencies of the regions biip has variable-measure rules for.
_REGION_CURRENCY = {
    "dk": "DKK",
    "ee": "EUR",
    "fi": "EUR",
    "de": "EUR",
    "gb": "GBP",
    "lv": "EUR",
    "lt": "EUR",
    "no": "NOK",
    "se": "SEK",
}
_BIIP_REGIONS = {r.value for r in RcnRegion}


def currency_exponent(currency: str) -> int:
    try:
        return _CURRENCIES[currency.upper()][1]
    except KeyError:
        raise BarcodeError("unknown_currency", f"currency {currency!r} is not known to StoreHub") from None


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in currency units as integer minor units; refuses amounts finer than the minor unit."""
    minor = amount * (Decimal(10) ** currency_exponent(currency))
    if minor != minor.to_integral_value():
        raise BarcodeError("invalid_price", f"price {amount} {currency} is finer than the currency's minor unit")
    return int(minor)


# ---------------------------------------------------------------- variable-measure layouts
BUILTIN_LAYOUTS: dict[str, dict[str, Any]] = {
    # GS1 US: UPC-A number system 2, 5-digit item, price check digit, 4-digit price ($99.99 max).
    "US": {
        "name": "US",
        "prefixes": ["2"],
        "pattern": "PIIIIICVVVVK",
        "measure": "price",
        "decimals": 2,
        "currency": "USD",
    },
    # Same, for retailers whose scales print a 5-digit price without the price check digit.
    "US-NOCHECK": {
        "name": "US-NOCHECK",
        "prefixes": ["2"],
        "pattern": "PIIIIIVVVVVK",
        "measure": "price",
        "decimals": 2,
        "currency": "USD",
    },
    # China (assumption, see docs/barcodes.md): EAN-13 with prefix 20-29, 5-digit item code (PLU),
    # 5-digit total price in fen, GTIN check digit; no price check digit. This is the default label
    # of the common Chinese retail scales ("FF WWWWW EEEEE C").
    "CN": {
        "name": "CN",
        "prefixes": [str(p) for p in range(20, 30)],
        "pattern": "PPIIIIIVVVVVK",
        "measure": "price",
        "decimals": 2,
        "currency": "CNY",
    },
    # Same layout with the net weight in grams instead of the price.
    "CN-WEIGHT": {
        "name": "CN-WEIGHT",
        "prefixes": [str(p) for p in range(20, 30)],
        "pattern": "PPIIIIIVVVVVK",
        "measure": "weight",
        "decimals": 3,
        "weight_unit": "kg",
    },
}
# Layouts used when a store sets its region but configures no rcn_layouts.
REGION_DEFAULT_LAYOUTS = {"US": ["US"], "CN": ["CN"]}
_MEASURES = ("price", "weight", "count")
_WEIGHT_UNITS = {"kg": Decimal(1000), "g": Decimal(1), "lb": Decimal("453.59237")}


@dataclass(frozen=True)
class Layout:
    name: str
    prefixes: tuple[str, ...]
    pattern: str
    measure: str
    decimals: int
    weight_unit: str
    currency: str | None

    def slice_of(self, ch: str) -> slice | None:
        if ch not in self.pattern:
            return None
        return slice(self.pattern.index(ch), self.pattern.rindex(ch) + 1)


def _layout_error(msg: str) -> ValidationError:
    return ValidationError(f"bad rcn_layouts setting: {msg}", code="invalid_rcn_layout")


def compile_layout(spec: dict[str, Any] | str) -> Layout:
    """Check one ``rcn_layouts`` entry (a dict, or the name of a built-in layout)."""
    if isinstance(spec, str):
        if spec.upper() not in BUILTIN_LAYOUTS:
            raise _layout_error(f"no built-in layout {spec!r} (have {', '.join(BUILTIN_LAYOUTS)})")
        spec = BUILTIN_LAYOUTS[spec.upper()]
    if not isinstance(spec, dict):
        raise _layout_error("each layout is an object or a built-in layout name")
    unknown = set(spec) - {"name", "prefixes", "pattern", "measure", "decimals", "weight_unit", "currency"}
    if unknown:
        raise _layout_error(f"unknown keys {sorted(unknown)}")
    pattern = spec.get("pattern")
    name = str(spec.get("name") or pattern)
    if not isinstance(pattern, str) or len(pattern) not in (12, 13) or not re.fullmatch(r"P+[PIVCK0-9]*K", pattern):
        raise _layout_error(
            f"{name}: pattern must be 12 (UPC-A) or 13 (EAN-13) of P I V C K and digits, "
            "starting with P and ending with the GTIN check digit K"
        )
    for ch in "PIV":
        s = pattern.count(ch)
        if ch != "I" and s == 0:
            raise _layout_error(f"{name}: pattern needs {ch}")
        if s and pattern[pattern.index(ch) : pattern.rindex(ch) + 1] != ch * s:
            raise _layout_error(f"{name}: the {ch} digits must be contiguous")
    if pattern.count("K") != 1 or pattern.count("C") > 1:
        raise _layout_error(f"{name}: exactly one K and at most one C")
    if "C" in pattern and pattern.count("V") not in (4, 5):
        raise _layout_error(f"{name}: a price/weight check digit C needs 4 or 5 V digits")
    prefixes = spec.get("prefixes")
    n_p = pattern.count("P")
    if (
        not isinstance(prefixes, list)
        or not prefixes
        or not all(isinstance(p, str) and p.isdigit() and len(p) == n_p for p in prefixes)
    ):
        raise _layout_error(f"{name}: prefixes must be a list of {n_p}-digit strings (one digit per P)")
    measure = spec.get("measure")
    if measure not in _MEASURES:
        raise _layout_error(f"{name}: measure is one of {', '.join(_MEASURES)}")
    decimals = spec.get("decimals", 0)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 5:
        raise _layout_error(f"{name}: decimals is 0..5")
    weight_unit = spec.get("weight_unit", "kg")
    if weight_unit not in _WEIGHT_UNITS:
        raise _layout_error(f"{name}: weight_unit is one of {', '.join(_WEIGHT_UNITS)}")
    currency = spec.get("currency")
    if currency is not None and (not isinstance(currency, str) or currency.upper() not in _CURRENCIES):
        raise _layout_error(f"{name}: unknown currency {currency!r}")
    return Layout(
        name, tuple(prefixes), pattern, measure, decimals, weight_unit, currency.upper() if currency else None
    )


@functools.lru_cache(maxsize=64)
def _compile_layouts(frozen: str) -> tuple[Layout, ...]:
    return tuple(compile_layout(s) for s in json.loads(frozen))


def compile_layouts(specs: Iterable[dict[str, Any] | str]) -> tuple[Layout, ...]:
    return _compile_layouts(json.dumps(list(specs), sort_keys=True))


def validate_region(region: str | None) -> str | None:
    """A barcode region is an ISO 3166 alpha-2 code (or None for no in-store label rules)."""
    if region is None or region == "":
        return None
    if not isinstance(region, str) or not re.fullmatch(r"[A-Za-z]{2}", region):
        raise ValidationError(
            f"barcode region {region!r} must be an ISO 3166 alpha-2 code such as CN, US, NO",
            code="invalid_barcode_region",
        )
    return region.upper()


# ---------------------------------------------------------------- options and result
@dataclass(frozen=True)
class ParseOptions:
    """The store settings that change how a code is read."""

    region: str | None = None  # ISO 3166 alpha-2 (barcode_region)
    gs_substitute: str | None = "|"  # printable stand-in for FNC1/GS
    rcn_layouts: tuple[dict[str, Any] | str, ...] = ()  # rcn_layouts entries (dicts or built-in names)
    currency: str = "CNY"  # store currency, for AI 392n and layouts without a currency

    @classmethod
    def from_settings(
        cls, s: dict[str, Any], *, region: str | None = None, gs_substitute: str | None = None
    ) -> ParseOptions:
        return cls(
            region=region or s.get("barcode_region"),
            gs_substitute=gs_substitute if gs_substitute is not None else s.get("gs_substitute", "|"),
            rcn_layouts=tuple(s.get("rcn_layouts") or ()),
            currency=s.get("currency") or "CNY",
        )

    def layouts(self) -> tuple[Layout, ...]:
        specs: list[dict[str, Any] | str] = list(self.rcn_layouts)
        if not specs and self.region:
            specs = list(REGION_DEFAULT_LAYOUTS.get(self.region.upper(), []))
        return compile_layouts(specs)

    def separators(self) -> tuple[str, ...]:
        sub = self.gs_substitute
        if not sub:
            return (GS,)
        if len(sub) != 1 or sub.isalnum() or sub in _GS1_CHARSET_82 or not sub.isprintable():
            raise ValidationError(
                f"gs_substitute {sub!r} must be one printable character outside the GS1 character set (e.g. | ~ # ^)",
                code="invalid_gs_substitute",
            )
        return (GS, sub)


# Characters GS1 allows inside AI values (GS1 General Specifications, figure 7.11-1).
_GS1_CHARSET_82 = set("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class ParsedCode:
    kind: str
    gtin: str | None = None
    symbology: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: str | None = None
    best_before: str | None = None
    weight_g: int | None = None
    price_minor: int | None = None
    currency: str | None = None
    count: int | None = None
    variable_measure: bool = False
    base_gtin: str | None = None
    own_code: str | None = None  # location code, badge or order reference of an own code
    # Not part of the JSON result: the item reference (PLU) of a variable-measure label.
    item_ref: str | None = field(default=None, compare=False)
    # Not part of the JSON result: the SSCC (AI 00) of a logistic unit label, for receiving.
    sscc: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in RESULT_KEYS}


# ---------------------------------------------------------------- symbology identifiers
_SYMBOLOGY_NAMES = {
    "E0": "EAN-13",
    "E1": "EAN-2 add-on",
    "E2": "EAN-5 add-on",
    "E3": "EAN-13 with add-on",
    "E4": "EAN-8",
    "I0": "ITF",
    "I1": "ITF-14",
    "C0": "Code 128",
    "C1": "GS1-128",
    "C2": "Code 128",
    "A0": "Code 39",
    "e0": "GS1 DataBar",
    "e1": "GS1 Composite",
    "e2": "GS1 Composite",
    "d1": "Data Matrix",
    "d2": "GS1 DataMatrix",
    "Q1": "QR Code",
    "Q3": "GS1 QR Code",
    "J1": "GS1 DotCode",
    "L0": "PDF417",
    "z0": "Aztec Code",
}
_GS1_MESSAGE_SYMS = {"C1", "e0", "e1", "e2", "d2", "Q3", "J1"}
_DIGITAL_LINK_SYMS = {"d2", "Q3"}
_GTIN_SYMS = {"E0", "E3", "E4", "I1"}


# ISO/IEC 15424 code characters (biip's list plus J, DotCode).
_AIM_RE = re.compile("^\\]([" + "".join(sorted({s.value for s in ISOSymbology} - {"Y"} | {"J"})) + "][0-9A-Za-z])")


def _symbology_name(sym: str) -> str:
    return _SYMBOLOGY_NAMES.get(sym, "]" + sym)


# ---------------------------------------------------------------- entry point
def parse(code: str, options: ParseOptions | None = None) -> ParsedCode:
    """Read one scanned code. Raises :class:`BarcodeError` when it cannot be read."""
    opts = options or ParseOptions()
    text = _clean(code, opts)

    sym: str | None = None
    if text.startswith("]"):
        m = _AIM_RE.match(text)
        if not m:
            raise BarcodeError("unparseable", f"unknown or incomplete symbology identifier in {code!r}")
        sym = m.group(1)
        text = text[3:]
        if not text:
            raise BarcodeError("empty_code", "the scan holds a symbology identifier but no data")

    name = _symbology_name(sym) if sym else None
    if sym in _GTIN_SYMS:
        return _parse_gtin_symbol(text, sym, name, opts)
    if sym in _GS1_MESSAGE_SYMS:
        if sym in _DIGITAL_LINK_SYMS and text[:4].lower() == "http":
            return _parse_digital_link(text, name, opts)
        return _parse_element_string(text, name, opts)
    if sym in ("E1", "E2"):
        raise BarcodeError("unparseable", "an EAN add-on on its own does not identify anything")
    # No AIM id, or a symbology that is not GS1 (Code 128, QR, Data Matrix…): read by content.
    return _parse_by_content(text, name, opts)


def _clean(code: Any, opts: ParseOptions) -> str:
    if not isinstance(code, str):
        raise BarcodeError("unparseable", "a code must be text")
    text = code.strip(" \t\r\n")
    if not text:
        raise BarcodeError("empty_code", "empty code")
    if len(text) > MAX_LENGTH:
        raise BarcodeError("too_long", f"code longer than {MAX_LENGTH} characters")
    if not text.isascii():
        # A keyboard-wedge scanner behind a Chinese IME can type full-width digits and letters.
        text = unicodedata.normalize("NFKC", text)
        if not text.isascii():
            raise BarcodeError("invalid_characters", "the code holds characters no barcode of ours carries")
    bad = [c for c in text if (ord(c) < 0x20 and c != GS) or ord(c) == 0x7F]
    if bad:
        raise BarcodeError("invalid_characters", f"control character {bad[0]!r} in the code")
    return text


def _parse_by_content(text: str, name: str | None, opts: ParseOptions) -> ParsedCode:
    upper = text[:4].upper()
    if upper in (LOCATION_PREFIX, BADGE_PREFIX, ORDER_PREFIX):
        return _parse_own_code(text, name)
    if text.isdigit() and len(text) in (8, 12, 13, 14):
        return _gtin_result(text, name, opts)
    if text[:4].lower() == "http":
        return _parse_digital_link(text, name, opts)
    if text.startswith("("):
        return _parse_hri(text, name, opts)
    stripped = text.lstrip(GS + (opts.gs_substitute or ""))
    if stripped[:2] not in ("00", "01", "02"):
        raise BarcodeError(
            "unparseable",
            "not a GTIN, GS1 element string, Digital Link or StoreHub code "
            "(without an AIM symbology identifier an element string must start with AI 00, 01 or 02)",
        )
    return _parse_element_string(text, name, opts)


# ---------------------------------------------------------------- own codes
_LOCATION_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")


def _parse_own_code(text: str, name: str | None) -> ParsedCode:
    prefix, value = text[:4].upper(), text[4:]
    if prefix == LOCATION_PREFIX:
        value = value.upper()
        if not _LOCATION_RE.match(value):
            raise BarcodeError("invalid_location_code", f"bad location label {text!r}: SHL- then 1-32 of A-Z 0-9 . _ -")
        return ParsedCode(kind="location", symbology=name, own_code=value)
    if not _REF_RE.match(value):
        what = "badge" if prefix == BADGE_PREFIX else "order"
        raise BarcodeError(
            f"invalid_{what}_code", f"bad {what} code {text!r}: {prefix} then 1-64 of A-Z a-z 0-9 . _ : / -"
        )
    return ParsedCode(kind="badge" if prefix == BADGE_PREFIX else "order", symbology=name, own_code=value)


# ---------------------------------------------------------------- GTINs and variable-measure labels
def _parse_gtin_symbol(text: str, sym: str, name: str | None, opts: ParseOptions) -> ParsedCode:
    if not text.isdigit():
        raise BarcodeError("unparseable", f"{name} data must be digits")
    if sym == "E3":  # EAN-13 + 2- or 5-digit add-on: the add-on (issue number, price) is not the item
        if len(text) not in (15, 18):
            raise BarcodeError("unparseable", "EAN-13 with add-on must be 15 or 18 digits")
        text = text[:13]
    elif sym == "E0":
        if len(text) in (6, 7, 8):  # UPC-E sent compressed
            try:
                upc = Upc.parse(text)
            except ParseError as exc:
                raise _biip_error(exc) from exc
            return _gtin_result(upc.as_upc_a(), "UPC-E", opts)
        if len(text) not in (12, 13):
            raise BarcodeError("unparseable", "EAN-13/UPC-A data must be 12 or 13 digits")
        if len(text) == 12 or text.startswith("0"):
            name = "UPC-A"
    elif sym == "E4" and len(text) != 8:
        raise BarcodeError("unparseable", "EAN-8 data must be 8 digits")
    elif sym == "I1" and len(text) != 14:
        raise BarcodeError("unparseable", "ITF-14 data must be 14 digits")
    return _gtin_result(text, name, opts)


def _check_gtin(digits: str) -> Gtin:
    try:
        return Gtin.parse(digits)
    except ParseError as exc:
        raise _biip_error(exc) from exc


def _gtin_result(digits: str, name: str | None, opts: ParseOptions) -> ParsedCode:
    gtin = _check_gtin(digits)
    g14 = gtin.as_gtin_14()
    if isinstance(gtin, Rcn) and gtin.usage == RcnUsage.GEOGRAPHICAL:
        vm = _variable_measure(gtin, opts)
        if vm is not None:
            return ParsedCode(kind="variable_measure", gtin=g14, symbology=name, **vm)
    return ParsedCode(kind="gtin", gtin=g14, symbology=name)


def _variable_measure(gtin: Gtin, opts: ParseOptions) -> dict[str, Any] | None:
    g13 = gtin.as_gtin_13()
    for layout in opts.layouts():
        form = g13[1:] if len(layout.pattern) == 12 else g13
        if len(layout.pattern) == 12 and not g13.startswith("0"):
            continue
        if form[: layout.pattern.count("P")] in layout.prefixes and _literals_match(layout, form):
            return _apply_layout(layout, form, opts)
    region = (opts.region or "").lower()
    if region in _BIIP_REGIONS:
        try:
            rcn = Gtin.parse(gtin.as_gtin_13(), config=ParseConfig(rcn_region=region))
        except ParseError as exc:
            raise _biip_error(exc, measure=True) from exc
        if not isinstance(rcn, Rcn) or (rcn.weight is None and rcn.price is None and rcn.count is None):
            return None
        out: dict[str, Any] = {
            "variable_measure": True,
            "item_ref": rcn.item_reference,
            "base_gtin": rcn.without_variable_measure().as_gtin_14(),
        }
        if rcn.weight is not None:
            out["weight_g"] = _grams(rcn.weight, "kg")
        if rcn.count is not None:
            out["count"] = int(rcn.count)
        if rcn.price is not None:
            cur = _REGION_CURRENCY.get(region, opts.currency)
            out["price_minor"], out["currency"] = to_minor(rcn.price, cur), cur
        return out
    return None


def _literals_match(layout: Layout, form: str) -> bool:
    return all(p == f for p, f in zip(layout.pattern, form) if p.isdigit())


def _apply_layout(layout: Layout, form: str, opts: ParseOptions) -> dict[str, Any]:
    vs = layout.slice_of("V")
    assert vs is not None  # compile_layouts refuses a layout without a variable part
    value_digits = form[vs]
    cs = layout.slice_of("C")
    if cs is not None:
        expected = gs1_price_weight_check_digit(value_digits)
        if int(form[cs]) != expected:
            raise BarcodeError(
                "invalid_price_check_digit",
                f"price/weight check digit of {value_digits} is {expected}, the label says {form[cs]} "
                f"(layout {layout.name})",
            )
    amount = Decimal(int(value_digits)) / (Decimal(10) ** layout.decimals)
    out: dict[str, Any] = {"variable_measure": True}
    isl = layout.slice_of("I")
    out["item_ref"] = form[isl] if isl else None
    if layout.measure == "price":
        cur = layout.currency or opts.currency
        out["price_minor"], out["currency"] = to_minor(amount, cur), cur
    elif layout.measure == "weight":
        out["weight_g"] = _grams(amount, layout.weight_unit)
    else:
        out["count"] = int(amount)
    # Base GTIN: the same label with the variable part (and its check digit) zeroed.
    digits = list(form[:-1])
    digits[vs] = "0" * len(value_digits)
    if cs is not None:
        digits[cs] = [str(gs1_price_weight_check_digit("0" * len(value_digits)))]
    payload = "".join(digits)
    out["base_gtin"] = (payload + str(gs1_standard_check_digit(payload))).zfill(14)
    return out


def _grams(amount: Decimal, unit: str) -> int:
    return int((amount * _WEIGHT_UNITS[unit]).to_integral_value(rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------- GS1 element strings and Digital Link
def _config(opts: ParseOptions) -> ParseConfig:
    return ParseConfig(separator_chars=opts.separators())


def _parse_element_string(text: str, name: str | None, opts: ParseOptions) -> ParsedCode:
    seps = opts.separators()
    body = text.strip("".join(seps))
    if not body:
        raise BarcodeError("unparseable", "no element strings in the code")
    try:
        msg = GS1Message.parse(body, config=_config(opts))
    except ParseError as exc:
        raise _biip_error(exc) from exc
    return _from_elements(msg.element_strings, name, opts)


def _parse_hri(text: str, name: str | None, opts: ParseOptions) -> ParsedCode:
    try:
        msg = GS1Message.parse_hri(text, config=_config(opts))
    except ParseError as exc:
        raise _biip_error(exc) from exc
    return _from_elements(msg.element_strings, name, opts)


def _parse_digital_link(text: str, name: str | None, opts: ParseOptions) -> ParsedCode:
    m = re.match(r"^(https?://[^/?#]+)(.*)$", text, re.IGNORECASE)
    if not m:
        raise BarcodeError("unparseable", "not a GS1 Digital Link URI")
    uri = m.group(1).lower() + m.group(2)  # scheme and host are case-insensitive (QR alphanumeric mode)
    try:
        dl = GS1DigitalLinkURI.parse(uri, config=_config(opts))
    except ParseError as exc:
        raise _biip_error(exc, digital_link=True) from exc
    return _from_elements(dl.element_strings, name, opts)


def _from_elements(elements: Any, name: str | None, opts: ParseOptions) -> ParsedCode:
    out: dict[str, Any] = {}
    gtin_es = elements.get(ai="01") or elements.get(ai="02")
    if gtin_es is not None:
        if gtin_es.gtin is None:
            raise BarcodeError("invalid_check_digit", gtin_es.gtin_error or f"bad GTIN in AI ({gtin_es.ai.ai})")
        out["gtin"] = gtin_es.gtin.as_gtin_14()
        out["variable_measure"] = out["gtin"].startswith("9")  # indicator 9: variable measure trade item
    sscc = elements.get(ai="00")
    if sscc is not None and sscc.sscc is None:
        raise BarcodeError("invalid_check_digit", sscc.sscc_error or "bad SSCC check digit")
    if sscc is not None:
        out["sscc"] = sscc.value
    for es in elements:
        ai = es.ai.ai
        if ai == "10":
            out["lot"] = es.value
        elif ai == "21":
            out["serial"] = es.value
        elif ai in ("17", "15"):
            if es.date is None:
                raise BarcodeError("invalid_date", f"AI ({ai}) holds no valid date: {es.value!r}")
            out["expiry" if ai == "17" else "best_before"] = es.date.isoformat()
        elif ai.startswith("310") or ai.startswith("320"):
            if "weight_g" in out:
                raise BarcodeError("unparseable", "two net weights in one code")
            out["weight_g"] = _grams(es.decimal, "kg" if ai.startswith("310") else "lb")
        elif ai.startswith("392") or ai.startswith("393"):
            if "price_minor" in out:
                raise BarcodeError("unparseable", "two prices in one code")
            if ai.startswith("393"):
                num = es.pattern_groups[0]
                cur = _CURRENCY_BY_NUMERIC.get(num)
                if cur is None:
                    raise BarcodeError("unknown_currency", f"ISO 4217 numeric currency {num} is not known to StoreHub")
            else:
                cur = opts.currency
            out["price_minor"], out["currency"] = to_minor(es.decimal, cur), cur
        elif ai in ("30", "37"):
            out["count"] = int(es.value)
    return ParsedCode(kind="gs1", symbology=name, **out)


def _biip_error(exc: Exception, *, measure: bool = False, digital_link: bool = False) -> BarcodeError:
    msg = str(exc)
    low = msg.lower()
    if "check digit" in low:
        if measure or "variable measure" in low:
            return BarcodeError("invalid_price_check_digit", msg)
        return BarcodeError("invalid_check_digit", msg)
    if "date" in low or re.search(r"AI \((11|12|13|15|16|17)\)", msg):
        return BarcodeError("invalid_date", msg)
    if digital_link:
        return BarcodeError("unparseable", f"not a GS1 Digital Link URI: {msg}")
    return BarcodeError("unparseable", msg)

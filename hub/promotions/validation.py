"""Promotions and baskets as JSON: one JSON Schema per promotion type, the rules a schema cannot say, and the
typed objects the engine prices with. Every refusal is a ``ValidationError`` whose ``details.field`` names the
field (``promotions[2].params.ladder[1].spend_minor``), so head office, the command line and the checkout all
read the same precise message.

The same functions serve the hub (promotions delivered by the downlink, baskets from the checkout) and the
central (``sync.central.downlink`` refuses a promotion the hubs could not price before it is published)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from hub.kernel.errors import ValidationError
from hub.promotions.engine import TYPES, Basket, Member, Promotion, make_line, normalise_code
from hub.protocol.timeutil import parse_iso

_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_KEY = {"type": "string", "minLength": 1, "maxLength": 64}
_KEYS = {"type": "array", "items": _KEY, "uniqueItems": True}
_MONEY = {"type": "integer", "minimum": 0}
_PERCENT = {"type": "number", "exclusiveMinimum": 0, "maximum": 100}
_COUNT = {"type": "integer", "minimum": 1, "maximum": 1000}
_HHMM = {"type": "string", "pattern": r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"}

PARAMS: dict[str, dict[str, Any]] = {
    "percent_off": {
        "type": "object",
        "additionalProperties": False,
        "required": ["percent"],
        "properties": {"percent": _PERCENT},
    },
    "fixed_price": {
        "type": "object",
        "additionalProperties": False,
        "required": ["price_minor"],
        "properties": {"price_minor": _MONEY},
    },
    "spend_save": {
        "type": "object",
        "additionalProperties": False,
        "required": ["ladder"],
        "properties": {
            "ladder": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["spend_minor", "save_minor"],
                    "properties": {
                        "spend_minor": {"type": "integer", "minimum": 1},
                        "save_minor": {"type": "integer", "minimum": 1},
                    },
                },
            },
            "repeat": {"type": "boolean"},
        },
    },
    "buy_x_get_y": {
        "type": "object",
        "additionalProperties": False,
        "required": ["buy", "get"],
        "properties": {"buy": _COUNT, "get": _COUNT, "percent_off": _PERCENT, "repeat": {"type": "boolean"}},
    },
    "bundle_price": {
        "type": "object",
        "additionalProperties": False,
        "required": ["groups", "price_minor"],
        "properties": {
            "groups": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["skus", "qty"],
                    "properties": {"skus": {**_KEYS, "minItems": 1}, "qty": _COUNT},
                },
            },
            "price_minor": _MONEY,
            "repeat": {"type": "boolean"},
        },
    },
    "nth_item_off": {
        "type": "object",
        "additionalProperties": False,
        "required": ["n", "percent"],
        "properties": {"n": {"type": "integer", "minimum": 2, "maximum": 100}, "percent": _PERCENT},
    },
}
PHASES = {
    "percent_off": ("item", "order"),
    "fixed_price": ("item",),
    "spend_save": ("order",),
    "buy_x_get_y": ("item",),
    "bundle_price": ("item",),
    "nth_item_off": ("item",),
}


def promotion_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one promotion type (draft 2020-12)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"StoreHub promotion: {kind}",
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "name", "type", "params", "valid"],
        "properties": {
            "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"},
            "name": {
                "type": "object",
                "additionalProperties": False,
                "required": ["en", "zh-CN"],
                "properties": {"en": _TEXT, "zh-CN": _TEXT},
            },
            "type": {"const": kind},
            "scope": {
                "type": "object",
                "additionalProperties": False,
                "properties": {k: _KEYS for k in ("skus", "categories", "brands", "exclude_skus")},
            },
            "params": PARAMS[kind],
            "phase": {"enum": list(PHASES[kind])},
            "exclusive": {"type": "boolean"},
            "priority": {"type": "integer", "minimum": -1000, "maximum": 1000},
            "members_only": {"type": "boolean"},
            "tiers": {"type": "array", "items": _KEY, "minItems": 1, "uniqueItems": True},
            "coupon": {"type": ["string", "null"], "minLength": 1, "maxLength": 64},
            "valid": {
                "type": "object",
                "additionalProperties": False,
                "required": ["from", "to"],
                "properties": {
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "weekdays": {
                        "type": "array",
                        "minItems": 1,
                        "uniqueItems": True,
                        "items": {"type": "integer", "minimum": 1, "maximum": 7},
                    },
                    "hours": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 24,
                        "items": {"type": "array", "minItems": 2, "maxItems": 2, "prefixItems": [_HHMM, _HHMM]},
                    },
                },
            },
        },
    }


SCHEMAS = {kind: promotion_schema(kind) for kind in TYPES}
_VALIDATORS = {kind: Draft202012Validator(schema) for kind, schema in SCHEMAS.items()}
# The same schemas compiled once by jsonschema-rs: the yes/no check every promotion and basket goes through
# (about a hundred times faster than walking the schema in Python). Only a document it refuses is validated again
# by ``jsonschema``, whose ``best_match`` picks the error that names the field; that second pass also has the last
# word, so a document the two libraries judged differently is never refused on jsonschema-rs's say alone.
_FAST = {kind: jsonschema_rs.Draft202012Validator(schema) for kind, schema in SCHEMAS.items()}

_LINE_PROPS = {
    "sku": _KEY,
    "qty": {"type": "integer", "minimum": 1, "maximum": 100_000},
    "unit_price_minor": _MONEY,
    "grams": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
    "price_per_kg_minor": _MONEY,
    "category": {"type": "string", "maxLength": 200},
    "brand": {"type": "string", "maxLength": 200},
    "tax_rate": {"type": ["string", "number"], "pattern": r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$"},
}
BASKET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "StoreHub basket to price",
    "type": "object",
    "additionalProperties": False,
    "required": ["lines"],
    "properties": {
        "at": {"type": "string", "maxLength": 40},
        "member": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"tier": {"type": ["string", "null"], "maxLength": 64}},
                },
            ]
        },
        "coupons": {"type": "array", "maxItems": 20},
        "lines": {
            "type": "array",
            "maxItems": 1000,
            "items": {"type": "object", "additionalProperties": False, "required": ["sku"], "properties": _LINE_PROPS},
        },
    },
}
_BASKET_VALIDATOR = Draft202012Validator(BASKET_SCHEMA)
_BASKET_FAST = jsonschema_rs.Draft202012Validator(BASKET_SCHEMA)


def _field(prefix: str, path: Any) -> str:
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _refuse(field: str, message: str, code: str) -> ValidationError:
    return ValidationError(f"{field}: {message}" if field else message, code=code, details={"field": field})


def _schema_error(
    validator: Draft202012Validator,
    doc: Any,
    prefix: str,
    code: str,
    fast: jsonschema_rs.Draft202012Validator | None = None,
) -> None:
    if fast is not None:
        try:
            if fast.is_valid(doc):
                return
        except (ValueError, TypeError):
            pass  # not plain JSON data: let jsonschema judge it
    err = best_match(validator.iter_errors(doc))
    if err is not None:
        where = list(err.absolute_path)
        if err.validator == "required":
            missing = next((m for m in re.findall(r"'([^']+)' is a required property", err.message)), None)
            if missing:
                where.append(missing)
                raise _refuse(_field(prefix, where), "required", code)
        if err.validator == "additionalProperties":
            extra = re.findall(r"'([^']+)'", err.message)
            if extra:
                raise _refuse(_field(prefix, [*where, extra[0]]), "unknown field", code)
        raise _refuse(_field(prefix, where), err.message, code)


def _percent(value: Any, field: str) -> Fraction:
    d = Decimal(str(value))
    if d.as_tuple().exponent < -2:  # type: ignore[operator]
        raise _refuse(field, "a percent has at most two decimals", "invalid_promotion")
    return Fraction(d)


def _minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _time(value: str, field: str) -> Any:
    try:
        return parse_iso(value)
    except (ValueError, TypeError):
        raise _refuse(
            field,
            f"{value!r} is not an ISO 8601 time with a UTC offset (e.g. 2026-11-01T00:00:00+08:00)",
            "invalid_promotion",
        ) from None


def parse_promotion(raw: Any, prefix: str = "") -> Promotion:
    """Validate one promotion as authored and build the engine's object (raises ``ValidationError``)."""
    code = "invalid_promotion"
    if not isinstance(raw, dict):
        raise _refuse(prefix, "a promotion is a JSON object", code)
    kind = raw.get("type")
    if kind not in SCHEMAS:
        raise _refuse(_field(prefix, ["type"]), f"unknown type {kind!r} (one of {', '.join(TYPES)})", code)
    _schema_error(_VALIDATORS[kind], raw, prefix, code, _FAST[kind])

    def at(*path: Any) -> str:
        return _field(prefix, path)

    params = raw["params"]
    valid = raw["valid"]
    start, end = _time(valid["from"], at("valid", "from")), _time(valid["to"], at("valid", "to"))
    if end <= start:
        raise _refuse(at("valid", "to"), "must be after valid.from", code)
    hours = None
    if "hours" in valid:
        spans = []
        for i, (a, b) in enumerate(valid["hours"]):
            if a == "24:00" or _minutes(b) <= _minutes(a):
                raise _refuse(
                    at("valid", "hours", i),
                    f"{a}–{b}: the end must be after the start (split a span across midnight in two)",
                    code,
                )
            spans.append((_minutes(a), _minutes(b), i))
        spans.sort()
        for (_a0, b0, i0), (a1, _b1, i1) in zip(spans, spans[1:]):
            if a1 < b0:
                raise _refuse(at("valid", "hours", max(i0, i1)), f"overlaps valid.hours[{min(i0, i1)}]", code)
        hours = tuple((a, b) for a, b, _ in spans)
    phase = raw.get("phase", "order" if kind == "spend_save" else "item")
    fields: dict[str, Any] = {}
    if kind in ("percent_off", "nth_item_off"):
        fields["percent"] = _percent(params["percent"], at("params", "percent"))
    if kind == "nth_item_off":
        fields["n"] = params["n"]
    if kind in ("fixed_price", "bundle_price"):
        fields["price_minor"] = params["price_minor"]
    if kind == "spend_save":
        ladder = [(r["spend_minor"], r["save_minor"]) for r in params["ladder"]]
        for i, (spend, save) in enumerate(ladder):
            if save > spend:
                raise _refuse(at("params", "ladder", i, "save_minor"), "cannot be more than spend_minor", code)
            if i and spend <= ladder[i - 1][0]:
                raise _refuse(
                    at("params", "ladder", i, "spend_minor"),
                    "the ladder must ascend (each rung spends more than the one before)",
                    code,
                )
            if i and save <= ladder[i - 1][1]:
                raise _refuse(
                    at("params", "ladder", i, "save_minor"),
                    "the ladder must ascend (each rung saves more than the one before)",
                    code,
                )
        if params.get("repeat") and len(ladder) != 1:
            raise _refuse(at("params", "repeat"), "repeat (每满…减…) takes a ladder of exactly one rung", code)
        fields.update(ladder=tuple(ladder), repeat=bool(params.get("repeat")))
    if kind == "buy_x_get_y":
        fields.update(
            buy=params["buy"],
            get=params["get"],
            repeat=bool(params.get("repeat")),
            percent=_percent(params.get("percent_off", 100), at("params", "percent_off")),
        )
    if kind == "bundle_price":
        seen: dict[str, int] = {}
        for g, group in enumerate(params["groups"]):
            for sku in group["skus"]:
                if sku in seen:
                    raise _refuse(at("params", "groups", g, "skus"), f"{sku} is already in groups[{seen[sku]}]", code)
                seen[sku] = g
        fields.update(
            groups=tuple((frozenset(g["skus"]), g["qty"]) for g in params["groups"]), repeat=bool(params.get("repeat"))
        )
    scope = raw.get("scope") or {}
    coupon = raw.get("coupon")
    if coupon is not None:
        norm = normalise_code(coupon)
        if norm is None:
            raise _refuse(at("coupon"), "a code is one word of at most 64 characters", code)
        coupon = norm
    return Promotion(
        id=raw["id"],
        name=dict(raw["name"]),
        type=kind,
        phase=phase,
        exclusive=bool(raw.get("exclusive", False)),
        priority=int(raw.get("priority", 0)),
        members_only=bool(raw.get("members_only", False)),
        tiers=frozenset(raw["tiers"]) if raw.get("tiers") is not None else None,
        coupon=coupon,
        skus=frozenset(scope.get("skus", ())),
        categories=frozenset(scope.get("categories", ())),
        brands=frozenset(scope.get("brands", ())),
        exclude_skus=frozenset(scope.get("exclude_skus", ())),
        start=start,
        end=end,
        weekdays=frozenset(valid["weekdays"]) if "weekdays" in valid else None,
        hours=hours,
        raw=raw,
        **fields,
    )


def parse_promotions(raw: Any) -> list[Promotion]:
    """A list of promotions (the command's PROMOS.json); ids are unique."""
    if not isinstance(raw, list):
        raise _refuse("promotions", "a JSON list of promotions", "invalid_promotion")
    out, seen = [], set()
    for i, item in enumerate(raw):
        p = parse_promotion(item, f"promotions[{i}]")
        if p.id in seen:
            raise _refuse(f"promotions[{i}].id", f"duplicate id {p.id!r}", "invalid_promotion")
        seen.add(p.id)
        out.append(p)
    return out


Lookup = Callable[[str], "Mapping[str, Any] | None"]


def _no_catalog(_sku: str) -> None:
    return None


def parse_basket(raw: Any, lookup: Lookup = _no_catalog, *, at: Any = None) -> Basket:
    """Validate a basket and build the engine's object. ``lookup(sku)`` gives the catalog's ``category`` and
    ``brand`` for a line that omits them; a line whose SKU the catalog does not know must carry a category.
    ``at`` (a datetime or ISO text) overrides the basket's own ``at``; one of them is required."""
    code = "invalid_basket"
    _schema_error(_BASKET_VALIDATOR, raw, "", code, _BASKET_FAST)
    when = at if at is not None else raw.get("at")
    if when is None:
        raise _refuse("at", "required (when the basket is priced, ISO 8601 with a UTC offset)", code)
    if isinstance(when, str):
        try:
            when = parse_iso(when)
        except (ValueError, TypeError):
            raise _refuse("at", f"{when!r} is not an ISO 8601 time with a UTC offset", code) from None
    member = raw.get("member")
    lines = []
    for i, ln in enumerate(raw["lines"]):
        f = f"lines[{i}]"
        weighed = "grams" in ln or "price_per_kg_minor" in ln
        need = ("grams", "price_per_kg_minor") if weighed else ("qty", "unit_price_minor")
        other = ("qty", "unit_price_minor") if weighed else ("grams", "price_per_kg_minor")
        for name in need:
            if name not in ln:
                raise _refuse(
                    f"{f}.{name}", "required (a line is qty + unit_price_minor, or grams + price_per_kg_minor)", code
                )
        for name in other:
            if name in ln:
                raise _refuse(f"{f}.{name}", "a line is sold by the piece or by weight, not both", code)
        rate = ln.get("tax_rate")
        if rate is not None:
            try:
                rate_d = Decimal(str(rate))
            except InvalidOperation:
                raise _refuse(f"{f}.tax_rate", 'a decimal rate such as "0.13"', code) from None
            if not rate_d.is_finite() or not 0 <= rate_d <= 1:
                raise _refuse(f"{f}.tax_rate", "between 0 and 1", code)
            rate = format(rate_d.normalize(), "f")
        item = None
        if "category" not in ln or "brand" not in ln:
            item = lookup(ln["sku"])
            if item is None and "category" not in ln:
                raise _refuse(f"{f}.category", f"unknown SKU {ln['sku']!r}: give its category", code)
        category = ln["category"] if "category" in ln else (item or {}).get("category") or ""
        brand = ln["brand"] if "brand" in ln else (item or {}).get("brand") or ""
        if weighed:
            lines.append(
                make_line(
                    i,
                    sku=ln["sku"],
                    category=category,
                    brand=brand,
                    grams=ln["grams"],
                    price_per_kg_minor=ln["price_per_kg_minor"],
                    tax_rate=rate,
                )
            )
        else:
            lines.append(
                make_line(
                    i,
                    sku=ln["sku"],
                    category=category,
                    brand=brand,
                    qty=ln["qty"],
                    unit_price_minor=ln["unit_price_minor"],
                    tax_rate=rate,
                )
            )
    return Basket(
        at=when,
        member=None if member is None else Member(member.get("tier")),
        coupons=tuple(raw.get("coupons") or ()),
        lines=tuple(lines),
    )

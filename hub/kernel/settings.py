"""Store settings: key → JSON value, each declared once with a default and a JSON Schema.

The kernel declares the store's identity (id, name, currency, language, timezone); every domain declares its own
settings in its ``Domain`` record and ``hub.domains`` hands them to :func:`declare` when the domain list is
loaded. Every write (``storehub init``, the settings routes, the central's downlink, the CLI) goes through
:func:`put`, which refuses an undeclared key or a value its schema refuses — a bad value cannot reach a hub and
then break something far from where it was written. ``GET /api/v1/settings/schema`` shows the declarations."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema_rs

from hub.domain import Setting
from hub.kernel.errors import ValidationError
from hub.protocol.timeutil import now_iso

_LANGUAGES = ["en", "zh-CN"]

KERNEL_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "store_id",
        "store-001",
        {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
        "Store id",
        "Unique across the chain; set by `storehub init`, never by the central.",
    ),
    Setting("store_name", "StoreHub Store", {"type": "string", "minLength": 1, "maxLength": 200}, "Store name"),
    Setting(
        "currency",
        "CNY",
        {"type": "string", "pattern": "^[A-Z]{3}$"},
        "Currency",
        "ISO 4217 code; money is kept in its minor unit.",
    ),
    Setting(
        "currency_exponent",
        2,
        {"type": "integer", "minimum": 0, "maximum": 4},
        "Currency exponent",
        "Digits of the minor unit (2 for CNY: fen).",
    ),
    Setting("language", "zh-CN", {"type": "string", "enum": _LANGUAGES}, "Store language"),
    Setting(
        "receipt_footer",
        "",
        {"type": "string", "maxLength": 500},
        "Receipt footer",
        "Printed at the foot of every receipt (often authored by head office).",
    ),
    Setting(
        "timezone",
        "Asia/Shanghai",
        {"type": "string", "minLength": 1, "maxLength": 64},
        "Time zone",
        "IANA zone name; the store's business day and the times staff see.",
    ),
)

_DECLARED: dict[str, Setting] = {}
# jsonschema-rs answers yes or no for every write; the ``jsonschema`` package (Python, ~3.5 MB with its
# referencing stack) is imported only to word a refusal, so a process that never refuses a setting never loads it
_VALIDATORS: dict[str, jsonschema_rs.Draft202012Validator] = {}


def declare(declared: Iterable[Setting]) -> None:
    """Add declared settings (``hub.domains`` calls this with every domain's). Declaring the same key again
    with the same record is harmless; a different record for a key is a programming error."""
    for s in declared:
        have = _DECLARED.get(s.key)
        if have is not None and have != s:
            raise RuntimeError(f"setting {s.key!r} is declared twice")
        _VALIDATORS[s.key] = jsonschema_rs.Draft202012Validator(s.schema)  # refuses a schema that is not one
        _DECLARED[s.key] = s


declare(KERNEL_SETTINGS)


def declared() -> dict[str, Setting]:
    return dict(_DECLARED)


def _setting(key: str) -> Setting:
    s = _DECLARED.get(key)
    if s is None:
        raise ValidationError(f"unknown setting {key!r}", code="unknown_setting", details={"known": sorted(_DECLARED)})
    return s


def get(conn: sqlite3.Connection, key: str) -> Any:
    s = _setting(key)
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return s.default if row is None else json.loads(row[0])


def get_all(conn: sqlite3.Connection) -> dict[str, Any]:
    out = {k: s.default for k, s in _DECLARED.items()}
    for r in conn.execute("SELECT key, value FROM settings"):
        if r[0] in _DECLARED:  # a row of a setting no domain declares any more is not the store's setting
            out[r[0]] = json.loads(r[1])
    return out


def validate(key: str, value: Any) -> None:
    """Refuse an undeclared key or a value its schema refuses. ``timezone`` must also be an IANA zone this
    machine knows (the central folds the store's daily figures on its local day)."""
    s = _setting(key)
    errors = [] if _VALIDATORS[key].is_valid(value) else _errors(s.schema, value)
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path)
        raise ValidationError(
            f"setting {key}{'/' + where if where else ''}: {e.message}",
            code="invalid_setting",
            details={"key": key, "errors": [x.message for x in errors[:10]]},
        )
    if key == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValidationError(
                f"timezone {value!r} is not an IANA zone name (e.g. Asia/Shanghai)", code="invalid_setting"
            ) from None


def _errors(schema: dict[str, Any], value: Any) -> list[Any]:
    """Why ``value`` is refused, worded by ``jsonschema`` (by path; empty if it finds nothing wrong)."""
    from jsonschema import Draft202012Validator

    return sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))


def put(conn: sqlite3.Connection, key: str, value: Any) -> None:
    if not conn.in_transaction:
        raise RuntimeError("settings.put outside a write transaction")
    validate(key, value)
    conn.execute(
        "INSERT INTO settings(key, value, updated_at) VALUES (?,?,?) "
        "ON CONFLICT(key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
        (key, json.dumps(value, ensure_ascii=False), now_iso()),
    )


def schema_document() -> dict[str, Any]:
    """Every declared setting: default, JSON Schema, title and description (``GET /settings/schema``)."""
    return {
        k: {"default": s.default, "schema": s.schema, "title": s.title, "description": s.description}
        for k, s in sorted(_DECLARED.items())
    }


def defaults() -> dict[str, Any]:
    """Every declared setting's default (what a hub with an empty settings table has)."""
    return {k: s.default for k, s in _DECLARED.items()}

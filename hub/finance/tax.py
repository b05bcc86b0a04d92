"""VAT categories as data with validity dates (issue 18).

A tax category (``standard``, ``reduced``, ``services``, ``zero``…) has rates, each valid from a local calendar day
to another (both included; ``valid_to`` NULL = until further notice); two periods of one category never overlap.
An item carries a category (``finance_item_tax``), else its catalog category maps to one
(``finance_category_tax``); an item with neither keeps the ``checkout.tax_rates`` setting (by catalog category,
else its default), so a store that has not entered tax data sells exactly as before.

:func:`line_rates` is what the till's pricing calls: the rates of all a cart's lines at one instant, in one query
per call (the cache of a request); :func:`version` is a cheap fingerprint of the tax data that pricing puts in its
price cache key. Rates are the decimal strings the till computes with (``"0.13"``); prices stay tax-inclusive."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from hub.kernel import audit, settings
from hub.kernel.errors import NotFound, ValidationError
from hub.protocol.timeutil import parse_iso, utcnow

ZERO_DAY = "0001-01-01"


def _rate(text: Any) -> str:
    try:
        d = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        d = Decimal(-1)
    if not d.is_finite() or d < 0 or d >= 1 or d.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValidationError(
            f"{text!r} is not a VAT rate (a decimal from 0 to below 1, e.g. 0.13)", code="invalid_tax_rate"
        )
    return str(d)


def _day(text: Any, what: str) -> str:
    try:
        return date.fromisoformat(str(text)).isoformat()
    except ValueError:
        raise ValidationError(
            f"{what} {text!r} is not a calendar day (YYYY-MM-DD)", code="invalid_tax_period"
        ) from None


def _category(conn: sqlite3.Connection, code: str) -> None:
    if conn.execute("SELECT 1 FROM finance_tax_categories WHERE code = ?", (code,)).fetchone() is None:
        raise NotFound(f"no tax category {code!r}", code="tax_category_not_found", details={"category": code})


def put_category(conn: sqlite3.Connection, code: str, *, name_en: str = "", name_zh: str = "", actor: str) -> dict:
    code = (code or "").strip()
    if not code or len(code) > 32:
        raise ValidationError("a tax category code is 1-32 characters", code="invalid_tax_category")
    conn.execute(
        "INSERT INTO finance_tax_categories(code, name_en, name_zh) VALUES (?,?,?) ON CONFLICT(code) DO UPDATE"
        " SET name_en = excluded.name_en, name_zh = excluded.name_zh",
        (code, name_en, name_zh),
    )
    audit.log(conn, actor=actor, action="finance.tax_category", target=code, details={"en": name_en, "zh": name_zh})
    return {"code": code, "name_en": name_en, "name_zh": name_zh}


def add_rate(
    conn: sqlite3.Connection, category: str, rate: Any, valid_from: str, valid_to: str | None = None, *, actor: str
) -> dict[str, Any]:
    """A rate for ``category`` from ``valid_from`` to ``valid_to`` (local days, both included). A period that
    overlaps one already entered is refused; to change a rate, end the open period (:func:`end_rate`) first."""
    _category(conn, category)
    r = _rate(rate)
    start = _day(valid_from, "valid_from")
    end = _day(valid_to, "valid_to") if valid_to else None
    if end is not None and end < start:
        raise ValidationError("the period ends before it starts", code="invalid_tax_period")
    clash = conn.execute(
        "SELECT valid_from, valid_to, rate FROM finance_tax_rates WHERE category = ? AND valid_from <= ?"
        " AND (valid_to IS NULL OR valid_to >= ?)",
        (category, end or "9999-12-31", start),
    ).fetchone()
    if clash is not None:
        raise ValidationError(
            f"{category} already has a rate from {clash[0]} to {clash[1] or '…'}",
            code="tax_rate_overlap",
            details={"category": category, "valid_from": clash[0], "valid_to": clash[1], "rate": clash[2]},
        )
    conn.execute(
        "INSERT INTO finance_tax_rates(category, rate, valid_from, valid_to) VALUES (?,?,?,?)",
        (category, r, start, end),
    )
    row = {"category": category, "rate": r, "valid_from": start, "valid_to": end}
    _bump(conn)
    audit.log(conn, actor=actor, action="finance.tax_rate", target=category, details=row)
    return row


def end_rate(conn: sqlite3.Connection, category: str, last_day: str, *, actor: str) -> dict[str, Any]:
    """Close the open-ended period of ``category`` on ``last_day`` (included)."""
    _category(conn, category)
    end = _day(last_day, "last_day")
    row = conn.execute(
        "SELECT valid_from, rate FROM finance_tax_rates WHERE category = ? AND valid_to IS NULL", (category,)
    ).fetchone()
    if row is None:
        raise NotFound(f"{category} has no open-ended rate", code="tax_rate_not_found", details={"category": category})
    if end < row[0]:
        raise ValidationError("the period ends before it starts", code="invalid_tax_period")
    conn.execute(
        "UPDATE finance_tax_rates SET valid_to = ? WHERE category = ? AND valid_from = ?", (end, category, row[0])
    )
    out = {"category": category, "rate": row[1], "valid_from": row[0], "valid_to": end}
    _bump(conn)
    audit.log(conn, actor=actor, action="finance.tax_rate_end", target=category, details=out)
    return out


def assign_item(conn: sqlite3.Connection, item_id: str, category: str | None, *, actor: str) -> dict[str, Any]:
    """Give an item a tax category (None: take its catalog category's, else the setting's)."""
    if conn.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
        raise NotFound(f"no item {item_id}", code="item_not_found")
    if category is None:
        conn.execute("DELETE FROM finance_item_tax WHERE item_id = ?", (item_id,))
    else:
        _category(conn, category)
        conn.execute(
            "INSERT INTO finance_item_tax(item_id, category) VALUES (?,?) ON CONFLICT(item_id) DO UPDATE"
            " SET category = excluded.category",
            (item_id, category),
        )
    _bump(conn)
    audit.log(conn, actor=actor, action="finance.item_tax", target=item_id, details={"category": category})
    return {"item_id": item_id, "category": category}


def assign_catalog_category(
    conn: sqlite3.Connection, catalog_category: str, category: str | None, *, actor: str
) -> dict[str, Any]:
    if category is None:
        conn.execute("DELETE FROM finance_category_tax WHERE catalog_category = ?", (catalog_category,))
    else:
        _category(conn, category)
        conn.execute(
            "INSERT INTO finance_category_tax(catalog_category, category) VALUES (?,?) ON CONFLICT(catalog_category)"
            " DO UPDATE SET category = excluded.category",
            (catalog_category, category),
        )
    _bump(conn)
    audit.log(conn, actor=actor, action="finance.category_tax", target=catalog_category, details={"category": category})
    return {"catalog_category": catalog_category, "category": category}


def categories(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    cats = [dict(r) for r in conn.execute("SELECT code, name_en, name_zh FROM finance_tax_categories ORDER BY code")]
    for c in cats:
        c["rates"] = [
            dict(r)
            for r in conn.execute(
                "SELECT rate, valid_from, valid_to FROM finance_tax_rates WHERE category = ? ORDER BY valid_from",
                (c["code"],),
            )
        ]
    return cats


def _local_day(conn: sqlite3.Connection, at: datetime | str | None) -> str:
    when = utcnow() if at is None else (parse_iso(at) if isinstance(at, str) else at)
    return when.astimezone(ZoneInfo(settings.get(conn, "timezone"))).date().isoformat()


_LOOKUP = """
SELECT i.id, COALESCE(it.category, ct.category) AS tax_category,
  (SELECT r.rate FROM finance_tax_rates r WHERE r.category = COALESCE(it.category, ct.category)
     AND r.valid_from <= :day AND (r.valid_to IS NULL OR r.valid_to >= :day)) AS rate
FROM items i
LEFT JOIN finance_item_tax it ON it.item_id = i.id
LEFT JOIN finance_category_tax ct ON ct.catalog_category = i.category
WHERE i.id IN ({marks})
"""


def _from_setting(rates: dict[str, Any], category: str) -> str:
    return str((rates.get("categories") or {}).get(category, rates["default"]))


def line_rates(
    conn: sqlite3.Connection,
    lines: Sequence[dict[str, Any]],
    fallback: dict[str, Any],
    at: datetime | str | None = None,
) -> list[str]:
    """The VAT rate in force at ``at`` (now if None) for each line (``item_id`` and catalog ``category``): its
    tax category's rate that day, else ``fallback`` (the ``checkout.tax_rates`` setting) by catalog category.
    One query for all the lines."""
    if not lines:
        return []
    ids = sorted({str(ln["item_id"]) for ln in lines})
    params: dict[str, Any] = {"day": _local_day(conn, at)}
    params.update({f"i{n}": v for n, v in enumerate(ids)})
    sql = _LOOKUP.format(marks=",".join(f":i{n}" for n in range(len(ids))))
    found = {r[0]: (r[1], r[2]) for r in conn.execute(sql, params)}
    out = []
    for ln in lines:
        cat, rate = found.get(str(ln["item_id"]), (None, None))
        if cat is not None and rate is None:
            raise ValidationError(
                f"tax category {cat} has no rate in force on {params['day']}",
                code="tax_rate_missing",
                details={"category": cat, "day": params["day"]},
            )
        out.append(rate if rate is not None else _from_setting(fallback, ln["category"]))
    return out


def rate_for(conn: sqlite3.Connection, item_id: str, at: datetime | str | None = None) -> str:
    """The VAT rate in force for one item at ``at`` (now if None)."""
    row = conn.execute("SELECT category FROM items WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"no item {item_id}", code="item_not_found")
    return line_rates(conn, [{"item_id": item_id, "category": row[0]}], settings.get(conn, "checkout.tax_rates"), at)[0]


def version(conn: sqlite3.Connection) -> int:
    """A counter of changes to the tax data, for price caches (a rate's validity turns at local midnight, which
    the till's price cache already re-prices at: it never keeps a price past the next quarter hour)."""
    return int(conn.execute("SELECT version FROM finance_tax_version WHERE id = 1").fetchone()[0])


def _bump(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE finance_tax_version SET version = version + 1 WHERE id = 1")

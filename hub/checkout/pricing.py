"""The one pricing function a cart calls: list price (or the price set by hand), the promotions engine
(``hub.promotions.model.price_basket``), then the cashier's manual discount, then the tax each net includes.

Every line comes back explained: gross, each promotion's discount with its name, the manual discount, net and
tax. A variable-measure label that states its price is sold for that price (the scale printed it), as one
piece; a weighed line is priced by the engine from grams × price per kg; the engine rounds half up.

A cart is priced once per change, not once per look: the result is a pure function of the cart's lines (as
joined with their items), the ``checkout.tax_rates`` and ``timezone`` settings, the delivered promotions (by
downlink version) and which of them are in force — and that last input only changes at a promotion's start or
end, at an ``hours`` boundary or at local midnight (``weekdays``). So :func:`price_lines` keeps each result
with the instant up to which it holds (:func:`valid_until`) and hands it back while every input is the same;
the scan that changed the cart pays for the engine, the view, the tender and the commit that follow reuse it,
and the journal records exactly the price the till showed. A change to any input is a different key: nothing
has to invalidate anything."""

from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.checkout import rules
from hub.finance import tax as finance_tax
from hub.kernel import settings
from hub.promotions import model as promotions
from hub.protocol.timeutil import utcnow
from hub.synclink import downlink

_KEEP = 1024  # priced carts kept per process (a store has tens of tills, a few carts each)
_PRICED: OrderedDict[tuple, tuple[datetime, datetime, dict[str, Any]]] = OrderedDict()
_CALENDARS: OrderedDict[tuple[str, int], Calendar] = OrderedDict()
_LOCK = threading.Lock()  # gunicorn's gthread workers price on many threads of one process


def tax_rate(rates: dict[str, Any], category: str) -> str:
    return str((rates.get("categories") or {}).get(category, rates["default"]))


def basket_line(line: dict[str, Any], rate: str) -> dict[str, Any]:
    """What the engine prices for one cart line."""
    out: dict[str, Any] = {"sku": line["sku"], "category": line["category"], "brand": line["brand"], "tax_rate": rate}
    if line["weighed"]:
        if line["label_price_minor"] is not None and line["price_override_minor"] is None:
            out.update(qty=1, unit_price_minor=line["label_price_minor"])
        else:
            out.update(grams=line["qty"], price_per_kg_minor=_unit_price(line))
    else:
        out.update(qty=line["qty"], unit_price_minor=_unit_price(line))
    return out


def _unit_price(line: dict[str, Any]) -> int:
    return int(line["price_override_minor"] if line["price_override_minor"] is not None else line["price_minor"])


@dataclass(frozen=True)
class Calendar:
    """When the set of promotions in force can change: every start and end (UTC, sorted) and the local
    minutes of the day at which an ``hours`` window opens or closes (midnight always, for ``weekdays``)."""

    edges: tuple[datetime, ...]
    minutes: tuple[int, ...]

    @classmethod
    def of(cls, conn: sqlite3.Connection, version: int) -> Calendar:
        key = (conn.execute("PRAGMA database_list").fetchone()[2], version)
        with _LOCK:
            found = _CALENDARS.get(key)
        if found is None:
            promos = promotions.delivered(conn)[0].promotions
            found = cls(
                edges=tuple(sorted({x for p in promos for x in (p.start, p.end)})),
                minutes=tuple(sorted({0} | {m for p in promos for w in (p.hours or ()) for m in w})),
            )
            with _LOCK:
                _CALENDARS[key] = found
                while len(_CALENDARS) > 8:
                    _CALENDARS.popitem(last=False)
        return found

    def valid_until(self, at: datetime, zone: ZoneInfo) -> datetime:
        """The first instant after ``at`` at which a promotion may come into or go out of force — at the latest
        the next quarter hour (UTC): no time zone changes its offset between two of them, so the local
        arithmetic below is exact up to there, summer time or not."""
        i = bisect.bisect_right(self.edges, at)
        nxt = self.edges[i] if i < len(self.edges) else datetime.max.replace(tzinfo=UTC)
        local = at.astimezone(zone)
        minute = local.hour * 60 + local.minute
        j = bisect.bisect_right(self.minutes, minute)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        turn = (
            day + timedelta(minutes=self.minutes[j])
            if j < len(self.minutes)
            else day + timedelta(days=1, minutes=self.minutes[0])
        )
        utc = at.astimezone(UTC)
        quarter = utc.replace(minute=utc.minute // 15 * 15, second=0, microsecond=0) + timedelta(minutes=15)
        return min(nxt, turn.astimezone(UTC), quarter)


PRICED = (
    "lines",
    "applied",
    "subtotal_minor",
    "discount_minor",
    "total_minor",
    "promotion_discount_minor",
    "manual_discount_minor",
    "tax",
    "promotions_version",
)


def part_of(view: dict[str, Any]) -> dict[str, Any]:
    """The price inside a cart's view (what :func:`price_lines` returned for it), to hand to the next view."""
    return {k: view[k] for k in PRICED}


def price_lines(
    conn: sqlite3.Connection,
    lines: Sequence[dict[str, Any]],
    at: datetime | str | None = None,
    *,
    coupons: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Price the cart's live lines (cart line rows joined with their items) now, or at ``at``. Returns the
    priced lines in the same order and the totals; ``promotions_version`` names the promotions the price used.

    Now, the same lines under the same settings and promotions get the result already computed, as long as
    no promotion has come into or gone out of force since (see the module docstring); the caller gets its
    own copy, so nothing it changes reaches the kept one. ``coupons``: the cart's single-use codes → the promotion
    each unlocks (hub/promotions/coupons.py)."""
    coupons = coupons or {}
    rates = settings.get(conn, "checkout.tax_rates")
    version = downlink.version(conn)
    if at is not None or not lines:
        return _price(conn, lines, rates, version, at, coupons)
    db_file = conn.execute("PRAGMA database_list").fetchone()[2]
    if not db_file:  # an in-memory database has no name to tell it from another
        return _price(conn, lines, rates, version, at, coupons)
    tz = settings.get(conn, "timezone")
    taxes = finance_tax.version(conn)  # VAT categories and rates as data (hub.finance.tax)
    lines_key = tuple(tuple(ln.items()) for ln in lines)
    key = (db_file, version, tz, json.dumps(rates, sort_keys=True), taxes, lines_key, tuple(sorted(coupons.items())))
    now = utcnow()
    with _LOCK:
        kept = _PRICED.get(key)
        if kept is not None:
            _PRICED.move_to_end(key)
    if kept is not None and kept[0] <= now < kept[1]:
        return _copied(kept[2])
    result = _price(conn, lines, rates, version, now, coupons)
    until = Calendar.of(conn, version).valid_until(now, ZoneInfo(tz))
    with _LOCK:
        _PRICED[key] = (now, until, result)
        while len(_PRICED) > _KEEP:
            _PRICED.popitem(last=False)
    return _copied(result)


def _copied(x: Any) -> Any:
    """A copy of the JSON-shaped result (dicts and lists; the leaves are immutable) — several times cheaper than
    ``copy.deepcopy``, which would cost more than the engine it saves."""
    if isinstance(x, dict):
        return {k: _copied(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_copied(v) for v in x]
    return x


def _price(
    conn: sqlite3.Connection,
    lines: Sequence[dict[str, Any]],
    rates: dict[str, Any],
    version: int,
    at: datetime | str | None,
    coupons: dict[str, str] | None = None,
) -> dict[str, Any]:
    line_rates = finance_tax.line_rates(conn, lines, rates, at)  # the rate in force, else the setting's
    result: dict[str, Any] = {"lines": [], "applied": []}
    if lines:
        basket = {"lines": [basket_line(ln, r) for ln, r in zip(lines, line_rates)], "coupons": list(coupons or ())}
        priced = promotions.price_basket(conn, basket, at, issued_codes=coupons or None)
        names = promotions.delivered(conn)[0].by_id
    else:
        priced = {"lines": [], "applied": []}
        names = {}
    out_lines = []
    tax_by_rate: dict[str, int] = {}
    for ln, p, rate in zip(lines, priced["lines"], line_rates):
        discounts = [
            {
                "promotion": a["promotion"],
                "name": dict(names[a["promotion"]].name)
                if a["promotion"] in names
                else {"en": a["promotion"], "zh-CN": a["promotion"]},
                "discount_minor": a["discount_minor"],
            }
            for a in p["applied"]
            if a["discount_minor"]
        ]
        promo = int(p["discount_minor"])
        after = int(p["net_minor"])
        manual = min(int(ln["manual_discount_minor"] or 0), after)
        net = after - manual
        tax = rules.tax_included(net, rate)
        tax_by_rate[rate] = tax_by_rate.get(rate, 0) + tax
        unit = (
            _unit_price(ln)
            if not (ln["weighed"] and ln["label_price_minor"] is not None and ln["price_override_minor"] is None)
            else None
        )
        out_lines.append(
            {
                "id": ln["id"],
                "pos": ln["pos"],
                "item_id": ln["item_id"],
                "sku": ln["sku"],
                "name_en": ln["name_en"],
                "name_zh": ln["name_zh"],
                "unit": ln["unit"],
                "qty": ln["qty"],
                "weighed": bool(ln["weighed"]),
                "list_price_minor": ln["price_minor"],
                "unit_price_minor": unit,
                "label_price_minor": ln["label_price_minor"],
                "price_override_minor": ln["price_override_minor"],
                "override_reason": ln["override_reason"],
                "gross_minor": int(p["gross_minor"]),
                "discounts": discounts,
                "promotion_discount_minor": promo,
                "manual_discount_minor": manual,
                "discount_reason": ln["discount_reason"],
                "discount_minor": promo + manual,
                "net_minor": net,
                "tax_rate": rate,
                "tax_minor": tax,
                "code": ln["code"],
            }
        )
    subtotal = sum(x["gross_minor"] for x in out_lines)
    discount = sum(x["discount_minor"] for x in out_lines)
    result.update(
        lines=out_lines,
        subtotal_minor=subtotal,
        discount_minor=discount,
        total_minor=subtotal - discount,
        promotion_discount_minor=sum(x["promotion_discount_minor"] for x in out_lines),
        manual_discount_minor=sum(x["manual_discount_minor"] for x in out_lines),
        tax=[{"rate": r, "tax_minor": t} for r, t in sorted(tax_by_rate.items())],
        applied=[
            {**a, "name": dict(names[a["promotion"]].name) if a["promotion"] in names else None}
            for a in priced["applied"]
        ],
        promotions_version=version,
    )
    return result

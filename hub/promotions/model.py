"""Promotions on the hub: what the downlink delivered, today's promotions, and the price of a basket.

Every function takes an open connection and only reads: the promotions come from ``hub.synclink.downlink``
(which owns and writes ``central_promotions``), categories and brands from the catalog, the time zone from the
store's settings. The validated promotions and their index are kept per downlink version, because they change
only when a downlink page lands and the checkout prices on every scan."""

from __future__ import annotations

import gc
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.inventory import catalog
from hub.kernel import settings
from hub.kernel.errors import StoreHubError, ValidationError
from hub.promotions import engine
from hub.promotions.validation import parse_basket, parse_promotion
from hub.protocol.timeutil import iso, parse_iso, utcnow
from hub.synclink import downlink

log = logging.getLogger(__name__)
_INDEXES: OrderedDict[tuple[str, int], tuple[engine.PromotionIndex, list[dict[str, str]]]] = OrderedDict()
_KEEP = 8  # hubs (data directories) one process serves at most, in tests
_BUILDING = threading.Lock()
_SETTLE = threading.Lock()
_SETTLE_EVERY_S = 60.0  # a hub gets new promotions a few times a day; a test process builds hundreds of indexes
_settled_at = [float("-inf")]


def compiled(promotions: list[engine.Promotion]) -> engine.PromotionIndex:
    """The index the engine prices with, built once per downlink version and kept for the process's life —
    and then set aside from the garbage collector: what is alive now (the app, the index, the catalog a
    process holds) is collected once and frozen (``gc.freeze``), so the collections that pricing's own garbage
    triggers later walk only what was made since, not the whole process (a full collection of a hub process
    took 30+ ms of CPU and stalled a scan now and then). The previous freeze is undone first, so nothing dead
    stays kept; at most once a minute, since the full collection it costs is paid on the request that built
    the index."""
    index = engine.PromotionIndex(promotions)
    with _SETTLE:
        now = time.monotonic()
        if now - _settled_at[0] >= _SETTLE_EVERY_S:
            _settled_at[0] = now
            gc.unfreeze()
            gc.collect()
            gc.freeze()
    return index


def delivered(conn: sqlite3.Connection) -> tuple[engine.PromotionIndex, list[dict[str, str]]]:
    """The delivered promotions that validate, indexed, and the ones that do not (``[{id, error}]``).

    A promotion the central published under an older format is skipped, not fatal: pricing goes on with the
    rest, and the active list says what was skipped so head office can republish it."""
    db_file = conn.execute("PRAGMA database_list").fetchone()[2]
    key = (db_file, downlink.version(conn))
    found = _INDEXES.get(key) if db_file else None
    if found is not None:
        return found
    with _BUILDING:  # one build at a time: a scan that comes while ``warm`` builds waits for it, not builds twice
        found = _INDEXES.get(key) if db_file else None
        if found is None:
            found = _build(conn)
            if db_file:
                _INDEXES[key] = found
                while len(_INDEXES) > _KEEP:
                    _INDEXES.popitem(last=False)
    return found


def _build(conn: sqlite3.Connection) -> tuple[engine.PromotionIndex, list[dict[str, str]]]:
    good, skipped = [], []
    for pid, body in downlink.promotions(conn).items():
        try:
            good.append(parse_promotion(body))
        except StoreHubError as exc:
            skipped.append({"id": pid, "error": exc.message})
    return compiled(good), skipped


def warm(database: Any) -> None:
    """Build the index of the delivered promotions now, from a read connection (``hub.kernel.db.Database``),
    so that the first scan a web worker serves does not build it inside its write transaction — 200+ ms for a
    chain's 2,000 promotions, during which every other till's scan waited for the write lock. Run by a thread
    when a worker starts (``api.py``); failures are left to that first scan to report."""
    try:
        delivered(database.read())
    except Exception:  # noqa: BLE001 - a warm-up only: the first scan builds it and says what is wrong
        log.warning("promotions: the index was not built ahead of the first scan", exc_info=True)


def _when(at: datetime | str | None) -> datetime:
    if at is None:
        return utcnow()
    if isinstance(at, str):
        try:
            return parse_iso(at)
        except ValueError:
            raise ValidationError(
                f"at: {at!r} is not an ISO 8601 time with a UTC offset", code="invalid_basket", details={"field": "at"}
            ) from None
    return at


def _catalog_lookup(conn: sqlite3.Connection):
    def lookup(sku: str) -> Mapping[str, Any] | None:
        return catalog.get_item_by_sku(conn, sku)

    return lookup


def price_basket(
    conn: sqlite3.Connection,
    basket: Mapping[str, Any],
    at: datetime | str | None = None,
    *,
    issued_codes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Price a basket with the promotions in force (what the checkout calls on each scan and at tender).

    ``at`` is the sale's time (default: the basket's ``at``, else now); category and brand come from the
    catalog when a line omits them; ``issued_codes`` maps reserved single-use coupon codes to promotion ids."""
    has_own = isinstance(basket, Mapping) and basket.get("at") is not None
    when = None if at is None and has_own else _when(at)
    parsed = parse_basket(basket, _catalog_lookup(conn), at=when)
    index, _skipped = delivered(conn)
    return engine.price(index, parsed, settings.get(conn, "timezone"), issued_codes=issued_codes)


def _summary(p: engine.Promotion, local_day: tuple[datetime, datetime]) -> dict[str, Any]:
    raw = dict(p.raw or {})
    return {
        "id": p.id,
        "name": dict(p.name),
        "type": p.type,
        "phase": p.phase,
        "params": raw.get("params", {}),
        "scope": raw.get("scope", {}),
        "members_only": p.members_only or p.tiers is not None,
        "tiers": sorted(p.tiers) if p.tiers is not None else None,
        "coupon": p.coupon,
        "exclusive": p.exclusive,
        "priority": p.priority,
        "from": iso(max(p.start, local_day[0])),
        "to": iso(min(p.end, local_day[1])),
        "hours": [[f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}"] for a, b in p.hours or ()],
    }


def active(conn: sqlite3.Connection, at: datetime | str | None = None) -> dict[str, Any]:
    """The promotions in force at some time of the store-local day of ``at`` (default: today), in rank order."""
    when = _when(at)
    tz = settings.get(conn, "timezone")
    zone = ZoneInfo(tz)
    local = when.astimezone(zone)
    start_local = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day = (start_local.astimezone(UTC), (start_local + timedelta(days=1)).astimezone(UTC))
    index, skipped = delivered(conn)
    items = [
        _summary(p, day)
        for p in index.promotions
        if p.start < day[1] and p.end > day[0] and (p.weekdays is None or local.isoweekday() in p.weekdays)
    ]
    return {"date": local.date().isoformat(), "timezone": tz, "items": items, "skipped": skipped}

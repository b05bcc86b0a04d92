"""Head-office promotion authoring (issue 14, "Head office and hub"): check, flag, preview and publish.

Pure functions over the central's engine; the pages are :mod:`sync.central.promotions_views`.

- ``check(raw)``: the hubs' own validator (``hub.promotions.validation.parse_promotion``); its refusal names the
  field (``valid.hours[1]``, ``params.ladder[0].spend_minor``).
- ``flags(engine, raw, stores, now)``: what head office should see before publishing. *Can never apply*: a
  scope that matches no item of the central catalog (items authored through the downlink and items the stores
  report), a valid window already over, hours wholly outside the stores' opening hours, weekdays that never fall
  in the valid window. *Coupon-only* with no single-use codes issued (sync/central/coupons.py): only the
  promotion's own code unlocks it. *Conflicts* with what is already published to an overlapping set of stores, in an
  overlapping time and scope: two promotions of the same phase where either is exclusive (only one can be used),
  or of the same phase and the same priority (the engine then decides by id alone).
- ``preview(engine, raw, basket, store)``: a sample basket priced by the same engine (``hub.promotions.engine.price``)
  with the draft and the promotions already published to that store (the draft replaces its own earlier version),
  category and brand from the central catalog, in the store's time zone.
- ``publish(engine, raw, stores, user, acknowledge)``: one downlink change of kind ``promotion`` per target
  (``*`` = every store); refused for a non-admin, for an invalid promotion and, unless acknowledged, for a flagged
  one. The downlink row is the audit record (author ``office:<username>``, time, version, scope)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from hub.kernel.errors import Forbidden, StoreHubError, ValidationError
from hub.promotions import engine as pricing
from hub.promotions.validation import parse_basket, parse_promotion
from hub.protocol.timeutil import utcnow
from sync.central import downlink
from sync.central import schema as t

log = logging.getLogger("storehub.central.promotions")

# Opening hours the "hours outside opening" flag checks against (store-local): stores have no per-store opening
# hours at the central, so this is the chain's trading day.
OPENING_HOURS = ((7 * 60, 23 * 60),)
DEFAULT_TIMEZONE = "Asia/Shanghai"

# A starting point per type for the authoring form: each one validates as is.
EXAMPLE_PARAMS: dict[str, dict[str, Any]] = {
    "percent_off": {"percent": 10},
    "fixed_price": {"price_minor": 990},
    "spend_save": {"ladder": [{"spend_minor": 10000, "save_minor": 1000}], "repeat": True},
    "buy_x_get_y": {"buy": 2, "get": 1, "percent_off": 100, "repeat": True},
    "bundle_price": {"groups": [{"skus": ["SKU-A"], "qty": 1}, {"skus": ["SKU-B"], "qty": 1}], "price_minor": 1500},
    "nth_item_off": {"n": 2, "percent": 50},
}

TEXT: dict[str, dict[str, str]] = {
    "scope_matches_nothing": {
        "en": "Its scope matches no item in the central catalog: it can never apply.",
        "zh-CN": "适用范围匹配不到总部商品目录中的任何商品：永远不会生效。",
    },
    "window_past": {
        "en": "Its valid window ended at {to}: it can never apply.",
        "zh-CN": "有效期已于 {to} 结束：永远不会生效。",
    },
    "hours_outside_opening": {
        "en": "Its hours fall wholly outside opening hours ({opening}): it can never apply.",
        "zh-CN": "促销时段完全在营业时间（{opening}）之外：永远不会生效。",
    },
    "weekdays_never": {
        "en": "None of its weekdays falls within its valid window: it can never apply.",
        "zh-CN": "有效期内没有任何一天属于所选星期：永远不会生效。",
    },
    "coupon_without_codes": {
        "en": "Coupon-only with no single-use codes issued: only baskets carrying the code {coupon} can get it.",
        "zh-CN": "仅限优惠券，但尚未发放任何一次性券码：只有出示券码 {coupon} 的订单才能享受。",
    },
    "exclusive_overlap": {
        "en": "Overlaps {other} (same phase, scope, stores and time) and one of them is exclusive: only one applies.",
        "zh-CN": "与 {other} 在同一阶段、范围、门店和时间重叠，且其中一个为独享：只有一个会生效。",
    },
    "priority_tie": {
        "en": "Overlaps {other} with the same priority {priority}: which one applies is decided by id alone.",
        "zh-CN": "与 {other} 重叠且优先级同为 {priority}：只能按编号决定哪个生效。",
    },
}


def text(code: str, lang: str, **params: Any) -> str:
    return TEXT[code]["zh-CN" if lang == "zh-CN" else "en"].format(**params)


def check(raw: Any) -> tuple[pricing.Promotion | None, list[dict[str, Any]]]:
    """The promotion parsed by the hubs' validator, or the refusal naming its field."""
    try:
        return parse_promotion(raw), []
    except StoreHubError as exc:
        field = (exc.details or {}).get("field", "") if hasattr(exc, "details") else ""
        return None, [{"field": field, "message": str(exc), "code": exc.code}]


# --- the central catalog and what is published -------------------------------------------------------------------


def catalog(engine: Engine) -> dict[str, dict[str, str]]:
    """SKU -> {category, brand}: items head office authored (downlink) and items the stores report."""
    out: dict[str, dict[str, str]] = {}
    with engine.connect() as conn:
        for sku, category in conn.execute(select(t.store_items.c.sku, t.store_items.c.category)):
            out.setdefault(sku, {"category": category or "", "brand": ""})
        c = t.downlink_changes.c
        for (payload,) in conn.execute(select(c.payload).where(c.kind == "item").order_by(c.version)):
            if isinstance(payload, dict) and payload.get("sku"):
                out[payload["sku"]] = {
                    "category": payload.get("category") or "",
                    "brand": payload.get("brand") or "",
                }
    return out


def published(engine: Engine) -> list[dict[str, Any]]:
    """The latest published version of each promotion per target (scope), newest first."""
    c = t.downlink_changes.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.version, c.key, c.scope, c.payload, c.author, c.created_at)
            .where(c.kind == "promotion")
            .order_by(c.version.desc())
        ).mappings()
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            latest.setdefault((r["key"], r["scope"]), dict(r))
    return sorted(latest.values(), key=lambda r: -r["version"])


def latest_payload(engine: Engine, promotion_id: str) -> dict[str, Any] | None:
    rows = [r for r in published(engine) if r["key"] == promotion_id]
    return rows[0]["payload"] if rows else None


def targets_of(engine: Engine, promotion_id: str) -> list[str]:
    return sorted({r["scope"] for r in published(engine) if r["key"] == promotion_id})


# --- flags ----------------------------------------------------------------------------------------------------------


def _covered(p: pricing.Promotion, cat: dict[str, dict[str, str]]) -> set[str] | None:
    """Catalog SKUs the promotion's scope reaches (None: the whole basket)."""
    if p.whole_basket:
        return None
    group_skus = set().union(*(skus for skus, _q in p.groups)) if p.groups else set()
    out = set()
    for sku, it in cat.items():
        if sku in p.exclude_skus:
            continue
        if p.groups and sku not in group_skus:
            continue
        if p.skus or p.categories or p.brands:
            if not (sku in p.skus or it["category"] in p.categories or (it["brand"] and it["brand"] in p.brands)):
                continue
        out.add(sku)
    return out


def _scopes_overlap(a: pricing.Promotion, b: pricing.Promotion, cat: dict[str, dict[str, str]]) -> bool:
    ca, cb = _covered(a, cat), _covered(b, cat)
    if ca is None or cb is None:
        return True
    if ca & cb:
        return True
    # named the same thing even if the catalog does not (yet) hold it
    return bool(
        (a.skus & b.skus) - a.exclude_skus - b.exclude_skus or a.categories & b.categories or a.brands & b.brands
    )


def _hours(p: pricing.Promotion) -> tuple[tuple[int, int], ...]:
    return p.hours or ((0, 24 * 60),)


def _times_overlap(a: pricing.Promotion, b: pricing.Promotion) -> bool:
    if not (a.start < b.end and b.start < a.end):
        return False
    if a.weekdays is not None and b.weekdays is not None and not (a.weekdays & b.weekdays):
        return False
    return any(x0 < y1 and y0 < x1 for x0, x1 in _hours(a) for y0, y1 in _hours(b))


def _stores_overlap(x: list[str], y: list[str]) -> bool:
    return "*" in x or "*" in y or bool(set(x) & set(y))


def _issued_codes(engine: Engine, promotion_id: str) -> int:
    """Single-use codes issued for the promotion (sync/central/coupons.py)."""
    from sync.central import coupons

    c = coupons.coupon_codes.c
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(coupons.coupon_codes).where(c.promotion_id == promotion_id)
            ).scalar()
            or 0
        )


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def _zone(engine: Engine, stores: list[str]) -> ZoneInfo:
    name = DEFAULT_TIMEZONE
    if stores and stores[0] != "*":
        with engine.connect() as conn:
            tz = conn.execute(select(t.stores.c.timezone).where(t.stores.c.store_id == stores[0])).scalar()
        if tz and tz != "UTC":
            name = tz
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def flags(
    engine: Engine, raw: dict[str, Any], stores: list[str], now: datetime | None = None, lang: str = "en"
) -> list[dict[str, Any]]:
    """What head office should see before publishing ``raw`` to ``stores``: conflicts and can-never-apply."""
    p, errors = check(raw)
    if p is None:
        return []
    now = now or utcnow()
    cat = catalog(engine)
    out: list[dict[str, Any]] = []

    def flag(code: str, kind: str, field: str, **params: Any) -> None:
        out.append({"code": code, "kind": kind, "field": field, "message": text(code, lang, **params), **params})

    covered = _covered(p, cat)
    if covered is not None and not covered:
        flag("scope_matches_nothing", "never", "scope")
    if p.end <= now:
        flag("window_past", "never", "valid.to", to=p.end.isoformat())
    if p.hours and not any(a < c1 and c0 < b for a, b in p.hours for c0, c1 in OPENING_HOURS):
        flag(
            "hours_outside_opening",
            "never",
            "valid.hours",
            opening=", ".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in OPENING_HOURS),
        )
    if p.weekdays is not None and p.end - p.start < timedelta(days=7):
        zone = _zone(engine, stores)
        day, last = p.start.astimezone(zone).date(), (p.end - timedelta(microseconds=1)).astimezone(zone).date()
        days = set()
        while day <= last:
            days.add(day.isoweekday())
            day += timedelta(days=1)
        if not days & p.weekdays:
            flag("weekdays_never", "never", "valid.weekdays")

    if p.coupon and _issued_codes(engine, p.id) == 0:
        flag("coupon_without_codes", "coupon_only", "coupon", coupon=p.coupon)

    by_id: dict[str, dict[str, Any]] = {}
    for r in published(engine):
        if r["key"] == p.id:
            continue
        e = by_id.setdefault(r["key"], {"payload": r["payload"], "stores": []})
        e["stores"].append(r["scope"])
    for other_id, e in sorted(by_id.items()):
        try:
            q = parse_promotion(e["payload"])
        except StoreHubError:
            continue
        if q.phase != p.phase or q.end <= now or not _stores_overlap(stores, e["stores"]):
            continue
        if not (_times_overlap(p, q) and _scopes_overlap(p, q, cat)):
            continue
        if p.exclusive or q.exclusive:
            flag("exclusive_overlap", "conflict", "exclusive", other=other_id)
        elif p.priority == q.priority:
            flag("priority_tie", "conflict", "priority", other=other_id, priority=p.priority)
    return out


# --- preview and publish ----------------------------------------------------------------------------------------------


def in_force_for(engine: Engine, store: str, exclude: str | None = None) -> list[pricing.Promotion]:
    """The promotions published to ``store`` (or to every store), parsed; ``exclude`` leaves one id out."""
    out, seen = [], set()
    for r in published(engine):
        if r["key"] == exclude or r["key"] in seen or r["scope"] not in ("*", store):
            continue
        seen.add(r["key"])
        try:
            out.append(parse_promotion(r["payload"]))
        except StoreHubError:
            continue
    return out


def preview(engine: Engine, raw: dict[str, Any], basket: Any, store: str = "*") -> dict[str, Any]:
    """A sample basket priced by the hubs' engine with the draft and what ``store`` already has."""
    p = parse_promotion(raw)
    cat = catalog(engine)
    parsed = parse_basket(basket, lambda sku: cat.get(sku))
    promos = [*in_force_for(engine, store, exclude=p.id), p]
    return pricing.price(promos, parsed, _zone(engine, [store]))


class Flagged(ValidationError):
    code = "promotion_flagged"


def publish(
    engine: Engine,
    raw: dict[str, Any],
    stores: list[str],
    user: dict[str, Any],
    *,
    acknowledge: bool = False,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Publish to each target through the versioned downlink; returns the changes (with their versions)."""
    if user.get("role") != "admin":
        raise Forbidden("publishing a promotion needs a head-office admin", code="forbidden")
    if not stores:
        raise ValidationError(
            "stores: choose every store or at least one", code="invalid_promotion", details={"field": "stores"}
        )
    p, errors = check(raw)
    if p is None:
        e = errors[0]
        raise ValidationError(e["message"], code="invalid_promotion", details={"field": e["field"]})
    found = flags(engine, raw, stores, now)
    if found and not acknowledge:
        raise Flagged(
            f"{len(found)} flag(s) to acknowledge before publishing: " + "; ".join(f["code"] for f in found),
            code="promotion_flagged",
            details={"field": found[0]["field"], "flags": [f["code"] for f in found]},
        )
    targets = ["*"] if "*" in stores else sorted(set(stores))
    out = []
    for scope in targets:
        row = downlink.author(engine, "promotion", raw, key=p.id, scope=scope, author=f"office:{user['username']}")
        out.append(row)
        log.info(
            "promotion %s published to %s as downlink version %s by %s (flags acknowledged: %s)",
            p.id,
            scope,
            row["version"],
            user["username"],
            [f["code"] for f in found],
        )
    return out

"""Builders of promotions and baskets in the head-office format, shared by the promotions tests."""

from __future__ import annotations

from typing import Any

from hub.promotions.engine import price
from hub.promotions.validation import parse_basket, parse_promotions

VALID = {"from": "2026-01-01T00:00:00+08:00", "to": "2027-01-01T00:00:00+08:00"}
AT = "2026-06-03T04:00:00Z"  # a Wednesday, 12:00 in Shanghai


def promo(pid: str, kind: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": pid, "name": {"en": pid, "zh-CN": pid}, "type": kind, "params": params, "valid": dict(VALID), **extra}


def line(sku: str, qty: int, unit: int, category: str = "grocery", **extra: Any) -> dict[str, Any]:
    return {"sku": sku, "qty": qty, "unit_price_minor": unit, "category": category, **extra}


def basket(*lines: dict[str, Any], at: str = AT, member: dict | None = None, coupons: list | None = None) -> dict:
    return {"at": at, "member": member, "coupons": coupons or [], "lines": list(lines)}


def run(promos: list[dict[str, Any]], b: dict[str, Any], tz: str = "Asia/Shanghai", **kw: Any) -> dict[str, Any]:
    return price(parse_promotions(promos), parse_basket(b), tz, **kw)


def applied(result: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {a["promotion"]: (a["discount_minor"], a["times"]) for a in result["applied"]}

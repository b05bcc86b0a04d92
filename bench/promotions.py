"""Promotions benchmark (issue 14 "Promotions and coupons").

A chain-sized catalog and promotion set, priced with the engine every sale uses:

- 50,000 items over 400 categories and 300 brands (one in ten sold by weight);
- 2,000 promotions in force at once with overlapping scopes: 1,200 on lists of SKUs (percent off, fixed
  price, 第二件半价, buy-x-get-y, bundles), 500 on categories, 200 on brands and 100 order-phase ones
  (每满…减…, ladders, order percent off; some exclusive, some members-only, some behind a coupon);
- baskets drawn half from promoted items (what shoppers buy when there is an offer) and half from the rest.

Figures:
- basket100_p99_ms (target <= 10): a 100-line basket priced with the best-deal search (engine.price on a
  validated basket; the index is built once, as the hub keeps it per downlink version);
- add_line_p99_ms (target <= 3): one more scan into a 30-line cart, the whole cart priced again;
- basket100_with_validation_p99_ms: the same 100-line basket including its validation (what
  POST /promotions/price does besides the catalog lookups);
- index_build_ms: validating and indexing the 2,000 promotions (once per downlink version);
- item_promotions_per_line: how many item-phase promotions cover a line on average (the overlap).

Prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from zoneinfo import ZoneInfo

from hub.promotions import engine
from hub.promotions.validation import parse_basket, parse_promotions

N_ITEMS = 50_000
N_CATEGORIES = 400
N_BRANDS = 300
AT = "2026-06-03T04:00:00Z"                          # Wednesday 12:00 in Shanghai
VALID = {"from": "2026-06-01T00:00:00+08:00", "to": "2026-07-01T00:00:00+08:00"}
ZONE = ZoneInfo("Asia/Shanghai")


def catalog(rnd: random.Random) -> list[dict]:
    return [{"sku": f"SKU{i:05d}", "category": f"cat{rnd.randrange(N_CATEGORIES):03d}",
             "brand": f"brand{rnd.randrange(N_BRANDS):03d}", "price": rnd.randint(100, 20_000),
             "weighed": rnd.random() < 0.1} for i in range(N_ITEMS)]


def promotions(rnd: random.Random, items: list[dict]) -> list[dict]:
    out: list[dict] = []

    def add(kind: str, params: dict, scope: dict | None = None, **extra) -> None:
        pid = f"P{len(out):04d}"
        p = {"id": pid, "name": {"en": f"Offer {pid}", "zh-CN": f"促销 {pid}"}, "type": kind, "params": params,
             "valid": dict(VALID), "priority": rnd.randint(0, 5), **extra}
        if scope:
            p["scope"] = scope
        out.append(p)

    def item_params(kind: str, unit_price: int = 2000) -> dict:
        if kind == "percent_off":
            return {"percent": rnd.choice([5, 10, 15, 20, 30, 50])}
        if kind == "fixed_price":
            return {"price_minor": max(1, int(unit_price * rnd.uniform(0.6, 0.95)))}
        if kind == "nth_item_off":
            return {"n": 2, "percent": 50}
        return {"buy": rnd.choice([1, 2, 3]), "get": 1, "percent_off": rnd.choice([50, 100]),
                "repeat": rnd.random() < 0.7}

    for _ in range(1_200):
        picked = rnd.sample(items, rnd.randint(1, 20))
        kind = rnd.choices(["percent_off", "fixed_price", "nth_item_off", "buy_x_get_y", "bundle_price"],
                           [40, 25, 15, 15, 5])[0]
        if kind == "bundle_price":
            a, b = picked[0], rnd.choice(items)
            if a["sku"] == b["sku"]:
                continue
            add(kind, {"groups": [{"skus": [a["sku"]], "qty": 1}, {"skus": [b["sku"]], "qty": 1}],
                       "price_minor": int((a["price"] + b["price"]) * 0.8), "repeat": True})
        else:
            add(kind, item_params(kind, picked[0]["price"]), {"skus": [i["sku"] for i in picked]})
    while len(out) < 1_700:
        kind = rnd.choices(["percent_off", "nth_item_off", "buy_x_get_y"], [60, 20, 20])[0]
        add(kind, item_params(kind), {"categories": [f"cat{c:03d}" for c in
                                                     rnd.sample(range(N_CATEGORIES), rnd.randint(1, 3))]},
            members_only=rnd.random() < 0.2)
    while len(out) < 1_900:
        kind = rnd.choices(["percent_off", "nth_item_off", "buy_x_get_y"], [60, 20, 20])[0]
        add(kind, item_params(kind), {"brands": [f"brand{rnd.randrange(N_BRANDS):03d}"],
                                      "exclude_skus": [rnd.choice(items)["sku"]]})
    while len(out) < 2_000:
        scope = rnd.choice([None, {"categories": [f"cat{c:03d}" for c in rnd.sample(range(N_CATEGORIES), 20)]},
                            {"brands": [f"brand{b:03d}" for b in rnd.sample(range(N_BRANDS), 15)]}])
        if rnd.random() < 0.7:
            spend = rnd.choice([5_000, 10_000, 20_000])
            params = ({"ladder": [{"spend_minor": spend, "save_minor": spend // 10}], "repeat": True}
                      if rnd.random() < 0.5 else
                      {"ladder": [{"spend_minor": spend, "save_minor": spend // 20},
                                  {"spend_minor": spend * 2, "save_minor": spend // 8}]})
            add("spend_save", params, scope, exclusive=rnd.random() < 0.1,
                coupon=f"C{len(out)}" if rnd.random() < 0.2 else None)
        else:
            add("percent_off", {"percent": rnd.choice([3, 5, 8])}, scope, phase="order",
                exclusive=rnd.random() < 0.3, members_only=rnd.random() < 0.5)
    return out


def basket(rnd: random.Random, items: list[dict], hot: list[dict], n: int, coupons: list[str]) -> dict:
    lines = []
    for _ in range(n):
        it = rnd.choice(hot) if rnd.random() < 0.5 else rnd.choice(items)
        if it["weighed"]:
            lines.append({"sku": it["sku"], "grams": rnd.randint(150, 2_500), "price_per_kg_minor": it["price"],
                          "category": it["category"], "brand": it["brand"], "tax_rate": "0.09"})
        else:
            lines.append({"sku": it["sku"], "qty": rnd.choices([1, 2, 3, 4, 6], [60, 20, 10, 6, 4])[0],
                          "unit_price_minor": it["price"], "category": it["category"], "brand": it["brand"],
                          "tax_rate": rnd.choice(["0.13", "0.09"])})
    return {"at": AT, "member": {"tier": "gold"} if rnd.random() < 0.5 else None,
            "coupons": rnd.sample(coupons, 1) if coupons and rnd.random() < 0.3 else [], "lines": lines}


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def main() -> None:
    rnd = random.Random(14)
    items = catalog(rnd)
    raw = promotions(rnd, items)
    t0 = time.perf_counter()
    index = engine.PromotionIndex(parse_promotions(raw))
    build_ms = (time.perf_counter() - t0) * 1000
    by_sku = {i["sku"]: i for i in items}
    promoted = sorted({s for p in raw for s in p.get("scope", {}).get("skus", [])})
    hot = [by_sku[s] for s in promoted]
    coupons = [p["coupon"] for p in raw if p.get("coupon")]

    full, with_validation, covered = [], [], []
    for _ in range(300):
        b = basket(rnd, items, hot, 100, coupons)
        t0 = time.perf_counter()
        parsed = parse_basket(b)
        t1 = time.perf_counter()
        engine.price(index, parsed, ZONE)
        t2 = time.perf_counter()
        full.append((t2 - t1) * 1000)
        with_validation.append((t2 - t0) * 1000)
        covered += [sum(1 for p in index.for_line(ln) if p.phase == "item") for ln in parsed.lines]

    add_line = []
    for _ in range(500):
        cart = basket(rnd, items, hot, 31, coupons)
        parsed = parse_basket(cart)
        t0 = time.perf_counter()
        engine.price(index, parsed, ZONE)
        add_line.append((time.perf_counter() - t0) * 1000)

    print(json.dumps({
        "basket100_p99_ms": round(p99(full), 3),
        "basket100_p50_ms": round(statistics.median(full), 3),
        "basket100_with_validation_p99_ms": round(p99(with_validation), 3),
        "add_line_p99_ms": round(p99(add_line), 3),
        "add_line_p50_ms": round(statistics.median(add_line), 3),
        "index_build_ms": round(build_ms, 1),
        "item_promotions_per_line": round(statistics.mean(covered), 2),
        "items": N_ITEMS,
        "promotions": len(raw),
        "targets": {"basket100_p99_ms": 10, "add_line_p99_ms": 3},
    }))


if __name__ == "__main__":
    main()

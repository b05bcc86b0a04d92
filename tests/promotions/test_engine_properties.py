"""Properties of the engine over generated promotions and baskets (hypothesis), and the best deal against brute
force over every unit's choice on small baskets."""

from __future__ import annotations

import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.promotions import engine
from hub.promotions.engine import PromotionIndex, evaluate, order_saving, price, refund_minor
from hub.promotions.validation import parse_basket, parse_promotions
from tests.support.promotions import AT, VALID

SKUS = ("A", "B", "C", "D")
CATEGORY = {"A": "dairy", "B": "dairy", "C": "snacks", "D": "snacks"}
percent = st.integers(1, 100) | st.sampled_from([12.5, 33.33, 99.99])


def scopes():
    return st.one_of(
        st.just({}),
        st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True).map(lambda s: {"skus": s}),
        st.sampled_from(["dairy", "snacks"]).map(lambda c: {"categories": [c]}),
        st.sampled_from(SKUS).map(lambda s: {"exclude_skus": [s]}),
    )


@st.composite
def item_promotion(draw, pid):
    kind = draw(st.sampled_from(["percent_off", "fixed_price", "buy_x_get_y", "bundle_price", "nth_item_off"]))
    if kind == "percent_off":
        params = {"percent": draw(percent)}
    elif kind == "fixed_price":
        params = {"price_minor": draw(st.integers(0, 900))}
    elif kind == "buy_x_get_y":
        params = {
            "buy": draw(st.integers(1, 2)),
            "get": draw(st.integers(1, 2)),
            "percent_off": draw(percent),
            "repeat": draw(st.booleans()),
        }
    elif kind == "bundle_price":
        a, b = draw(st.lists(st.sampled_from(SKUS), min_size=2, max_size=2, unique=True))
        params = {
            "groups": [{"skus": [a], "qty": draw(st.integers(1, 2))}, {"skus": [b], "qty": 1}],
            "price_minor": draw(st.integers(0, 1500)),
            "repeat": draw(st.booleans()),
        }
    else:
        params = {"n": draw(st.integers(2, 3)), "percent": draw(percent)}
    out = {
        "id": pid,
        "name": {"en": pid, "zh-CN": pid},
        "type": kind,
        "params": params,
        "valid": dict(VALID),
        "priority": draw(st.integers(0, 2)),
        "exclusive": draw(st.booleans()),
    }
    if kind != "bundle_price":
        out["scope"] = draw(scopes())
    return out


@st.composite
def order_promotion(draw, pid, *, bounded=False):
    top_pct = 30 if bounded else 100
    if draw(st.booleans()):
        spend = draw(st.integers(100, 3000))
        save_max = spend // 4 if bounded else spend
        rungs = [{"spend_minor": spend, "save_minor": draw(st.integers(1, max(1, save_max)))}]
        repeat = draw(st.booleans())
        if not repeat and draw(st.booleans()):
            rungs.append({"spend_minor": spend * 2, "save_minor": rungs[0]["save_minor"] + draw(st.integers(1, 50))})
            if bounded:
                rungs[1]["save_minor"] = min(rungs[1]["save_minor"], spend // 2)
                if rungs[1]["save_minor"] <= rungs[0]["save_minor"]:
                    rungs.pop()
        params = {"ladder": rungs, "repeat": repeat}
        kind = "spend_save"
    else:
        params, kind = {"percent": draw(st.integers(1, top_pct))}, "percent_off"
    return {
        "id": pid,
        "name": {"en": pid, "zh-CN": pid},
        "type": kind,
        "params": params,
        "valid": dict(VALID),
        "phase": "order",
        "scope": draw(scopes()),
        "priority": draw(st.integers(0, 2)),
        "exclusive": draw(st.booleans()),
    }


@st.composite
def basket_lines(draw, max_lines=4, max_qty=3, weighed=True):
    lines = []
    for _ in range(draw(st.integers(0, max_lines))):
        sku = draw(st.sampled_from(SKUS))
        if weighed and draw(st.integers(0, 5)) == 0:
            lines.append(
                {
                    "sku": sku,
                    "grams": draw(st.integers(1, 3000)),
                    "price_per_kg_minor": draw(st.integers(0, 5000)),
                    "category": CATEGORY[sku],
                }
            )
        else:
            lines.append(
                {
                    "sku": sku,
                    "qty": draw(st.integers(1, max_qty)),
                    "unit_price_minor": draw(st.integers(0, 1200)),
                    "category": CATEGORY[sku],
                    "tax_rate": draw(st.sampled_from(["0.13", "0.09", "0"])),
                }
            )
    return lines


@st.composite
def scenario(draw):
    promos = [draw(item_promotion(f"i{k}")) for k in range(draw(st.integers(0, 4)))]
    promos += [draw(order_promotion(f"o{k}")) for k in range(draw(st.integers(0, 3)))]
    return promos, {"at": AT, "member": None, "coupons": [], "lines": draw(basket_lines(max_lines=5, max_qty=4))}


def _price(promos, b):
    return price(parse_promotions(promos), parse_basket(b), "Asia/Shanghai")


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scenario())
def test_totals_are_bounded_and_every_fen_is_explained(case):
    promos, b = case
    r = _price(promos, b)
    assert 0 <= r["total_minor"] <= r["subtotal_minor"]
    assert r["total_minor"] == r["subtotal_minor"] - r["discount_minor"]
    assert sum(ln["net_minor"] for ln in r["lines"]) == r["total_minor"]
    per_promo: dict[str, int] = {}
    for ln in r["lines"]:
        assert 0 <= ln["net_minor"] <= ln["gross_minor"]
        assert ln["discount_minor"] == sum(a["discount_minor"] for a in ln["applied"])
        for a in ln["applied"]:
            assert a["discount_minor"] > 0
            per_promo[a["promotion"]] = per_promo.get(a["promotion"], 0) + a["discount_minor"]
    # each promotion's saving is exactly the sum of what it put on the lines
    assert per_promo == {a["promotion"]: a["discount_minor"] for a in r["applied"]}
    assert all(a["times"] >= 1 for a in r["applied"])


@FAST
@given(scenario(), st.randoms(use_true_random=False))
def test_line_order_does_not_change_the_price(case, rnd):
    promos, b = case
    shuffled = list(b["lines"])
    rnd.shuffle(shuffled)
    one, two = _price(promos, b), _price(promos, {**b, "lines": shuffled})
    assert (one["total_minor"], one["discount_minor"]) == (two["total_minor"], two["discount_minor"])
    assert sorted(map(tuple, map(dict.items, one["applied"]))) == sorted(map(tuple, map(dict.items, two["applied"])))


@FAST
@given(scenario())
def test_returning_every_line_refunds_the_total(case):
    promos, b = case
    r = _price(promos, b)
    whole = sum(refund_minor(ln, ln.get("qty", 1)) for ln in r["lines"])
    one_by_one = sum(refund_minor(ln, 1, k) for ln in r["lines"] for k in range(ln.get("qty", 1)))
    assert whole == one_by_one == r["total_minor"]


def _brute_item_phase(promos, b):
    """Every unit tries every item promotion covering it: the best (total, savings in rank order)."""
    index = PromotionIndex(parse_promotions(promos))
    basket = parse_basket(b)
    lines = sorted(basket.lines, key=lambda ln: (ln.canonical_key, ln.index))
    units = [(ln, index.for_line(ln)) for ln in lines for _ in range(ln.units)]
    units = [(ln, options) for ln, options in units if options]
    best = (0, tuple(0 for _ in index.promotions))
    for choice in itertools.product(*(options for _ln, options in units)):
        held: dict[str, dict[int, int]] = {}
        for (ln, _options), p in zip(units, choice):
            held.setdefault(p.id, {}).setdefault(ln.index, 0)
            held[p.id][ln.index] += 1
        savings = []
        for p in index.promotions:
            pool = [(ln, held[p.id][ln.index]) for ln in lines if ln.index in held.get(p.id, {})]
            savings.append(sum(evaluate(p, pool)[0].values()) if pool else 0)
        best = max(best, (sum(savings), tuple(savings)))
    return best, index


@st.composite
def small_item_case(draw):
    promos = [draw(item_promotion(f"p{k}")) for k in range(draw(st.integers(1, 3)))]
    for p in promos:
        p["exclusive"] = False
    lines = draw(basket_lines(max_lines=4, max_qty=3))
    total_units = sum(ln.get("qty", 1) for ln in lines)
    while total_units > 6:
        total_units -= lines.pop().get("qty", 1)
    return promos, {"at": AT, "member": None, "coupons": [], "lines": lines}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_item_case())
def test_the_best_deal_equals_brute_force_on_small_baskets(case):
    promos, b = case
    (best_total, best_savings), index = _brute_item_phase(promos, b)
    r = _price(promos, b)
    got = {a["promotion"]: a["discount_minor"] for a in r["applied"]}
    assert r["discount_minor"] == best_total
    assert tuple(got.get(p.id, 0) for p in index.promotions) == best_savings  # and the same tie-breaks


@st.composite
def small_order_case(draw):
    promos = [draw(order_promotion(f"o{k}", bounded=True)) for k in range(draw(st.integers(1, 4)))]
    lines = draw(basket_lines(max_lines=4, max_qty=3, weighed=False))
    for ln in lines:
        ln["unit_price_minor"] = max(ln["unit_price_minor"], 100)
    return promos, {"at": AT, "member": None, "coupons": [], "lines": lines}


@settings(max_examples=300, deadline=None)
@given(small_order_case())
def test_order_phase_equals_brute_force_over_the_allowed_combinations(case):
    """Any set of non-exclusive promotions, or one exclusive alone: the engine's saving is the best of them."""
    promos, b = case
    index = PromotionIndex(parse_promotions(promos))
    basket = parse_basket(b)

    def saving(p):
        return order_saving(p, sum(ln.gross for ln in basket.lines if p.covers(ln)))[0]

    plain = [p for p in index.promotions if not p.exclusive]
    options = [
        sum(saving(p) for p in combo) for k in range(len(plain) + 1) for combo in itertools.combinations(plain, k)
    ]
    options += [saving(p) for p in index.promotions if p.exclusive]
    assert _price(promos, b)["discount_minor"] == max(options)


def test_past_the_bound_the_search_stays_fast_and_sound():
    """Thirty lines under six overlapping grouping promotions: far beyond EXACT_LIMIT assignments, priced by the
    bounded local search, still explained to the fen and no worse than the rank-order start."""
    rnd = random.Random(7)
    promos = [
        {
            "id": f"g{k}",
            "name": {"en": "g", "zh-CN": "g"},
            "type": kind,
            "params": params,
            "valid": dict(VALID),
            "scope": {"categories": ["dairy", "snacks"]},
        }
        for k, (kind, params) in enumerate(
            [
                ("buy_x_get_y", {"buy": 2, "get": 1, "repeat": True}),
                ("nth_item_off", {"n": 2, "percent": 50}),
                ("buy_x_get_y", {"buy": 1, "get": 1, "percent_off": 30, "repeat": True}),
                ("percent_off", {"percent": 15}),
                ("nth_item_off", {"n": 3, "percent": 100}),
                ("fixed_price", {"price_minor": 300}),
            ]
        )
    ]
    lines = [
        {
            "sku": rnd.choice(SKUS),
            "qty": rnd.randint(1, 4),
            "unit_price_minor": rnd.randint(100, 1200),
            "category": rnd.choice(["dairy", "snacks"]),
        }
        for _ in range(30)
    ]
    b = {"at": AT, "member": None, "coupons": [], "lines": lines}
    r = _price(promos, b)
    assert sum(ln["net_minor"] for ln in r["lines"]) == r["total_minor"] >= 0
    # the start of the local search: every unit on the highest-ranked promotion (g0)
    start = _price(promos[:1], b)
    assert r["discount_minor"] >= start["discount_minor"]
    assert engine._assignments_bounded(parse_basket(b).lines, {i: [1, 2, 3] for i in range(30)}) is False

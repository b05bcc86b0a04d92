"""The engine's fast paths give the answers of the plain ones: the component search that enumerates only the
grouping promotions' share equals enumerating every assignment (the whole key, tie-breaks included); re-pricing
with the index's caches warm from earlier baskets (a cart grown scan by scan, lines reordered) equals pricing from
scratch; and the compiled jsonschema-rs check accepts exactly what jsonschema accepts."""

from __future__ import annotations

import copy
import gc
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.kernel.errors import ValidationError
from hub.promotions import engine, validation
from hub.promotions.engine import PromotionIndex, price
from hub.promotions.validation import parse_basket, parse_promotion, parse_promotions
from tests.promotions.test_engine_properties import AT, basket_lines, item_promotion, scenario
from tests.support.promotions import promo

SLOW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _enumerate_all(lines, elig, promos):
    """The plain search: every split of every line over its promotions, the greatest key."""
    options = [engine._compositions(line.units, len(elig[line.index])) for line in lines]
    return max(
        engine._score(lines, elig, promos, dict(zip((ln.index for ln in lines), combo))).key
        for combo in itertools.product(*options)
    )


@st.composite
def coupled_case(draw):
    promos = [draw(item_promotion(f"p{k}")) for k in range(draw(st.integers(2, 4)))]
    promos[0] = {**promos[0], "type": "nth_item_off", "params": {"n": 2, "percent": 50}, "scope": {}}
    lines = draw(basket_lines(max_lines=4, max_qty=3))
    return promos, {"at": AT, "member": None, "coupons": [], "lines": lines}


@SLOW
@given(coupled_case())
def test_the_component_search_equals_enumerating_every_assignment(case):
    promos, b = case
    index = PromotionIndex(parse_promotions(promos))
    basket = parse_basket(b)
    canonical = sorted(basket.lines, key=lambda ln: (ln.canonical_key, ln.index))
    elig = {ln.index: index.for_line(ln, "item") for ln in basket.lines}
    for comp in engine._components([ln for ln in canonical if elig[ln.index]], elig):
        if len(comp) < 2 or not engine._assignments_bounded(comp, elig):
            continue
        ranked = sorted({p.id: p for ln in comp for p in elig[ln.index]}.values(), key=lambda p: index.rank[p.id])
        assert engine._exhaustive(comp, elig, ranked).key == _enumerate_all(comp, elig, ranked)


@SLOW
@given(scenario(), st.randoms(use_true_random=False))
def test_pricing_with_warm_caches_equals_pricing_from_scratch(case, rnd):
    """A cart grown one scan at a time, then shuffled, priced through one index (each price may reuse what the
    earlier ones solved), prices exactly like each basket priced on a fresh index."""
    promos, b = case
    parsed = parse_promotions(promos)
    shared = PromotionIndex(parsed)
    shuffled = list(b["lines"])
    rnd.shuffle(shuffled)
    steps = [{**b, "lines": b["lines"][:k]} for k in range(len(b["lines"]) + 1)] + [{**b, "lines": shuffled}]
    for step in steps:
        basket = parse_basket(step)
        assert price(shared, basket, "Asia/Shanghai") == price(PromotionIndex(parsed), basket, "Asia/Shanghai")


def test_a_solved_component_is_relabelled_when_its_lines_move():
    """The same two linked lines at other indices reuse the cached answer, on the right lines."""
    half = promo("half", "nth_item_off", {"n": 2, "percent": 50}, scope={"skus": ["MILK"]})
    index = PromotionIndex(parse_promotions([half]))
    milk = [{"sku": "MILK", "qty": 1, "unit_price_minor": 1250, "category": "dairy"}] * 2
    rice = {"sku": "RICE", "qty": 1, "unit_price_minor": 900, "category": "grocery"}
    first = price(index, parse_basket({"at": AT, "lines": milk}), "UTC")
    assert len(index._solved) == 1
    moved = price(index, parse_basket({"at": AT, "lines": [rice, *milk]}), "UTC")
    assert len(index._solved) == 1  # the milk pair was not solved again
    assert [ln["discount_minor"] for ln in first["lines"]] == [0, 625]
    assert [ln["discount_minor"] for ln in moved["lines"]] == [0, 0, 625]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(), st.randoms(use_true_random=False))
def test_the_caches_hold_nothing_the_garbage_collector_keeps_walking(case, rnd):
    """Every cached key and value is a flat tuple of strings, integers and booleans, which one collection untracks:
    tens of thousands of kept entries then add nothing to the full collections that stalled a price (bench)."""
    promos, b = case
    index = PromotionIndex(parse_promotions(promos))
    lines = list(b["lines"])
    for k in range(1, len(lines) + 1):
        price(index, parse_basket({**b, "lines": lines[:k]}), "Asia/Shanghai")
    rnd.shuffle(lines)
    price(index, parse_basket({**b, "lines": lines}), "Asia/Shanghai")
    gc.collect()
    for cache in (index._candidates, index._solved):
        for key, value in cache.items():
            for t in (key, value):
                assert all(isinstance(x, (str, int)) for x in t), t
                assert not gc.is_tracked(t), t


def _mutations():
    good = [
        promo("mj", "spend_save", {"ladder": [{"spend_minor": 10000, "save_minor": 1000}], "repeat": True}),
        promo(
            "b",
            "bundle_price",
            {"groups": [{"skus": ["A"], "qty": 1}, {"skus": ["B"], "qty": 2}], "price_minor": 100},
            priority=3,
        ),
        promo(
            "h",
            "percent_off",
            {"percent": 10},
            scope={"skus": ["A"], "exclude_skus": ["B"]},
            valid={
                "from": "2026-01-01T00:00:00Z",
                "to": "2026-02-01T00:00:00Z",
                "weekdays": [1],
                "hours": [["09:00", "12:00"]],
            },
            tiers=["gold"],
            coupon="X1",
        ),
    ]
    values = st.sampled_from(
        [None, True, 0, -1, 1.5, 10**6, "", "x", "24:00", [], {}, ["A", "A"], [1], {"x": 1}, "P\n", 100.001, 2.0]
    )
    return st.tuples(st.sampled_from(good), st.lists(st.tuples(st.integers(0, 50), values), max_size=3))


def _paths(doc, here=()):
    yield here
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*here, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*here, i))


@SLOW
@given(_mutations())
def test_the_compiled_schema_check_agrees_with_jsonschema(case):
    """Mutate fields of good promotions at random: jsonschema-rs's yes/no is jsonschema's, so the fast path never
    lets through what the schema refuses (and the refusal still names the field, from jsonschema)."""
    base, edits = case
    doc = copy.deepcopy(base)
    for where, value in edits:
        paths = [p for p in _paths(doc) if p]
        path = paths[where % len(paths)]
        holder = doc
        for part in path[:-1]:
            holder = holder[part]
        holder[path[-1]] = copy.deepcopy(value)
    kind = base["type"]
    slow_ok = validation._VALIDATORS[kind].is_valid(doc)
    if validation._FAST[kind].is_valid(doc):
        assert slow_ok
    if not slow_ok and doc.get("type") == kind:
        with pytest.raises(ValidationError) as e:
            parse_promotion(doc, "p")
        assert e.value.details["field"].startswith("p")

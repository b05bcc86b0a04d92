"""Worked examples of common supermarket promotions; every total below was worked out by hand (the arithmetic is
in the comments) before the engine priced it."""

from __future__ import annotations

import pytest

from hub.promotions.engine import refund_minor
from tests.support.promotions import applied, basket, line, promo, run


def test_spend_100_save_10_repeats_per_full_100_and_is_shared_pro_rata():
    # 每满100减10: 3 x 45.00 + 1 x 90.00 = 225.00 -> two full hundreds -> 20.00 off
    p = promo("mj", "spend_save", {"ladder": [{"spend_minor": 10000, "save_minor": 1000}], "repeat": True})
    r = run([p], basket(line("RICE", 3, 4500), line("OIL", 1, 9000)))
    assert (r["subtotal_minor"], r["discount_minor"], r["total_minor"]) == (22500, 2000, 20500)
    # 2000 x 13500/22500 = 1200, 2000 x 9000/22500 = 800
    assert [ln["applied"] for ln in r["lines"]] == [
        [{"promotion": "mj", "discount_minor": 1200}],
        [{"promotion": "mj", "discount_minor": 800}],
    ]
    assert applied(r) == {"mj": (2000, 2)}


def test_a_ladder_takes_the_highest_rung_reached():
    ladder = [{"spend_minor": 10000, "save_minor": 1000}, {"spend_minor": 20000, "save_minor": 3000}]
    p = promo("ladder", "spend_save", {"ladder": ladder})
    assert run([p], basket(line("RICE", 5, 4500)))["total_minor"] == 22500 - 3000  # 225.00 reaches 200
    assert run([p], basket(line("RICE", 4, 4500)))["total_minor"] == 18000 - 1000  # 180.00 reaches 100
    assert run([p], basket(line("RICE", 2, 4500)))["discount_minor"] == 0  # 90.00 reaches nothing


def test_second_item_half_price():
    # 第二件半价 on milk at 12.50: three cartons -> one pair -> 6.25 off
    p = promo("half", "nth_item_off", {"n": 2, "percent": 50}, scope={"skus": ["MILK"]})
    r = run([p], basket(line("MILK", 3, 1250)))
    assert (r["total_minor"], applied(r)) == (3750 - 625, {"half": (625, 1)})
    # two scans of one carton each make a pair too; the later line carries the half price
    r = run([p], basket(line("MILK", 1, 1250), line("MILK", 1, 1250)))
    assert [ln["discount_minor"] for ln in r["lines"]] == [0, 625]


def test_buy_two_get_one_free_gives_the_cheapest_units():
    # snacks: 3 crisps at 8.00 and 3 colas at 5.00; six units -> two free -> the two cheapest: 2 x 5.00
    p = promo("b2g1", "buy_x_get_y", {"buy": 2, "get": 1, "repeat": True}, scope={"categories": ["snacks"]})
    r = run([p], basket(line("CRISPS", 3, 800, "snacks"), line("COLA", 3, 500, "snacks"), line("RICE", 1, 4500)))
    assert (r["total_minor"], applied(r)) == (2400 + 1500 + 4500 - 1000, {"b2g1": (1000, 2)})
    assert [ln["discount_minor"] for ln in r["lines"]] == [0, 1000, 0]
    # without repeat, at most `get` units however many are bought
    once = promo("b2g1", "buy_x_get_y", {"buy": 2, "get": 1}, scope={"categories": ["snacks"]})
    assert run([once], basket(line("COLA", 6, 500, "snacks")))["discount_minor"] == 500
    assert run([once], basket(line("COLA", 2, 500, "snacks")))["discount_minor"] == 0


def test_bundle_price_shares_the_saving_pro_rata():
    # burger 18.00 + fries 9.00 + coke 6.00 = 33.00 as a meal for 25.00 -> 8.00 saved
    # 800 x 1800/3300 = 436.36, x 900/3300 = 218.18, x 600/3300 = 145.45 -> 436 + 218 + 145 = 799,
    # the last fen to the largest remainder (.45, the coke)
    groups = [{"skus": ["BURGER"], "qty": 1}, {"skus": ["FRIES"], "qty": 1}, {"skus": ["COKE"], "qty": 1}]
    p = promo("meal", "bundle_price", {"groups": groups, "price_minor": 2500})
    r = run([p], basket(line("BURGER", 2, 1800), line("FRIES", 1, 900), line("COKE", 1, 600)))
    assert [ln["discount_minor"] for ln in r["lines"]] == [436, 218, 146]
    assert (r["total_minor"], applied(r)) == (3600 + 900 + 600 - 800, {"meal": (800, 1)})


def test_member_price():
    # tea at 15.00, members pay 12.00: two boxes save a member 6.00, nobody else anything
    p = promo("tea", "fixed_price", {"price_minor": 1200}, scope={"skus": ["TEA"]}, members_only=True)
    assert run([p], basket(line("TEA", 2, 1500), member={"tier": "gold"}))["total_minor"] == 2400
    assert run([p], basket(line("TEA", 2, 1500)))["total_minor"] == 3000
    gold = promo("tea", "fixed_price", {"price_minor": 1200}, scope={"skus": ["TEA"]}, tiers=["gold"])
    assert run([gold], basket(line("TEA", 1, 1500), member={"tier": "silver"}))["discount_minor"] == 0
    assert run([gold], basket(line("TEA", 1, 1500), member={"tier": "gold"}))["discount_minor"] == 300


def test_a_weighed_item_at_20_percent_off():
    # 1,234 g of apples at 15.90/kg = 19.6206 -> 19.62; 20% of 19.62 = 3.924 -> 3.92 off -> 15.70
    p = promo("apples", "percent_off", {"percent": 20}, scope={"categories": ["fruit"]})
    r = run([p], basket({"sku": "APPLE", "grams": 1234, "price_per_kg_minor": 1590, "category": "fruit"}))
    assert r["lines"][0] == {
        "sku": "APPLE",
        "grams": 1234,
        "gross_minor": 1962,
        "discount_minor": 392,
        "net_minor": 1570,
        "tax_minor": 0,
        "applied": [{"promotion": "apples", "discount_minor": 392}],
    }
    # a per-kg fixed price: 12.00/kg -> 1234 x 1200 / 1000 = 14.808 -> 14.81, so 4.81 off
    kg = promo("kg", "fixed_price", {"price_minor": 1200}, scope={"skus": ["APPLE"]})
    r = run([kg], basket({"sku": "APPLE", "grams": 1234, "price_per_kg_minor": 1590, "category": "fruit"}))
    assert r["total_minor"] == 1481
    # a weighed line is not a unit: buy-x-get-y does not count it
    b1g1 = promo("b1g1", "buy_x_get_y", {"buy": 1, "get": 1}, scope={"categories": ["fruit"]})
    two = basket(*[{"sku": "APPLE", "grams": 500, "price_per_kg_minor": 1000, "category": "fruit"}] * 2)
    assert run([b1g1], two)["discount_minor"] == 0


def test_coupon_present_absent_unknown_and_not_reached():
    p = promo("c5", "spend_save", {"ladder": [{"spend_minor": 5000, "save_minor": 500}]}, coupon="SAVE5")
    b = [line("RICE", 2, 3000)]
    assert run([p], basket(*b))["total_minor"] == 6000  # no code: no saving
    r = run([p], basket(*b, coupons=["save5", "FOO", "SAVE5", 7]))
    assert r["total_minor"] == 5500
    assert r["rejected_coupons"] == [
        {"code": "FOO", "reason": "unknown"},
        {"code": "SAVE5", "reason": "duplicate"},
        {"code": "7", "reason": "invalid"},
    ]
    r = run([p], basket(line("RICE", 1, 3000), coupons=["SAVE5"]))  # 30.00 < 50.00
    assert r["rejected_coupons"] == [{"code": "SAVE5", "reason": "not_applied"}]
    late = promo(
        "c5",
        "spend_save",
        {"ladder": [{"spend_minor": 5000, "save_minor": 500}]},
        coupon="SAVE5",
        valid={"from": "2025-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    )
    assert run([late], basket(*b, coupons=["SAVE5"]))["rejected_coupons"] == [{"code": "SAVE5", "reason": "expired"}]


def test_issued_single_use_codes_plug_in_through_the_coupon_service_mapping():
    p = promo("welcome", "percent_off", {"percent": 10}, phase="order", coupon="WELCOME")
    b = basket(line("RICE", 1, 5000), coupons=["K7Q2-XM9P"])
    assert run([p], b)["rejected_coupons"] == [{"code": "K7Q2-XM9P", "reason": "unknown"}]
    r = run([p], b, issued_codes={"K7Q2-XM9P": "welcome"})
    assert (r["total_minor"], r["rejected_coupons"]) == (4500, [])


@pytest.mark.parametrize(
    "at, applies",
    [
        ("2026-06-06T01:30:00Z", True),  # Saturday 09:30 in Shanghai
        ("2026-06-06T04:00:00Z", False),  # Saturday 12:00: the span ends before noon
        ("2026-06-05T01:30:00Z", False),  # Friday 09:30
        ("2026-06-06T00:59:00Z", False),  # Saturday 08:59
        ("2026-06-07T03:59:00Z", True),  # Sunday 11:59
    ],
)
def test_weekend_morning_hours_in_shanghai(at, applies):
    p = promo(
        "am",
        "percent_off",
        {"percent": 10},
        valid={
            "from": "2026-06-01T00:00:00+08:00",
            "to": "2026-07-01T00:00:00+08:00",
            "weekdays": [6, 7],
            "hours": [["09:00", "12:00"]],
        },
    )
    r = run([p], basket(line("RICE", 1, 1000), at=at))
    assert r["discount_minor"] == (100 if applies else 0)


def test_the_store_zone_decides_the_local_day():
    # 17:00 UTC on Friday is 01:00 on Saturday in Shanghai, still Friday in London
    p = promo(
        "night",
        "percent_off",
        {"percent": 10},
        valid={
            "from": "2026-06-01T00:00:00Z",
            "to": "2026-07-01T00:00:00Z",
            "weekdays": [6],
            "hours": [["00:00", "02:00"]],
        },
    )
    b = basket(line("RICE", 1, 1000), at="2026-06-05T17:00:00Z")
    assert run([p], b, "Asia/Shanghai")["discount_minor"] == 100
    assert run([p], b, "Europe/London")["discount_minor"] == 0


def test_a_unit_takes_one_item_promotion_the_best_one():
    ten = promo("ten", "percent_off", {"percent": 10}, scope={"categories": ["grocery"]})
    fixed = promo("fixed", "fixed_price", {"price_minor": 800}, scope={"skus": ["OIL"]})
    r = run([ten, fixed], basket(line("OIL", 2, 1000), line("RICE", 1, 1000)))
    # oil: 2.00 off each beats 1.00; rice only has the 10%
    assert applied(r) == {"ten": (100, 1), "fixed": (400, 2)}
    # equal savings: the higher priority takes the units, then the smaller id
    a = promo("a", "percent_off", {"percent": 20})
    b = promo("b", "fixed_price", {"price_minor": 800}, priority=5)
    assert applied(run([a, b], basket(line("OIL", 1, 1000)))) == {"b": (200, 1)}
    assert applied(run([a, {**b, "priority": 0}], basket(line("OIL", 1, 1000)))) == {"a": (200, 1)}


def test_the_best_assignment_splits_a_line_between_promotions():
    # 1 free with 1 over {A, B}; A also has a fixed price 6.00 (saving 4.00 a unit).
    # A x2 at 10.00, B x1 at 9.00: pairing (A, B) frees B (9.00) and fixes the other A (4.00) = 13.00,
    # better than pairing (A, A) (10.00) or fixing both A (8.00)
    b1g1 = promo("b1g1", "buy_x_get_y", {"buy": 1, "get": 1}, scope={"skus": ["A", "B"]})
    fix = promo("fix", "fixed_price", {"price_minor": 600}, scope={"skus": ["A"]})
    r = run([b1g1, fix], basket(line("A", 2, 1000), line("B", 1, 900)))
    assert r["discount_minor"] == 1300 and applied(r) == {"b1g1": (900, 1), "fix": (400, 1)}


def test_order_phase_works_on_what_the_item_phase_left():
    # milk 10% off (4 x 25.00 = 100.00 -> 90.00), then 满100减10 no longer reached by the milk alone
    ten = promo("ten", "percent_off", {"percent": 10}, scope={"skus": ["MILK"]})
    mj = promo("mj", "spend_save", {"ladder": [{"spend_minor": 10000, "save_minor": 1000}]})
    assert run([ten, mj], basket(line("MILK", 4, 2500)))["total_minor"] == 9000
    # with 15.00 of rice as well: 90.00 + 15.00 = 105.00 -> 10.00 off, shared 900:150 ->
    # 10000 x 9000/10500 = 857.14, x 1500/10500 = 142.86 -> 857 + 142, last fen to .86 (rice)
    r = run([ten, mj], basket(line("MILK", 4, 2500), line("RICE", 1, 1500)))
    assert r["total_minor"] == 10500 - 1000
    assert [[a["discount_minor"] for a in ln["applied"]] for ln in r["lines"]] == [[1000, 857], [143]]


def test_exclusive_order_promotion_alone_or_not_at_all():
    mj = promo("mj", "spend_save", {"ladder": [{"spend_minor": 10000, "save_minor": 1000}]})
    five = promo("five", "percent_off", {"percent": 5}, phase="order")
    vip = promo("vip", "percent_off", {"percent": 12}, phase="order", exclusive=True)
    # 200.00: mj 10.00 + five 10.00 = 20.00 < vip 24.00 alone
    assert applied(run([mj, five, vip], basket(line("RICE", 2, 10000)))) == {"vip": (2400, 1)}
    # 100.00: mj 10.00 + five 5.00 = 15.00 > vip 12.00
    assert applied(run([mj, five, vip], basket(line("RICE", 1, 10000)))) == {"mj": (1000, 1), "five": (500, 1)}


def test_units_held_by_an_exclusive_item_promotion_take_no_order_promotion():
    clearance = promo("clear", "percent_off", {"percent": 50}, scope={"skus": ["TV"]}, exclusive=True)
    mj = promo("mj", "spend_save", {"ladder": [{"spend_minor": 10000, "save_minor": 1000}]})
    r = run([clearance, mj], basket(line("TV", 1, 30000), line("RICE", 1, 5000)))
    assert applied(r) == {"clear": (15000, 1)}  # the rice alone (50.00) does not reach 100.00


def test_tax_per_rate_and_refunds():
    # 10% off both; rice 100.00 -> 90.00 at 9%: 90 x .09/1.09 = 7.43; oil 33.33 -> 30.00 at 13%: 3.45
    ten = promo("ten", "percent_off", {"percent": 10})
    r = run([ten], basket(line("RICE", 1, 10000, tax_rate="0.09"), line("OIL", 3, 1111, tax_rate="0.13")))
    assert [ln["net_minor"] for ln in r["lines"]] == [9000, 3000]  # 3333 -> 333.3 -> 333 off
    assert r["tax"] == [{"rate": "0.09", "tax_minor": 743}, {"rate": "0.13", "tax_minor": 345}]
    oil = r["lines"][1]
    parts = [refund_minor(oil, 1, k) for k in range(3)]
    assert parts == [1000, 1000, 1000] and sum(parts) == oil["net_minor"]
    assert refund_minor(r["lines"][0], 1) == 9000


def test_an_empty_basket_and_no_promotions():
    assert run([], basket()) == {
        "subtotal_minor": 0,
        "discount_minor": 0,
        "total_minor": 0,
        "tax": [],
        "lines": [],
        "applied": [],
        "rejected_coupons": [],
    }

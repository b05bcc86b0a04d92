"""Bad promotions and baskets are refused with an error that names the field."""

from __future__ import annotations

import pytest

from hub.kernel.errors import ValidationError
from hub.promotions.validation import SCHEMAS, parse_basket, parse_promotions
from tests.support.promotions import basket, line, promo

MJ = promo("mj", "spend_save", {"ladder": [{"spend_minor": 10000, "save_minor": 1000}]})


def refused(promos):
    with pytest.raises(ValidationError) as e:
        parse_promotions(promos)
    return e.value.details["field"], e.value.message


@pytest.mark.parametrize(
    "bad, field",
    [
        ({**MJ, "type": "mystery"}, "promotions[0].type"),
        (promo("f", "fixed_price", {"price_minor": -1}), "promotions[0].params.price_minor"),
        (
            promo(
                "l",
                "spend_save",
                {"ladder": [{"spend_minor": 20000, "save_minor": 1000}, {"spend_minor": 10000, "save_minor": 2000}]},
            ),
            "promotions[0].params.ladder[1].spend_minor",
        ),
        (
            promo("l", "spend_save", {"ladder": [{"spend_minor": 100, "save_minor": 200}]}),
            "promotions[0].params.ladder[0].save_minor",
        ),
        (
            promo(
                "r",
                "spend_save",
                {
                    "ladder": [{"spend_minor": 100, "save_minor": 10}, {"spend_minor": 200, "save_minor": 30}],
                    "repeat": True,
                },
            ),
            "promotions[0].params.repeat",
        ),
        (
            {**MJ, "valid": {**MJ["valid"], "hours": [["09:00", "12:00"], ["11:00", "13:00"]]}},
            "promotions[0].valid.hours[1]",
        ),
        ({**MJ, "valid": {**MJ["valid"], "hours": [["12:00", "09:00"]]}}, "promotions[0].valid.hours[0]"),
        ({**MJ, "valid": {**MJ["valid"], "hours": [["9:00", "12:00"]]}}, "promotions[0].valid.hours[0][0]"),
        ({**MJ, "valid": {"from": "2026-13-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}}, "promotions[0].valid.from"),
        ({**MJ, "valid": {"from": "2026-06-01T00:00:00", "to": "2027-01-01T00:00:00Z"}}, "promotions[0].valid.from"),
        ({**MJ, "valid": {"from": "2026-06-01T00:00:00Z", "to": "2026-05-01T00:00:00Z"}}, "promotions[0].valid.to"),
        ({**MJ, "valid": {**MJ["valid"], "weekdays": [0]}}, "promotions[0].valid.weekdays[0]"),
        ({**MJ, "phase": "item"}, "promotions[0].phase"),
        ({**MJ, "exclusiv": True}, "promotions[0].exclusiv"),
        ({k: v for k, v in MJ.items() if k != "name"}, "promotions[0].name"),
        (promo("p", "percent_off", {"percent": 120}), "promotions[0].params.percent"),
        (promo("p", "percent_off", {"percent": 12.345}), "promotions[0].params.percent"),
        (
            promo(
                "b",
                "bundle_price",
                {"groups": [{"skus": ["A"], "qty": 1}, {"skus": ["A", "B"], "qty": 1}], "price_minor": 100},
            ),
            "promotions[0].params.groups[1].skus",
        ),
        (promo("c", "percent_off", {"percent": 5}, coupon="TWO WORDS"), "promotions[0].coupon"),
    ],
)
def test_bad_promotions_name_the_field(bad, field):
    got, message = refused([bad])
    assert got == field and message.startswith(field)


def test_duplicate_ids_and_not_a_list():
    assert refused([MJ, MJ])[0] == "promotions[1].id"
    assert refused({"id": "x"})[0] == "promotions"


def test_every_type_has_a_schema_and_a_good_example_passes():
    assert set(SCHEMAS) == {"percent_off", "fixed_price", "spend_save", "buy_x_get_y", "bundle_price", "nth_item_off"}
    ok = parse_promotions(
        [
            MJ,
            promo(
                "h",
                "percent_off",
                {"percent": 10},
                valid={
                    "from": "2026-01-01T00:00:00+08:00",
                    "to": "2026-02-01T00:00:00+08:00",
                    "weekdays": [1, 7],
                    "hours": [["12:00", "14:00"], ["09:00", "12:00"], ["18:00", "24:00"]],
                },
            ),
        ]
    )
    assert ok[1].hours == ((540, 720), (720, 840), (1080, 1440))


@pytest.mark.parametrize(
    "bad, field",
    [
        (basket(line("A", 1, -5)), "lines[0].unit_price_minor"),
        (basket(line("A", 0, 5)), "lines[0].qty"),
        (basket({"sku": "A", "qty": 1, "unit_price_minor": 5}), "lines[0].category"),  # unknown SKU, no category
        (basket({"sku": "A", "grams": 100, "category": "x"}), "lines[0].price_per_kg_minor"),
        (basket({"sku": "A", "grams": 100, "price_per_kg_minor": 5, "qty": 1, "category": "x"}), "lines[0].qty"),
        (basket(line("A", 1, 5, tax_rate="13%")), "lines[0].tax_rate"),
        (basket(line("A", 1, 5), at="yesterday"), "at"),
        ({"lines": [line("A", 1, 5)]}, "at"),
        ({**basket(), "member": {"level": 1}}, "member.level"),
        ({**basket(), "extra": 1}, "extra"),
    ],
)
def test_bad_baskets_name_the_field(bad, field):
    with pytest.raises(ValidationError) as e:
        parse_basket(bad)
    assert e.value.details["field"] == field


def test_the_catalog_fills_category_and_brand():
    items = {"A": {"category": "dairy", "brand": "Bright"}}
    b = parse_basket(basket({"sku": "A", "qty": 1, "unit_price_minor": 5}), items.get)
    assert (b.lines[0].category, b.lines[0].brand) == ("dairy", "Bright")

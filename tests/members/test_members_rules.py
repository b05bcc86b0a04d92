"""Members: the pure rules — phones, cards, dynamic codes, tiers, earning, the FIFO fold of lots and expiry."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from hub.kernel.errors import ValidationError
from hub.members import rules

TIERS = [
    {"code": "standard", "min_spend_minor": 0},
    {"code": "silver", "min_spend_minor": 200_000},
    {"code": "gold", "min_spend_minor": 1_000_000},
]


def test_phone_typed_two_ways_is_one_number_and_is_masked():
    assert rules.normalise_phone("138 1234 5678", "CN") == "+8613812345678"
    assert rules.normalise_phone("+86 138-1234-5678", "CN") == "+8613812345678"
    assert rules.mask_phone("+8613812345678") == "138****5678"
    assert rules.mask_phone(rules.normalise_phone("+44 20 7946 0958", "CN")).startswith("+44 ")
    for bad in ("12345", "138123456789", "not a phone", "", "+86 100 0000 0000"):
        with pytest.raises(ValidationError) as e:
            rules.normalise_phone(bad, "CN")
        assert e.value.code in ("invalid_phone", "phone_required"), bad


def test_card_numbers_carry_a_check_digit():
    for _ in range(50):
        card = rules.new_card_no()
        assert rules.valid_card_no(card) and len(card) == 12
        wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
        assert not rules.valid_card_no(wrong)


def test_dynamic_code_round_trip_and_window():
    code = rules.DynamicCode("123456789012", 1_700_000_000, "0a1b2c3d", bytes(range(8)))
    back = rules.parse_dynamic_code(code.text())
    assert back == code
    assert rules.code_state(code, 1_700_000_060, 60) == "ok"
    assert rules.code_state(code, 1_700_000_061, 60) == "expired"
    assert rules.code_state(code, 1_699_999_000, 60) == "future"
    with pytest.raises(ValidationError):
        rules.parse_dynamic_code("SHD-123-abc")


def test_tiers_by_rolling_spend():
    assert rules.tier_for(0, TIERS) == "standard"
    assert rules.tier_for(199_999, TIERS) == "standard"
    assert rules.tier_for(200_000, TIERS) == "silver"
    assert rules.tier_for(5_000_000, TIERS) == "gold"
    assert rules.tier_rank("gold", TIERS) > rules.tier_rank("silver", TIERS) > rules.tier_rank("standard", TIERS)
    assert rules.period_end(2027, "02-29") == date(2027, 2, 28)


def test_earn_rules_multipliers_exclusions_and_points_paid():
    rule = {
        "points_per_unit": 1,
        "unit_minor": 100,
        "category_multipliers": {"fresh": 2},
        "excluded_categories": ["tobacco"],
        "excluded_skus": ["GIFT-100"],
    }
    lines = [
        {"sku": "MILK", "category": "dairy", "net_minor": 1250},
        {"sku": "APPLE", "category": "fresh", "net_minor": 1000},
        {"sku": "CIGS", "category": "tobacco", "net_minor": 3000},
        {"sku": "GIFT-100", "category": "", "net_minor": 10000},
    ]
    assert rules.earn_points(lines, rule) == (12 + 20, 15250)  # 12.5 → 12, fresh doubled
    pts, spend = rules.earn_points(lines, rule, points_paid_minor=7625)  # half paid with points
    assert spend == 7625 and pts == int((1250 + 2000) * 0.5 // 100)
    assert rules.earn_points([], rule) == (0, 0)


def test_reverse_share_never_takes_back_more_than_was_earned():
    assert rules.reverse_share(100, 0, 5000, 10000) == 50
    assert rules.reverse_share(100, 50, 10000, 10000) == 50
    assert rules.reverse_share(100, 100, 10000, 10000) == 0
    assert rules.reverse_share(0, 0, 10000, 10000) == 0


def _e(i, pts, at, lot=None):
    return {"id": f"e{i:03d}", "points": pts, "at": at, "lot_id": lot}


def test_fifo_lots_and_expiry():
    entries = [
        _e(1, 100, "2024-03-01T00:00:00Z"),
        _e(2, 50, "2025-02-01T00:00:00Z"),
        _e(3, -120, "2025-06-01T00:00:00Z"),
        _e(4, 30, "2025-07-01T00:00:00Z"),
    ]
    assert rules.fifo_lots(entries) == {"e001": 0, "e002": 30, "e004": 30}

    def day(ts):
        return date.fromisoformat(ts[:10])

    assert rules.expiry_due(entries, date(2025, 12, 31), 1, day) == []  # 2024's lots live through 2025
    entries[2]["points"] = -60
    due = rules.expiry_due(entries, date(2026, 1, 1), 1, day)
    assert due == [("e001", 40)]
    entries.append(_e(5, -40, "2026-01-01T00:00:00Z", lot="e001"))  # the expiry written
    assert rules.expiry_due(entries, date(2026, 1, 2), 1, day) == []  # so a second run expires nothing
    # a reversal names its lot: it takes from that lot first
    assert rules.fifo_lots([_e(1, 10, "a"), _e(2, 10, "b"), _e(3, -10, "c", lot="e002")]) == {"e001": 10, "e002": 0}


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-200, max_value=200).filter(lambda x: x != 0), max_size=40))
def test_fifo_lots_never_exceed_the_balance(deltas):
    entries = [_e(i, d, f"2025-01-01T00:00:{i:02d}Z") for i, d in enumerate(deltas)]
    lots = rules.fifo_lots(entries)
    assert all(v >= 0 for v in lots.values())
    assert sum(lots.values()) == max(rules.balance(entries), 0)  # a debt is paid by the next lots earned

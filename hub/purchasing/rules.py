"""Purchasing: pure decisions (no database, no I/O) — each small enough to test exhaustively.

Who must approve an order of a given value, what a case GTIN may look like, how a suggested quantity rounds to
case packs, the reorder formula, the moving-average cost and how a receipt's shortfalls and surpluses are
classified all live here, so the modules that touch the database only sequence them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist

from biip import ParseError
from biip.gtin import Gtin

from hub.kernel.errors import Unprocessable, ValidationError

ROLES = ("associate", "supervisor", "manager", "admin")
DISCREPANCY_REASONS = (
    "short_shipped",
    "over_shipped",
    "damaged",
    "wrong_item",
    "substitution",
    "expired",
    "quality",
    "other",
)
RTV_REASONS = ("damaged", "expired", "quality", "recall", "wrong_item", "over_shipped", "other")


@dataclass(frozen=True)
class ApprovalPlan:
    """How an order of a value gets approved: ``steps`` approvals, the first by ``first_role`` or above, the
    second (two-step orders only) by ``second_role`` or above and by another person."""

    steps: int
    first_role: str
    second_role: str | None


def approval_plan(total_minor: int, *, supervisor_limit_minor: int, two_step_above_minor: int) -> ApprovalPlan:
    """Value limits: a supervisor approves up to their limit, a manager above it; above the head-office threshold
    a second approval by head office (the ``admin`` role on a hub) follows the store manager's."""
    if total_minor > two_step_above_minor:
        return ApprovalPlan(2, "manager", "admin")
    if total_minor > supervisor_limit_minor:
        return ApprovalPlan(1, "manager", None)
    return ApprovalPlan(1, "supervisor", None)


def has_role(have: str, needed: str) -> bool:
    return have in ROLES and ROLES.index(have) >= ROLES.index(needed)


def case_gtin(text: object) -> str:
    """A case (trade unit above the each) GTIN-14: 14 digits, valid check digit, indicator digit 1-8 (0 is the
    each itself, 9 a variable-measure unit)."""
    s = str(text or "").strip()
    if not s.isdigit() or len(s) != 14:
        raise ValidationError(f"a case GTIN is 14 digits: {text!r}", code="invalid_case_gtin")
    try:
        Gtin.parse(s)
    except ParseError as exc:
        raise ValidationError(f"case GTIN {s}: {exc}", code="invalid_case_gtin") from exc
    if s[0] in "09":
        raise ValidationError(
            f"case GTIN {s}: the indicator digit of a case is 1-8 (0 is a single unit, 9 a variable-measure unit)",
            code="invalid_case_gtin",
        )
    return s


def round_to_cases(units: int, case_units: int) -> int:
    """The smallest whole number of cases holding ``units`` (at least one case when anything is needed)."""
    if units <= 0:
        return 0
    return math.ceil(units / case_units) * case_units


def line_value(unit: str, qty: int, unit_cost_minor: int) -> int:
    """Value of ``qty`` base units at a unit cost: pieces × cost, or grams × cost per kg / 1000 (half up)."""
    if unit == "kg":
        return int((Decimal(qty) * unit_cost_minor / 1000).to_integral_value(rounding=ROUND_HALF_UP))
    return qty * unit_cost_minor


def moving_average(on_hand_before: int, avg_before: int | None, qty: int, unit_cost: int) -> int:
    """Weighted moving-average unit cost after receiving ``qty`` at ``unit_cost``. Negative stock before the
    receipt carries no value (it was sold before it was received), so it weighs nothing."""
    if avg_before is None or on_hand_before <= 0:
        return unit_cost
    total = Decimal(on_hand_before) * avg_before + Decimal(qty) * unit_cost
    return int((total / (on_hand_before + qty)).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Reorder:
    safety_stock: int
    reorder_point: int
    order_up_to: int


def reorder_levels(
    avg_daily: float,
    sd_daily: float,
    lead_time_days: float,
    lead_time_sd_days: float,
    review_days: float,
    service_level: float,
) -> Reorder:
    """Safety stock SS = z·√(L·σd² + d̄²·σL²), reorder point ROP = d̄·L + SS, order-up-to level
    S = d̄·(L+R) + z·√((L+R)·σd² + d̄²·σL²), with z the standard normal quantile of the service level
    (docs/purchasing.md). Rounded up: a fraction of a unit on the shelf protects nobody."""
    z = NormalDist().inv_cdf(service_level)
    ss = z * math.sqrt(lead_time_days * sd_daily**2 + avg_daily**2 * lead_time_sd_days**2)
    horizon = lead_time_days + review_days
    s_level = avg_daily * horizon + z * math.sqrt(horizon * sd_daily**2 + avg_daily**2 * lead_time_sd_days**2)
    ss_i = math.ceil(ss - 1e-9)
    return Reorder(ss_i, math.ceil(avg_daily * lead_time_days + ss - 1e-9), math.ceil(s_level - 1e-9))


def discrepancy_kind(expected: int, received: int, *, on_po: bool) -> str | None:
    """``wrong_item`` (not on the order), ``over``, ``under`` or None when the receipt matches."""
    if not on_po:
        return "wrong_item"
    if received > expected:
        return "over"
    if received < expected:
        return "under"
    return None


def default_reason(kind: str) -> str:
    return {"over": "over_shipped", "under": "short_shipped", "wrong_item": "wrong_item"}[kind]


def over_tolerance(ordered: int, received_total: int, tolerance_pct: float) -> bool:
    """True when ``received_total`` is more than the order allows (ordered + tolerance %, at least nothing)."""
    allowed = ordered + math.floor(ordered * tolerance_pct / 100 + 1e-9)
    return received_total > allowed


def near_expiry_days(category: str, setting: dict) -> int:
    """Days ahead the store warns about expiry for an item of ``category`` (per-category setting, else default)."""
    return int((setting.get("categories") or {}).get(category, setting.get("default", 7)))


def check_expiry(expiry: str | None, today: date) -> None:
    if expiry is not None and date.fromisoformat(expiry) < today:
        raise Unprocessable(
            f"this carton expired on {expiry}; it cannot be received",
            code="expired_on_receipt",
            details={"expiry": expiry, "today": today.isoformat()},
        )

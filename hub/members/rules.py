"""Members and loyalty: pure decisions (no database, no I/O) — phones, cards, dynamic codes, tiers, earning and
the FIFO fold of earn lots. The central's merge and expiry job use the same functions, so a hub and the central
can never disagree on what a rule says."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers

from hub.kernel.errors import ValidationError

CARD_PREFIX = "SHM-"  # member card barcode (Code 128): SHM-<12 digits, the last a Luhn check digit>
CODE_PREFIX = "SHD-"  # dynamic member code (QR on the member's phone): SHD-<card>-<issued>-<nonce>-<sig>
CARD_DIGITS = 12
SIG_BYTES = 8  # 64-bit truncated HMAC-SHA256: forging one is a 2^-64 guess per try
ENTRY_KINDS = ("earn", "burn", "adjust", "reverse", "expire")  # expire: written by the central's expiry job
PHONE_PURPOSE = "member.phone"


# --- phones -------------------------------------------------------------------------------------------------------
def normalise_phone(text: object, region: str) -> str:
    """The E.164 form of a phone number as typed (``138 1234 5678``, ``+86 138-1234-5678``), or a clear error.
    Only valid numbers of a real numbering plan pass (``phonenumbers``); the E.164 form is what is hashed and
    encrypted, so one phone typed two ways is one member."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("a phone number is required", code="phone_required")
    try:
        n = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        raise ValidationError("that is not a phone number", code="invalid_phone") from None
    if not phonenumbers.is_valid_number(n):
        raise ValidationError("that phone number does not exist in its numbering plan", code="invalid_phone")
    return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """What the till may show: the national number with its middle hidden (``138****5678``)."""
    n = phonenumbers.parse(e164, None)
    national = str(n.national_number)
    keep_head = 3 if len(national) >= 10 else 2
    hidden = max(len(national) - keep_head - 4, 1)
    masked = national[:keep_head] + "*" * hidden + national[keep_head + hidden :]
    return masked if n.country_code == 86 else f"+{n.country_code} {masked}"


def clean_name(name: object) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise ValidationError("a name is text", code="invalid_name")
    text = " ".join(name.split())
    if len(text) > 80:
        raise ValidationError("a name has at most 80 characters", code="invalid_name")
    return text or None


def parse_birthday(value: object, today: date) -> date | None:
    """A birthday ``YYYY-MM-DD`` (or ``--MM-DD`` when the member gives no year) in the past."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValidationError("a birthday is YYYY-MM-DD", code="invalid_birthday")
    text = value.strip()
    if text.startswith("--"):
        text = "1904" + text[1:]  # a leap year, so --02-29 is a birthday too
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise ValidationError("a birthday is YYYY-MM-DD", code="invalid_birthday") from None
    if d > today or d.year < 1900:
        raise ValidationError("that birthday is not a date of birth", code="invalid_birthday")
    return d


# --- card numbers -------------------------------------------------------------------------------------------------
def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def new_card_no() -> str:
    body = str(secrets.randbelow(9 * 10 ** (CARD_DIGITS - 2)) + 10 ** (CARD_DIGITS - 2))
    return body + luhn_digit(body)


def valid_card_no(card: str) -> bool:
    return len(card) == CARD_DIGITS and card.isdigit() and luhn_digit(card[:-1]) == card[-1]


# --- dynamic member codes -----------------------------------------------------------------------------------------
_CODE_RE = re.compile(r"^SHD-(\d{12})-([0-9a-z]{1,8})-([0-9a-f]{8})-([0-9a-f]{16})$")


@dataclass(frozen=True)
class DynamicCode:
    card_no: str
    issued_s: int
    nonce: str
    sig: bytes

    @property
    def signed_text(self) -> str:
        return f"{self.card_no}|{self.issued_s}|{self.nonce}"

    def text(self) -> str:
        return f"{CODE_PREFIX}{self.card_no}-{_b36(self.issued_s)}-{self.nonce}-{self.sig.hex()}"


def _b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + out
        if n == 0:
            return out


def parse_dynamic_code(text: str) -> DynamicCode:
    m = _CODE_RE.match(text.strip().lower().replace("shd-", "SHD-", 1))
    if not m:
        raise ValidationError("not a member code this store can read", code="member_code_invalid")
    return DynamicCode(m.group(1), int(m.group(2), 36), m.group(3), bytes.fromhex(m.group(4)))


def code_state(code: DynamicCode, now_s: int, ttl_s: int, skew_s: int = 5) -> str:
    """``ok``, ``expired`` or ``future`` (a phone clock far ahead cannot mint codes that live longer)."""
    if code.issued_s > now_s + skew_s:
        return "future"
    return "ok" if now_s - code.issued_s <= ttl_s else "expired"


# --- tiers --------------------------------------------------------------------------------------------------------
TIERS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "maxItems": 10,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["code", "min_spend_minor"],
        "properties": {
            "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$"},
            "min_spend_minor": {"type": "integer", "minimum": 0},
            "name_en": {"type": "string", "maxLength": 40},
            "name_zh": {"type": "string", "maxLength": 40},
        },
    },
}


def ordered_tiers(tiers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = sorted(tiers, key=lambda t: t["min_spend_minor"])
    if out[0]["min_spend_minor"] != 0:
        raise ValidationError("the lowest tier starts at 0", code="invalid_tiers")
    return out


def tier_for(spend_minor: int, tiers: list[dict[str, Any]]) -> str:
    """The highest tier whose threshold the 12-month rolling spend reaches."""
    code = ordered_tiers(tiers)[0]["code"]
    for t in ordered_tiers(tiers):
        if spend_minor >= t["min_spend_minor"]:
            code = t["code"]
    return code


def tier_rank(code: str, tiers: list[dict[str, Any]]) -> int:
    """Position of a tier (0 = lowest); a tier no longer in the rules ranks lowest."""
    codes = [t["code"] for t in ordered_tiers(tiers)]
    return codes.index(code) if code in codes else -1


def period_end(year: int, month_day: str) -> date:
    """The tier period's end in ``year`` (``MM-DD``; 02-29 falls back to 02-28 in common years)."""
    m, d = (int(x) for x in month_day.split("-"))
    try:
        return date(year, m, d)
    except ValueError:
        return date(year, m, d - 1)


# --- earning ------------------------------------------------------------------------------------------------------
EARN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["points_per_unit", "unit_minor"],
    "properties": {
        "points_per_unit": {"type": "integer", "minimum": 0, "maximum": 1000},
        "unit_minor": {"type": "integer", "minimum": 1, "maximum": 100_000},
        "category_multipliers": {
            "type": "object",
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": 20},
        },
        "excluded_categories": {"type": "array", "items": {"type": "string"}, "maxItems": 200},
        "excluded_skus": {"type": "array", "items": {"type": "string"}, "maxItems": 2000},
    },
}


def earn_points(
    lines: Iterable[dict[str, Any]], rule: dict[str, Any], *, points_paid_minor: int = 0
) -> tuple[int, int]:
    """(points, spend_minor) a sale earns. Each line's ``net_minor`` (what was really paid after discounts)
    counts unless its category or SKU is excluded, times its category's multiplier; the part of the sale paid
    with points earns nothing (shared out over the lines pro rata). Points are whole: the fraction is dropped.
    ``spend_minor`` (for tiers) is the net paid in money, excluded items included."""
    lines = list(lines)
    excluded_c = set(rule.get("excluded_categories") or ())
    excluded_s = set(rule.get("excluded_skus") or ())
    mult = rule.get("category_multipliers") or {}
    total = sum(int(ln["net_minor"]) for ln in lines)
    if total <= 0:
        return 0, 0
    weighted = 0.0
    for ln in lines:
        if (ln.get("category") or "") in excluded_c or ln.get("sku") in excluded_s:
            continue
        weighted += int(ln["net_minor"]) * float(mult.get(ln.get("category") or "", 1))
    money = max(total - max(points_paid_minor, 0), 0)
    weighted *= money / total
    points = int(weighted * rule["points_per_unit"] // rule["unit_minor"])
    return points, money


def reverse_share(earned: int, already_reversed: int, refund_minor: int, spend_minor: int) -> int:
    """Points to take back for a refund of ``refund_minor`` from a sale that earned ``earned`` on
    ``spend_minor``: pro rata, rounded half up, and never more than is left to take back."""
    if earned <= 0 or spend_minor <= 0 or refund_minor <= 0:
        return 0
    share = (earned * min(refund_minor, spend_minor) * 2 + spend_minor) // (2 * spend_minor)
    return max(0, min(share, earned - already_reversed))


# --- the ledger fold ----------------------------------------------------------------------------------------------
def balance(entries: Iterable[dict[str, Any]]) -> int:
    return sum(int(e["points"]) for e in entries)


def lot_expires(earned_on: date, years_after: int) -> date:
    """Points earned in year Y expire at the end of year Y + ``years_after`` (the last day still counts)."""
    return date(earned_on.year + years_after, 12, 31)


def fifo_lots(entries: Iterable[dict[str, Any]]) -> dict[str, int]:
    """What is left of each earn lot (``{lot id: points}``) after every deduction, oldest lot first.

    A lot is a positive entry (its id). A deduction naming a lot (``lot_id``: a reversal of that sale's earning)
    takes from that lot first; every other deduction — and what a named lot cannot cover — takes from the oldest
    lots still holding points (FIFO). Deductions beyond every lot leave the balance negative; that shows as no
    lot left, never as a negative lot."""
    ordered = sorted(entries, key=lambda e: (e["at"], e["id"]))
    lots: dict[str, int] = {}
    debt = 0  # deductions not covered yet: paid by the next lots earned
    for e in ordered:
        p = int(e["points"])
        if p > 0:
            take = min(p, debt)
            debt -= take
            lots[e["id"]] = p - take
            continue
        need = -p
        named = e.get("lot_id")
        if named and lots.get(named, 0) > 0:
            take = min(lots[named], need)
            lots[named] -= take
            need -= take
        for lid in lots:
            if need == 0:
                break
            take = min(lots[lid], need)
            lots[lid] -= take
            need -= take
        debt += need
    return lots


def expiry_due(entries: list[dict[str, Any]], today: date, years_after: int, local_day: Any) -> list[tuple[str, int]]:
    """``[(lot id, points)]`` to expire today: lots whose expiry date has passed with points left, FIFO after
    every deduction (expiries already written included, so running the job twice expires nothing the second
    time). ``local_day(ts)`` is the store-local day of an entry's time."""
    earned_on = {e["id"]: local_day(e["at"]) for e in entries if int(e["points"]) > 0}
    return [
        (lid, left)
        for lid, left in fifo_lots(entries).items()
        if left > 0 and lot_expires(earned_on[lid], years_after) < today
    ]

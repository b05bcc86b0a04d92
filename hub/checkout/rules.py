"""Checkout: pure decisions (no database, no I/O) — money arithmetic that must agree to the fen everywhere.

Cash rounding, tax included in a price, how a refund is split over the tenders that paid, denominations of a
count, receipt codes and the journal's hash chain all live here so the tests can run them exhaustively."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from hub.kernel.errors import ValidationError

TILL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
RECEIPT_RE = re.compile(r"^SHR-([A-Za-z0-9][A-Za-z0-9_-]{0,31})-(\d{8})-(\d{4,6})$")
CART_CODE_RE = re.compile(r"^SHC-(\d{1,9})$")
GENESIS = "0" * 64
ROUNDING_MODES = ("half_up", "down")


def check_till(till_id: object) -> str:
    """A till id as it appears in URLs, receipt codes and device names: short and plain."""
    if not isinstance(till_id, str) or not TILL_RE.fullmatch(till_id):
        raise ValidationError("a till id is 1-32 letters, digits, - or _", code="bad_till_id")
    return till_id


def receipt_code(till_id: str, business_date: str, receipt_no: int) -> str:
    """What the receipt's barcode says (Code 128): till, business day and the number of the day."""
    return f"SHR-{till_id}-{business_date.replace('-', '')}-{receipt_no:04d}"


def round_cash(amount: int, step: int, mode: str = "half_up") -> int:
    """The cash a customer hands over for ``amount`` when the smallest coin in use is ``step`` fen.

    ``half_up`` (四舍五入 to the step) or ``down`` (抹零: the store drops the odd fen). ``step`` 1 = none."""
    if step <= 1 or amount == 0:
        return amount
    sign, a = (-1 if amount < 0 else 1), abs(amount)
    low = a - a % step
    if mode == "down":
        return sign * low
    return sign * (low + step if (a % step) * 2 >= step else low)


def tax_included(net: int, rate: str) -> int:
    """The tax contained in a tax-inclusive ``net`` at ``rate`` (``"0.13"``): round-half-up of net·r/(1+r)."""
    r = Fraction(rate)
    if r <= 0 or net == 0:
        return 0
    num, den = net * r.numerator, r.numerator + r.denominator
    sign = -1 if num < 0 else 1
    return sign * ((2 * abs(num) + den) // (2 * den))


def split_refund(amount: int, paid: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Who gets ``amount`` back: every non-cash tender of the sale first, up to what it paid and has not yet
    refunded (a card refund goes back to the card), the rest as cash. ``paid`` rows: ``{id, method,
    available_minor}``. The parts add up to ``amount`` exactly."""
    out: list[dict[str, Any]] = []
    left = amount
    rows = list(paid)
    for t in sorted(rows, key=lambda t: (t["method"] == "cash", t["id"])):
        if left <= 0:
            break
        if t["method"] == "cash":
            continue
        part = min(left, max(0, int(t["available_minor"])))
        if part:
            out.append({"tender_id": t["id"], "method": t["method"], "amount_minor": part})
            left -= part
    if left > 0:
        out.append({"tender_id": None, "method": "cash", "amount_minor": left})
    return out


def count_total(counted: Mapping[str, int], denominations: Iterable[int]) -> int:
    """The money in a count by denomination (``{"10000": 3, "50": 7}``: denomination in fen → pieces)."""
    allowed = set(denominations)
    total = 0
    for denom, pieces in counted.items():
        try:
            d = int(denom)
        except (TypeError, ValueError):
            raise ValidationError(f"{denom!r} is not a denomination in fen", code="bad_denomination") from None
        if d not in allowed:
            raise ValidationError(
                f"{d} fen is not a denomination of this store",
                code="bad_denomination",
                details={"allowed": sorted(allowed)},
            )
        if isinstance(pieces, bool) or not isinstance(pieces, int) or pieces < 0:
            raise ValidationError("a count is a whole number of pieces", code="bad_count")
        total += d * pieces
    return total


def canonical(body: Mapping[str, Any]) -> str:
    """The one text of a journal body that is hashed: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str,
    seq: int,
    kind: str,
    till_id: str,
    business_date: str,
    receipt_no: int | None,
    ts: str,
    body_text: str,
) -> str:
    """SHA-256 over the previous entry's hash and everything this entry says, so changing, removing or
    reordering any entry breaks every hash after it."""
    head = "\x1f".join(
        [prev_hash, str(seq), kind, till_id, business_date, "" if receipt_no is None else str(receipt_no), ts]
    )
    return hashlib.sha256((head + "\x1e" + body_text).encode("utf-8")).hexdigest()


def needs_approval(amount_minor: int, limit_minor: int) -> bool:
    """A supervisor's badge is needed when a change by hand is worth more than the store's limit."""
    return amount_minor > limit_minor


def cash_terms(due: int, received: int, step: int, mode: str) -> tuple[int, int, int]:
    """(amount, change, rounding) of cash ``received`` against ``due``.

    Enough cash settles the rounded due (the rounding is the difference); less is a part payment, which also
    settles the sale when what is left rounds to nothing. A tender settles ``amount - rounding`` of the due."""
    cash_due = round_cash(due, step, mode)
    if received >= cash_due:
        return cash_due, received - cash_due, cash_due - due
    left = due - received
    return received, 0, (-left if round_cash(left, step, mode) == 0 else 0)

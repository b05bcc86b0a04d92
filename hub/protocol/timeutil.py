"""Time helpers. Every stored time is UTC, ISO-8601 with a trailing ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None = None) -> str:
    dt = dt or utcnow()
    if dt.tzinfo is None:
        raise ValueError("naive datetime: StoreHub stores UTC only")
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(utcnow())


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 time with an offset (``Z``, ``+00:00`` or ``+0000``) into UTC.

    Up to nine fractional digits are accepted (readers send nanoseconds)."""
    s = text.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    # +0000 -> +00:00
    if len(s) >= 5 and s[-5] in "+-" and s[-4:].isdigit():
        s = s[:-5] + s[-5:-2] + ":" + s[-2:]
    # trim fractional seconds to 6 digits
    if "." in s:
        head, rest = s.split(".", 1)
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        s = head + "." + (digits[:6] or "0") + rest[i:]
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        raise ValueError(f"time without UTC offset: {text!r}")
    return dt.astimezone(UTC)

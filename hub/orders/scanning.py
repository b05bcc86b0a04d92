"""What a scan means for picking and packing: an item (with a weight or count
from a variable-measure label), a location label or an order code.

Codes are read and looked up by ``hub.identify.resolve.resolve`` with the store's settings. Unreadable codes are refused with 422 and a code."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from hub.identify import resolve as scan
from hub.kernel import settings
from hub.kernel.errors import NotFound, Unprocessable, ValidationError


@dataclass(frozen=True)
class Scan:
    kind: str                      # item | location | order | badge
    code: str
    item: dict[str, Any] | None = None
    weight_g: int | None = None
    count: int | None = None
    own_code: str | None = None    # location code or order ref


def read(conn: sqlite3.Connection, code: str) -> Scan:
    """Resolve a scan through ``hub.identify.resolve.resolve``; unreadable or unknown codes become 422 with a code."""
    if not isinstance(code, str) or not code.strip():
        raise Unprocessable("nothing was scanned", code="empty_scan")
    try:
        r = scan.resolve(conn, code, settings=settings.get_all(conn), with_stock=False)
    except NotFound as exc:
        raise Unprocessable(f"unknown code {code!r}: {exc.message}", code="unknown_item" if exc.code == "unknown_code"
                            else exc.code, details={"code": code}) from exc
    except ValidationError as exc:
        raise Unprocessable(f"cannot read {code!r}: {exc.message}", code="unreadable_code",
                            details={"reason": exc.code, "code": code}) from exc
    parsed = r["parsed"]
    if r["kind"] == "location":
        return Scan("location", code, own_code=r["location"]["code"])
    if r["kind"] in ("order", "badge"):
        return Scan(r["kind"], code, own_code=parsed.get("own_code"))
    item = r["item"]
    weight = r["weight_g"] if item["unit"] == "kg" else None
    return Scan("item", code, item=item, weight_g=weight, count=parsed.get("count"))


def item_label(item: dict[str, Any]) -> str:
    return f"{item['sku']} {item.get('name_en') or item.get('name_zh') or ''}".strip()

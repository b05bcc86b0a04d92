"""What a scan means for picking and packing: an item (with a weight or count
from a variable-measure label), a location label or an order code.

Codes are read and looked up by :func:`hub.identify.resolve.resolve` with the store's settings; a pick or a pack
gets its :class:`~hub.identify.resolve.Resolution`. Unreadable and unknown codes are refused with 422 and a code."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.identify import resolve as resolver
from hub.kernel import settings
from hub.kernel.errors import NotFound, Unprocessable, ValidationError


def read(conn: sqlite3.Connection, code: str) -> resolver.Resolution:
    """Resolve a scan for picking or packing; unreadable or unknown codes become 422 with a code
    (``unreadable_code`` with the reader's reason, ``unknown_item``); an ambiguous PLU stays 409."""
    if not isinstance(code, str) or not code.strip():
        raise Unprocessable("nothing was scanned", code="empty_scan")
    try:
        return resolver.resolve(conn, code, settings=settings.get_all(conn), with_stock=False)
    except NotFound as exc:
        raise Unprocessable(
            f"unknown code {code!r}: {exc.message}",
            code="unknown_item" if exc.code == "unknown_code" else exc.code,
            details={"code": code},
        ) from exc
    except ValidationError as exc:
        raise Unprocessable(
            f"cannot read {code!r}: {exc.message}", code="unreadable_code", details={"reason": exc.code, "code": code}
        ) from exc


def item_label(item: dict[str, Any]) -> str:
    return f"{item['sku']} {item.get('name_en') or item.get('name_zh') or ''}".strip()

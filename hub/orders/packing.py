"""Packing at the desk: the order is marked packed and its pack label and receipt are queued for the
printer in the same transaction, so a packed order never lacks its print request."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.orders import fulfilment, printing, queries


def pack_and_print(
    conn: sqlite3.Connection, order_id: str, *, actor: str, device: str | None = None, printer: str | None = None
) -> dict[str, Any]:
    """Mark the order packed (every picked item scanned, else 422 ``pack_incomplete``), queue its documents on
    ``printer`` (default: the store's order printer) and return the order view with the print jobs as
    ``printed``."""
    fulfilment.pack(conn, order_id, actor=actor, device=device)
    jobs = printing.print_order_documents(conn, order_id, actor=actor, device=device, printer=printer)
    return {**queries.order_view(conn, order_id), "printed": jobs}

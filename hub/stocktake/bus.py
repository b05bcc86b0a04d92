"""The device bus's ``tags`` handler: RFID reads published as ``evt/tags`` go into the reader's open sweep.

The bus has already checked the event against the contract and records its id
in the same transaction, so each batch is applied exactly once. Reads from a
reader with no open sweep are refused (``Reject``): the bus dead-letters them
with the reason instead of silently dropping them.
"""

from __future__ import annotations

import logging
import sqlite3

from hub.bus.handlers import DeviceEvent, Reject
from hub.stocktake.ingest import TagIngest

log = logging.getLogger("storehub.stocktake")

_INGEST = TagIngest(None)


def on_tags(conn: sqlite3.Connection, event: DeviceEvent) -> None:
    parsed = event.payload.parsed  # the contract parsed the reads when the bus validated the event (TagsEvent)
    if not parsed.reads:
        raise Reject("; ".join(parsed.errors[:5]) or "no tag reads")
    if parsed.errors:
        log.warning(
            "tags from %s: %d unreadable reads skipped: %s", event.device_id, len(parsed.errors), parsed.errors[:3]
        )
    if _INGEST.feed(event.device_id, parsed.reads, conn=conn) == 0:
        raise Reject(f"reader {event.device_id} has no open RFID sweep")
    _INGEST.flush(conn)

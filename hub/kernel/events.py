"""Live updates for connected UIs (Server-Sent Events).

The outbox is already the ordered record of every fact the hub records, shared
by every gunicorn worker and the bus process, so the live stream simply follows
it: a subscriber remembers the last outbox sequence it sent and polls for newer
rows. No second event channel to keep in step.

The sync worker prunes acknowledged rows past a retention, so a client may come back with a
``Last-Event-ID`` whose row is gone: ``since`` simply returns the rows after it that are left, and
``latest_seq`` is the outbox's own counter (``outbox.last_seq``), so it stays right when every row
was pruned — a resume point is never moved backwards onto seqs that mean nothing yet."""

from __future__ import annotations

from typing import Any

from hub.kernel import outbox
from hub.kernel.db import Database


class EventHub:
    def __init__(self, db: Database):
        self.db = db

    def latest_seq(self) -> int:
        return outbox.last_seq(self.db.read())

    def since(self, seq: int, limit: int = 200) -> list[dict[str, Any]]:
        return outbox.pending(self.db.read(), seq, limit)

"""Live updates for connected UIs (Server-Sent Events).

The outbox is already the ordered record of every fact the hub records, shared
by every gunicorn worker and the bus process, so the live stream simply follows
it: a subscriber remembers the last outbox sequence it sent and polls for newer
rows. No second event channel to keep in step."""

from __future__ import annotations

from hub.kernel import outbox


class EventHub:
    def __init__(self, db):
        self.db = db

    def latest_seq(self) -> int:
        row = self.db.read().execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()
        return int(row[0])

    def since(self, seq: int, limit: int = 200) -> list[dict]:
        return outbox.pending(self.db.read(), seq, limit)

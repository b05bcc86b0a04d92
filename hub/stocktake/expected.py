"""Expected quantity: how a count line knows what the books said.

Rule (documented in docs/stocktake.md):

* When an item × location line is first counted (first scan, first RFID read, or
  the session's close for lines nobody counted) the hub records, in the same
  write transaction, the on-hand of that pair (``snapshot_qty``) and the ledger
  position ``snapshot_seq`` = the highest movement ``seq`` at that moment.
  Writes are serialised (BEGIN IMMEDIATE), so the pair is exact: every movement
  with a higher seq happened after the snapshot.
* The line's variance is ``counted − snapshot_qty``. Sales, receipts and
  transfers after the snapshot (movements with seq > snapshot_seq) do not
  create a variance; they are shown as ``moved_since`` for information.
* Approval posts one ``count`` movement of ``variance`` per line, so the new
  on-hand is ``counted + moved_since``: what was on the shelf when counted, plus
  everything that happened since.
"""

from __future__ import annotations

import sqlite3

from hub.protocol.timeutil import now_iso
from hub.stocktake.scope import scope_of


def ledger_position(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM movements").fetchone()[0])


def ensure_line(conn: sqlite3.Connection, session_id: str, item_id: str, location_id: str) -> bool:
    """Create the line with its snapshot if it does not exist. Returns True when created."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO count_lines(session_id, item_id, location_id, snapshot_qty, snapshot_seq, snapshot_at)"
        " VALUES (?, ?, ?, COALESCE((SELECT on_hand FROM stock WHERE item_id = ? AND location_id = ?), 0),"
        " (SELECT COALESCE(MAX(seq), 0) FROM movements), ?)",
        (session_id, item_id, location_id, item_id, location_id, now_iso()),
    )
    return cur.rowcount > 0


def ensure_lines(conn: sqlite3.Connection, session_id: str, pairs: set[tuple[str, str]]) -> int:
    """Bulk form of :func:`ensure_line` (RFID flushes)."""
    if not pairs:
        return 0
    pos = ledger_position(conn)
    ts = now_iso()
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO count_lines(session_id, item_id, location_id, snapshot_qty, snapshot_seq, snapshot_at)"
        " VALUES (?, ?, ?, COALESCE((SELECT on_hand FROM stock WHERE item_id = ? AND location_id = ?), 0), ?, ?)",
        [(session_id, item, loc, item, loc, pos, ts) for item, loc in pairs],
    )
    return conn.total_changes - before


def snapshot_uncounted(conn: sqlite3.Connection, session_id: str) -> int:
    """Give every in-scope item × location with stock a line (snapshot now) if it has none."""
    scope = scope_of(conn, session_id)
    item_where, args = scope.item_sql()
    rows = conn.execute(
        f"SELECT s.item_id, s.location_id FROM stock s JOIN items i ON i.id = s.item_id"
        f" WHERE s.on_hand != 0 AND {item_where}"
        f" AND NOT EXISTS (SELECT 1 FROM count_lines c WHERE c.session_id = ? AND c.item_id = s.item_id"
        f" AND c.location_id = s.location_id)",
        args + [session_id],
    ).fetchall()
    pairs = {(r[0], r[1]) for r in rows if scope.has_location(r[1])}
    return ensure_lines(conn, session_id, pairs)


def moved_since(conn: sqlite3.Connection, session_id: str) -> dict[tuple[str, str], int]:
    """Net on-hand change of each line's pair after its snapshot (movements with seq > snapshot_seq)."""
    rows = conn.execute(
        "SELECT l.item_id, l.location_id, SUM(m.qty_delta) FROM count_lines l"
        " JOIN movements m ON m.item_id = l.item_id AND m.location_id = l.location_id AND m.seq > l.snapshot_seq"
        " WHERE l.session_id = ? GROUP BY l.item_id, l.location_id",
        (session_id,),
    ).fetchall()
    return {(r[0], r[1]): int(r[2]) for r in rows}


def guided_expected(conn: sqlite3.Connection, session_id: str, location_id: str) -> list[dict]:
    """What a guided counter sees for a bin: book quantity now (snapshot if the line has one) and counted so far
    — the items on the books there, and the ones counted there that the books did not expect."""
    scope = scope_of(conn, session_id)
    item_where, args = scope.item_sql()
    rows = conn.execute(
        f"SELECT i.id AS item_id, i.sku, i.name_en, i.name_zh, i.unit, COALESCE(s.on_hand, 0) AS on_hand,"
        f" l.snapshot_qty, COALESCE(l.scan_qty, 0) AS scan_qty FROM items i"
        f" LEFT JOIN stock s ON s.item_id = i.id AND s.location_id = ?"
        f" LEFT JOIN count_lines l ON l.session_id = ? AND l.item_id = i.id AND l.location_id = ?"
        f" WHERE i.id IN (SELECT item_id FROM stock WHERE location_id = ? AND on_hand != 0"
        f"  UNION SELECT item_id FROM count_lines WHERE session_id = ? AND location_id = ? AND scans > 0)"
        f" AND {item_where} ORDER BY i.sku",
        [location_id, session_id, location_id, location_id, session_id, location_id] + args,
    ).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["expected"] = d.pop("snapshot_qty") if d["snapshot_qty"] is not None else d["on_hand"]
        d.pop("on_hand")
        out.append(d)
    return out

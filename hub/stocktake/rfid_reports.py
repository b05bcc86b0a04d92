"""What RFID counts show: a count's per-EPC records, the sweep view (unique tags, per-item progress against the
book, serialised EPCs expected but unseen) and the comparison of two counts (moved, missing, new)."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.inventory import locations
from hub.protocol.timeutil import now_iso
from hub.stocktake import sessions
from hub.stocktake.scope import Scope


def tag_records(
    conn: sqlite3.Connection, session_id: str, *, kind: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[dict], int]:
    where, args = "session_id = ?", [session_id]
    if kind:
        where += " AND kind = ?"
        args.append(kind)
    total = conn.execute(f"SELECT COUNT(*) FROM count_rfid_tags WHERE {where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM count_rfid_tags WHERE {where} ORDER BY epc LIMIT ? OFFSET ?", args + [limit, offset]
    ).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["antennas"] = [i for i in range(63) if d["antennas"] >> i & 1]
        out.append(d)
    return out, total


def sweep_status(conn: sqlite3.Connection, session_id: str, *, location_id: str | None = None) -> dict[str, Any]:
    """The sweep view: unique tags, raw reads, per-item progress against the book, EPCs expected but unseen."""
    s = sessions.get(conn, session_id)
    floor, min_reads = s["rssi_floor_dbm"], s["min_reads"]
    loc_ids: list[str] | None = locations.subtree_ids(conn, location_id) if location_id else None
    loc_clause, loc_args = "", []
    if loc_ids is not None:
        loc_clause = f" AND zone_location_id IN ({','.join('?' * len(loc_ids))})"
        loc_args = loc_ids
    agg = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(reads), 0), COALESCE(SUM(kind = 'item' AND reads >= ? AND COALESCE(peak_rssi, 0) >= ?), 0)"
        f" FROM count_rfid_tags WHERE session_id = ?{loc_clause}",
        [min_reads, floor, session_id] + loc_args,
    ).fetchone()
    sweeps = [
        dict(r)
        for r in conn.execute(
            "SELECT w.id, w.reader, w.location_id, l.code AS location_code, w.started_at, w.ended_at, w.raw_reads"
            " FROM rfid_sweeps w JOIN locations l ON l.id = w.location_id WHERE w.session_id = ? ORDER BY w.started_at",
            (session_id,),
        )
    ]
    counted = {
        (r[0], r[1]): r[2]
        for r in conn.execute(
            "SELECT item_id, zone_location_id, COUNT(*) FROM count_rfid_tags WHERE session_id = ? AND kind = 'item'"
            f" AND reads >= ? AND COALESCE(peak_rssi, 0) >= ?{loc_clause} GROUP BY item_id, zone_location_id",
            [session_id, min_reads, floor] + loc_args,
        )
    }
    scope = Scope(conn, s["scope"])
    item_where, item_args = scope.item_sql()
    stock_clause = ""
    if loc_ids is not None:
        stock_clause = f" AND st.location_id IN ({','.join('?' * len(loc_ids))})"
    book = conn.execute(
        "SELECT st.item_id, st.location_id, i.sku, i.name_en, i.name_zh, l.code AS location_code,"
        " COALESCE(cl.snapshot_qty, st.on_hand) AS expected FROM stock st JOIN items i ON i.id = st.item_id"
        " JOIN locations l ON l.id = st.location_id LEFT JOIN count_lines cl ON cl.session_id = ? AND"
        " cl.item_id = st.item_id AND cl.location_id = st.location_id"
        f" WHERE st.on_hand > 0 AND i.unit = 'each' AND {item_where}{stock_clause}",
        [session_id] + item_args + (loc_ids or []),
    ).fetchall()
    items = []
    seen_pairs = set()
    for b in book:
        if not scope.has_location(b["location_id"]):
            continue
        k = (b["item_id"], b["location_id"])
        seen_pairs.add(k)
        items.append(
            {
                "item_id": b["item_id"],
                "sku": b["sku"],
                "name_en": b["name_en"],
                "name_zh": b["name_zh"],
                "location_id": b["location_id"],
                "location_code": b["location_code"],
                "expected": b["expected"],
                "read": counted.get(k, 0),
            }
        )
    if counted:
        extra = [k for k in counted if k not in seen_pairs]
        for item_id, loc in extra:
            r = conn.execute(
                "SELECT i.sku, i.name_en, i.name_zh, l.code FROM items i, locations l WHERE i.id = ? AND l.id = ?",
                (item_id, loc),
            ).fetchone()
            items.append(
                {
                    "item_id": item_id,
                    "sku": r[0],
                    "name_en": r[1],
                    "name_zh": r[2],
                    "location_id": loc,
                    "location_code": r[3],
                    "expected": 0,
                    "read": counted[(item_id, loc)],
                }
            )
    items.sort(key=lambda x: (x["read"] - x["expected"], x["sku"]))
    # serialised EPCs last seen here by an earlier count, not read in this one
    last_clause, last_args = "", []
    if loc_ids is not None:
        last_clause = f" AND e.location_id IN ({','.join('?' * len(loc_ids))})"
        last_args = loc_ids
    missing_rows = conn.execute(
        "SELECT e.epc, e.item_id, i.sku, e.location_id, l.code AS location_code, e.last_seen FROM rfid_epc_last_seen e"
        " LEFT JOIN items i ON i.id = e.item_id LEFT JOIN locations l ON l.id = e.location_id"
        f" WHERE e.session_id != ?{last_clause} AND NOT EXISTS (SELECT 1 FROM count_rfid_tags t WHERE t.session_id = ?"
        " AND t.epc = e.epc) ORDER BY l.code, i.sku LIMIT 500",
        [session_id] + last_args + [session_id],
    ).fetchall()
    missing = [dict(r) for r in missing_rows if r["location_id"] is None or scope.has_location(r["location_id"])]
    return {
        "session_id": session_id,
        "status": s["status"],
        "unique_tags": agg[0],
        "raw_reads": agg[1],
        "counted_tags": agg[2],
        "rssi_floor_dbm": floor,
        "min_reads": min_reads,
        "sweeps": sweeps,
        "items": items,
        "expected_missing": missing,
        "ts": now_iso(),
    }


def compare_sessions(conn: sqlite3.Connection, earlier: str, later: str) -> dict[str, Any]:
    """Serialised items between two counts: EPCs that moved zone, went missing, or are new."""
    for sid in (earlier, later):
        sessions.get(conn, sid)
    rows = conn.execute(
        "SELECT a.epc, a.item_id, a.zone_location_id AS was, b.zone_location_id AS now FROM count_rfid_tags a"
        " LEFT JOIN count_rfid_tags b ON b.session_id = ? AND b.epc = a.epc WHERE a.session_id = ? AND a.kind = 'item'",
        (later, earlier),
    ).fetchall()
    moved = [dict(r) for r in rows if r["now"] is not None and r["now"] != r["was"]]
    missing = [dict(r) for r in rows if r["now"] is None]
    new = [
        dict(r)
        for r in conn.execute(
            "SELECT b.epc, b.item_id, b.zone_location_id AS now FROM count_rfid_tags b WHERE b.session_id = ? AND b.kind = 'item'"
            " AND NOT EXISTS (SELECT 1 FROM count_rfid_tags a WHERE a.session_id = ? AND a.epc = b.epc)",
            (later, earlier),
        )
    ]
    return {"moved": moved, "missing": missing, "new": new}

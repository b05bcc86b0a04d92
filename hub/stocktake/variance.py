"""Variance review: per line and totals, in units and at cost, accuracy, largest losses first.

A line's counted quantity comes from, in order of precedence:

1. a finished recount (``recount``) — the recount replaces the first count;
2. barcode scans and RFID reads. When a line has both, the larger is taken and
   the line is flagged ``mixed``: a counter re-scanning tags a sweep already read
   must not double them, and a sweep that missed tags must not undercut a full
   hand count. Mixed lines are worth a recount;
3. nothing: the session's ``uncounted`` policy decides — ``zero`` counts it as 0
   (a full count: not found means gone), ``exclude`` leaves it out of the
   approval and lists it. A line with nothing counted and nothing on the books
   (say, created by a stray RFID read too weak to count) is left out entirely.

RFID quantity = distinct EPCs of that item whose strongest antenna maps to the
line's location, read at least ``min_reads`` times with a peak RSSI at or above
the session's floor. Cases, pallets, unknown GTINs and undecodable EPCs are
reported, never counted as units.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.stocktake import sessions
from hub.stocktake.expected import moved_since


def line_cost(item_unit: str, qty: int, cost_minor: int) -> int:
    """Cost of ``qty`` base units: pieces × cost, or grams × cost-per-kg / 1000 (rounded half away from zero)."""
    if item_unit == "kg":
        v = qty * cost_minor
        return (abs(v) + 500) // 1000 * (1 if v >= 0 else -1)
    return qty * cost_minor


def rfid_counts(conn: sqlite3.Connection, session: dict) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        "SELECT item_id, zone_location_id, COUNT(*) FROM count_rfid_tags WHERE session_id = ? AND kind = 'item'"
        " AND zone_location_id IS NOT NULL AND reads >= ? AND COALESCE(peak_rssi, 0) >= ? GROUP BY item_id, zone_location_id",
        (session["id"], session["min_reads"], session["rssi_floor_dbm"]),
    ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def rfid_summary(conn: sqlite3.Connection, session: dict) -> dict[str, Any]:
    r = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(reads), 0),"
        " COALESCE(SUM(kind = 'item' AND zone_location_id IS NOT NULL AND reads >= ? AND COALESCE(peak_rssi, 0) >= ?), 0),"
        " COALESCE(SUM(kind = 'item' AND (reads < ? OR COALESCE(peak_rssi, 0) < ?)), 0),"
        " COALESCE(SUM(kind IN ('case', 'pallet')), 0), COALESCE(SUM(kind = 'asset'), 0),"
        " COALESCE(SUM(kind = 'unknown_gtin'), 0), COALESCE(SUM(kind = 'undecodable'), 0),"
        " COALESCE(SUM(kind = 'out_of_scope'), 0)"
        " FROM count_rfid_tags WHERE session_id = ?",
        (
            session["min_reads"],
            session["rssi_floor_dbm"],
            session["min_reads"],
            session["rssi_floor_dbm"],
            session["id"],
        ),
    ).fetchone()
    return {
        "unique_tags": r[0],
        "raw_reads": r[1],
        "counted_tags": r[2],
        "filtered_weak_or_few": r[3],
        "cases_pallets": r[4],
        "assets": r[5],
        "unknown_gtin": r[6],
        "undecodable": r[7],
        "out_of_scope": r[8],
    }


def _pct(num: float, den: float) -> float | None:
    return round(100.0 * num / den, 2) if den else None


def report(conn: sqlite3.Connection, session_id: str) -> dict[str, Any]:
    """The variance report of a session (any state; approved sessions report their frozen figures)."""
    s = sessions.get(conn, session_id)
    rf = rfid_counts(conn, s)
    moved = moved_since(conn, session_id)
    rows = conn.execute(
        "SELECT l.*, i.sku, i.name_en, i.name_zh, i.unit, i.cost_minor, loc.code AS location_code, loc.walk_seq"
        " FROM count_lines l JOIN items i ON i.id = l.item_id JOIN locations loc ON loc.id = l.location_id"
        " WHERE l.session_id = ?",
        (session_id,),
    ).fetchall()
    frozen = s["status"] == "approved"
    lines: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    for r in rows:
        key = (r["item_id"], r["location_id"])
        rfid_qty = rf.get(key, 0)
        scan_qty, nscans = r["scan_qty"], r["scans"]
        if frozen and r["final_source"] is not None:
            source, counted = r["final_source"], r["final_counted"]
        elif r["recount_status"] == "done":
            source, counted = "recount", r["recount_qty"] or 0
        elif nscans > 0 and rfid_qty > 0:
            source, counted = "mixed", max(scan_qty, rfid_qty)
        elif nscans > 0:
            source, counted = "scan", scan_qty
        elif rfid_qty > 0:
            source, counted = "rfid", rfid_qty
        else:
            source, counted = "uncounted", None
        expected = r["final_expected"] if frozen and r["final_expected"] is not None else r["snapshot_qty"]
        line = {
            "item_id": r["item_id"],
            "sku": r["sku"],
            "name_en": r["name_en"],
            "name_zh": r["name_zh"],
            "unit": r["unit"],
            "location_id": r["location_id"],
            "location_code": r["location_code"],
            "expected": expected,
            "scan_qty": scan_qty,
            "rfid_qty": rfid_qty,
            "recount_qty": r["recount_qty"],
            "recount_status": r["recount_status"],
            "recount_assigned_to": r["recount_assigned_to"],
            "source": source,
            "moved_since": moved.get(key, 0),
            "snapshot_at": r["snapshot_at"],
            "cost_minor": r["cost_minor"],
        }
        if source == "uncounted":
            if expected == 0:
                continue  # nothing on the books and nothing counted (e.g. only a weak stray read)
            if s["uncounted"] == "exclude" and not frozen:
                line.update(counted=None, variance=None, variance_cost_minor=None)
                excluded.append(line)
                continue
            counted = 0
        if frozen and r["final_variance"] is None and r["final_source"] is None:
            # excluded at approval
            line.update(counted=None, variance=None, variance_cost_minor=None)
            excluded.append(line)
            continue
        variance = counted - expected
        line.update(
            counted=counted,
            variance=variance,
            variance_cost_minor=line_cost(r["unit"], variance, r["cost_minor"]),
            expected_cost_minor=line_cost(r["unit"], expected, r["cost_minor"]),
        )
        lines.append(line)

    lines.sort(key=lambda x: (x["variance_cost_minor"], x["variance"], x["sku"], x["location_code"]))
    excluded.sort(key=lambda x: (x["location_code"], x["sku"]))
    n = len(lines)
    exact = sum(1 for x in lines if x["variance"] == 0)
    each = [x for x in lines if x["unit"] == "each"]
    exp_units = sum(max(x["expected"], 0) for x in each)
    abs_units = sum(abs(x["variance"]) for x in each)
    shrink = sum(x["variance_cost_minor"] for x in lines if x["variance_cost_minor"] < 0)
    gain = sum(x["variance_cost_minor"] for x in lines if x["variance_cost_minor"] > 0)
    exp_cost = sum(max(x["expected_cost_minor"], 0) for x in lines)
    totals = {
        "lines": n,
        "lines_exact": exact,
        "lines_with_variance": n - exact,
        "lines_uncounted_zeroed": sum(1 for x in lines if x["source"] == "uncounted"),
        "lines_excluded": len(excluded),
        "lines_mixed": sum(1 for x in lines if x["source"] == "mixed"),
        "expected_units": exp_units,
        "counted_units": sum(max(x["counted"], 0) for x in each),
        "net_variance_units": sum(x["variance"] for x in each),
        "abs_variance_units": abs_units,
        "shrink_cost_minor": shrink,
        "gain_cost_minor": gain,
        "net_variance_cost_minor": shrink + gain,
        "expected_cost_minor": exp_cost,
        "line_accuracy_pct": _pct(exact, n),
        "unit_accuracy_pct": _pct(max(exp_units - abs_units, 0), exp_units) if exp_units else None,
        "value_accuracy_pct": _pct(max(exp_cost - (gain - shrink), 0), exp_cost) if exp_cost else None,
    }
    return {
        "session": {
            k: s[k]
            for k in (
                "id",
                "name",
                "kind",
                "mode",
                "status",
                "uncounted",
                "rssi_floor_dbm",
                "min_reads",
                "created_at",
                "closed_at",
                "approved_at",
                "approved_by",
            )
        },
        "totals": totals,
        "lines": lines,
        "excluded": excluded,
        "rfid": rfid_summary(conn, s),
    }


def blind_view(rep: dict[str, Any]) -> dict[str, Any]:
    """What a counter may see of a blind count: what they counted, never the book quantities."""
    hidden = ("expected", "variance", "variance_cost_minor", "expected_cost_minor", "moved_since", "cost_minor")
    return {
        "session": rep["session"],
        "lines": [{k: v for k, v in x.items() if k not in hidden} for x in rep["lines"]],
        "totals": {"lines": rep["totals"]["lines"]},
    }

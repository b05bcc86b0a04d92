"""What a person sees of a count, given who they are (``viewer``: user id, ``role``: their role).

* A blind count hides book quantities from counters: only a supervisor (or above) sees what the
  book expects in a bin or in an RFID sweep.
* An associate sees only their own scans; a supervisor sees every counter's, or one counter's.
* "My recounts" are the requested recounts assigned to the viewer (or to nobody) of lines the viewer
  did not count themself.
* The review reads every line of a count a page at a time (``review_lines``), with what approving it
  would do (``approval.stake``) — never the first few hundred lines and silence about the rest."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.auth import users
from hub.kernel.errors import Forbidden
from hub.stocktake import approval, expected, rfid_reports, scans, sessions, variance

LINE_FILTERS = ("all", "variance", "exact", "excluded")


def sees_book(session: dict[str, Any], role: str) -> bool:
    """Whether someone of ``role`` may see book quantities in ``session`` (never a counter in a blind count)."""
    return session["mode"] != "blind" or users.has_role(role, "supervisor")


def session_for(conn: sqlite3.Connection, session_id: str, *, viewer: str) -> dict[str, Any]:
    """One count session with its counters, and the viewer's own counter row (``me``) and totals."""
    s = sessions.get(conn, session_id)
    s["me"] = sessions.counter_of(conn, session_id, viewer)
    s["my_totals"] = scans.counter_totals(conn, session_id, viewer)
    return s


def scans_for(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    viewer: str,
    role: str,
    counter: str | None = None,
    limit: int = 50,
    after_seq: int = 0,
) -> list[dict[str, Any]]:
    """Recent scans of a count: a supervisor's pick of ``counter`` (or everyone's); anyone else's own only."""
    sessions.get(conn, session_id)
    if not users.has_role(role, "supervisor"):
        counter = viewer
    return scans.recent_scans(conn, session_id, counter=counter, limit=limit, after_seq=after_seq)


def expected_for(conn: sqlite3.Connection, session_id: str, location_id: str, *, role: str) -> list[dict[str, Any]]:
    """Book quantities of a bin; 403 ``blind_count`` for a counter in a blind count."""
    s = sessions.get(conn, session_id)
    if not sees_book(s, role):
        raise Forbidden("this is a blind count", code="blind_count")
    return expected.guided_expected(conn, session_id, location_id)


def sweep_for(
    conn: sqlite3.Connection, session_id: str, *, role: str, location_id: str | None = None
) -> dict[str, Any]:
    """The RFID sweep view; in a blind count a counter sees no expected quantities and no missing EPCs."""
    out = rfid_reports.sweep_status(conn, session_id, location_id=location_id)
    s = sessions.get(conn, session_id)
    if not sees_book(s, role):
        for it in out["items"]:
            it["expected"] = None
        out["expected_missing"] = []
    return out


def recounts_for(conn: sqlite3.Connection, *, viewer: str) -> list[dict[str, Any]]:
    """Recounts waiting for the viewer in counts under review, in walk order: assigned to them or to nobody,
    and never a line they counted themself (a recount is by another counter)."""
    rows = conn.execute(
        "SELECT l.session_id, s.name AS session_name, l.item_id, i.sku, i.name_en, i.name_zh, i.unit, l.location_id,"
        " loc.code AS location_code, l.recount_qty, l.recount_assigned_to FROM count_lines l"
        " JOIN count_sessions s ON s.id = l.session_id JOIN items i ON i.id = l.item_id"
        " JOIN locations loc ON loc.id = l.location_id WHERE s.status = 'review' AND l.recount_status = 'requested'"
        " AND (l.recount_assigned_to IS NULL OR l.recount_assigned_to = ?)"
        " AND NOT EXISTS (SELECT 1 FROM count_scans c WHERE c.session_id = l.session_id AND c.item_id = l.item_id"
        "  AND c.location_id = l.location_id AND c.counter = ? AND c.source != 'recount')"
        " ORDER BY loc.walk_seq, loc.code, i.sku",
        (viewer, viewer),
    ).fetchall()
    return [dict(r) for r in rows]


def variance_for(conn: sqlite3.Connection, session_id: str, *, limit: int, offset: int) -> dict[str, Any]:
    """The variance report with one page of its lines (``lines_total`` says how many there are, ``excluded``
    likewise with ``excluded_total``) and what approving it would do (``stake``)."""
    rep = variance.report(conn, session_id)
    lines, excluded = rep["lines"], rep["excluded"]
    rep["lines"] = lines[offset : offset + limit]
    rep["lines_total"] = len(lines)
    rep["excluded"] = excluded[offset : offset + limit]
    rep["excluded_total"] = len(excluded)
    rep["stake"] = approval.stake(conn, rep["totals"])
    return rep


def review_lines(
    conn: sqlite3.Connection, session_id: str, *, which: str = "all", limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a count's lines, largest loss first: ``all`` lines that go to approval, those with a
    ``variance``, the ``exact`` ones, or the ``excluded`` ones (nothing counted, left out of approval).
    Returns (items, total)."""
    rep = variance.report(conn, session_id)
    pick = {
        "all": rep["lines"],
        "variance": [x for x in rep["lines"] if x["variance"]],
        "exact": [x for x in rep["lines"] if x["variance"] == 0],
        "excluded": rep["excluded"],
    }[which]
    return pick[offset : offset + limit], len(pick)

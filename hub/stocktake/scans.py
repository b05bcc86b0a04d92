"""Counting by scan: +1 per scan (or scan + quantity), weights from variable-measure
labels, location labels switch the counter's current bin, undo of the last scan.

Every scan and undo is idempotent by the client's key: a handheld replaying its
offline queue never counts twice. Each accepted scan is an outbox fact
(``count.scan``), which is what the supervisor's live view follows over SSE.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.auth import users
from hub.identify import barcode
from hub.identify import resolve as resolver
from hub.inventory import catalog, locations
from hub.kernel import outbox, settings
from hub.kernel.errors import Conflict, Forbidden, Unprocessable, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.stocktake import sessions
from hub.stocktake.expected import ensure_line, guided_expected

MAX_QTY_EACH = 100_000
MAX_QTY_GRAMS = 10_000_000


def read_code(conn: sqlite3.Connection, code: str) -> resolver.Resolution:
    """What a scanned code means for counting: a location, or an item with the quantity it stands for.

    Codes are resolved by :func:`hub.identify.resolve.resolve` (the store's barcode rules: GTINs, GS1 element
    strings, variable-measure labels, ``SHL-`` labels), accepting an exact SKU and an item EPC in hex (an RFID
    sled in wedge mode) too. Unreadable codes are 422 with the reader's code; order codes and badges are not
    counted (422 ``not_countable``); unknown codes stay 404 and an ambiguous PLU 409."""
    text = (code or "").strip()
    if not text:
        raise ValidationError("empty code", code="empty_code")
    try:
        res = resolver.resolve(
            conn, text, settings=settings.get_all(conn), with_stock=False, accept_sku=True, accept_epc=True
        )
    except barcode.BarcodeError as exc:
        raise Unprocessable(
            f"cannot read {text[:40]!r}: {exc.message}", code=exc.code, details={"code": text[:80]}
        ) from exc
    if res.kind != "location" and not res.names_item:
        raise Unprocessable(f"a {res.kind} label is not counted", code="not_countable", details={"code": text})
    return res


def join_counter(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    user_id: str,
    by: str,
    role: str,
    zone_location_id: str | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """``user_id`` joins the count as a counter (optionally in a zone). ``by`` (of ``role``) joins themself;
    only a supervisor assigns someone else (403 ``wrong_role``)."""
    if user_id != by and not users.has_role(role, "supervisor"):
        raise Forbidden("only a supervisor assigns other counters", code="wrong_role")
    return sessions.join(conn, session_id, user_id=user_id, zone_location_id=zone_location_id, actor=by, device=device)


def _scan_row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row else None


def _line_state(conn: sqlite3.Connection, session_id: str, item_id: str, location_id: str) -> dict[str, Any]:
    r = conn.execute(
        "SELECT scan_qty, scans, snapshot_qty FROM count_lines WHERE session_id=? AND item_id=? AND location_id=?",
        (session_id, item_id, location_id),
    ).fetchone()
    return {"line_qty": r[0] if r else 0, "line_scans": r[1] if r else 0, "snapshot_qty": r[2] if r else None}


def counter_totals(conn: sqlite3.Connection, session_id: str, counter: str) -> dict[str, int]:
    r = conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT item_id) FROM count_scans WHERE session_id=? AND counter=?"
        " AND undone_at IS NULL",
        (session_id, counter),
    ).fetchone()
    return {"scans": r[0], "items": r[1]}


def _feedback(conn, session, counter, scan: dict, *, duplicate: bool, warnings: list[str]) -> dict[str, Any]:
    item = catalog.get_item(conn, scan["item_id"])
    line = _line_state(conn, session["id"], scan["item_id"], scan["location_id"])
    out = {
        "duplicate": duplicate,
        "kind": "item",
        "scan": scan,
        "item": {k: item[k] for k in ("id", "sku", "name_en", "name_zh", "unit")},
        "line_qty": line["line_qty"],
        "warnings": warnings,
        "totals": counter_totals(conn, session["id"], counter),
    }
    if session["mode"] == "guided":
        out["expected"] = line["snapshot_qty"]
    return out


def _zone_warning(conn, counter_row: dict | None, location_id: str) -> list[str]:
    if counter_row and counter_row.get("zone_location_id"):
        if location_id not in set(locations.subtree_ids(conn, counter_row["zone_location_id"])):
            return ["wrong_zone"]
    return []


def record_scan(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    counter: str,
    client_key: str,
    code: str | None = None,
    item_id: str | None = None,
    qty: int | None = None,
    location_id: str | None = None,
    device: str | None = None,
    source: str = "scan",
) -> dict[str, Any]:
    """Count one scan. A location label switches the counter's bin; an item adds ``qty`` (default 1, or the
    label's weight in grams for variable-measure items). Idempotent by ``client_key``."""
    if not client_key or len(client_key) > 200:
        raise ValidationError("idempotency_key is required", code="invalid_idempotency_key")
    s = sessions.get(conn, session_id)
    prior = conn.execute(
        "SELECT * FROM count_scans WHERE session_id = ? AND client_key = ?", (session_id, client_key)
    ).fetchone()
    if prior is not None:
        if prior["counter"] != counter:
            raise Conflict("idempotency key used by another counter", code="idempotency_conflict")
        return _feedback(conn, s, counter, dict(prior), duplicate=True, warnings=[])
    moved = conn.execute(
        "SELECT * FROM count_moves WHERE session_id = ? AND client_key = ?", (session_id, client_key)
    ).fetchone()
    if moved is not None:
        loc = locations.get(conn, moved["location_id"])
        return {
            "duplicate": True,
            "kind": "location",
            "location": loc,
            "warnings": [],
            "totals": counter_totals(conn, session_id, counter),
        }

    recount = source == "recount"
    sessions.require_status(s, "review" if recount else "open")
    counter_row = sessions.counter_of(conn, session_id, counter)
    if counter_row is None:
        sessions.join(conn, session_id, user_id=counter, actor=counter, device=device)
        counter_row = sessions.counter_of(conn, session_id, counter)
    scope = sessions.Scope(conn, s["scope"])

    grams = None
    pieces = 1
    if code is not None:
        res = read_code(conn, code)
        if res.kind == "location":
            loc = res.location
            if not scope.has_location(loc["id"]):
                raise Unprocessable(
                    f"{loc['code']} is outside this count",
                    code="location_out_of_scope",
                    details={"location": loc["code"]},
                )
            ts = now_iso()
            conn.execute(
                "INSERT INTO count_moves(session_id, client_key, counter, location_id, ts) VALUES (?,?,?,?,?)",
                (session_id, client_key, counter, loc["id"], ts),
            )
            conn.execute(
                "UPDATE count_counters SET current_location_id = ? WHERE session_id = ? AND user_id = ?",
                (loc["id"], session_id, counter),
            )
            warnings = _zone_warning(conn, counter_row, loc["id"])
            outbox.record(
                conn,
                "count.location",
                {
                    "session_id": session_id,
                    "counter": counter,
                    "location_id": loc["id"],
                    "warnings": warnings,
                    "ts": ts,
                },
            )
            out = {
                "duplicate": False,
                "kind": "location",
                "location": loc,
                "warnings": warnings,
                "totals": counter_totals(conn, session_id, counter),
            }
            if s["mode"] == "guided":
                out["expected_here"] = guided_expected(conn, session_id, loc["id"])
            return out
        item = res.item
        if item["unit"] == "kg":
            grams = res.qty  # the label's weight; None: still to be weighed
        else:
            pieces = res.qty or 1  # a label with a count (AI 30) stands for that many
    elif item_id is not None:
        item = catalog.get_item(conn, item_id)
    else:
        raise ValidationError("send a code or an item_id", code="invalid_scan")

    if not scope.has_item(item):
        raise Unprocessable(
            f"{item['sku']} is not part of this count",
            code="item_out_of_scope",
            details={"item_id": item["id"], "sku": item["sku"]},
        )
    loc_id = location_id or counter_row.get("current_location_id")
    if not loc_id:
        raise Unprocessable("scan a location label first", code="scan_location_first")
    if location_id:
        locations.get(conn, location_id)
    if not scope.has_location(loc_id):
        raise Unprocessable("that location is outside this count", code="location_out_of_scope")

    # quantity in the item's base unit: pieces, or grams for kg items
    if item["unit"] == "kg":
        if grams:  # a label of 0 g (or 0.00 price) says nothing was weighed
            amount = grams * (qty or 1)
        elif qty is not None:
            amount = qty
        else:
            raise Unprocessable(
                f"{item['sku']} is sold by weight: scan its weight label or enter grams", code="weight_required"
            )
        limit = MAX_QTY_GRAMS
    else:
        amount = pieces * (1 if qty is None else qty)  # a label with a count (AI 30) stands for that many
        limit = MAX_QTY_EACH
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0 or abs(amount) > limit:
        raise ValidationError(f"quantity must be a non-zero whole number up to {limit}", code="invalid_qty")
    if amount < 0 and not recount:
        raise ValidationError("use undo to take back a scan", code="invalid_qty")

    warnings = _zone_warning(conn, counter_row, loc_id)
    if recount:
        line = conn.execute(
            "SELECT * FROM count_lines WHERE session_id=? AND item_id=? AND location_id=?",
            (session_id, item["id"], loc_id),
        ).fetchone()
        if line is None or line["recount_status"] != "requested":
            raise Unprocessable("this line has no open recount request", code="no_recount_requested")
        if line["recount_assigned_to"] and line["recount_assigned_to"] != counter:
            raise Unprocessable("this recount is assigned to someone else", code="recount_assigned_elsewhere")
    else:
        ensure_line(conn, session_id, item["id"], loc_id)

    sid = new_id()
    ts = now_iso()
    cur = conn.execute(
        "INSERT INTO count_scans(id, session_id, client_key, counter, device, item_id, location_id, qty, code, source, ts)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            sid,
            session_id,
            client_key,
            counter,
            device,
            item["id"],
            loc_id,
            amount,
            (code or "")[:200] or None,
            source,
            ts,
        ),
    )
    if recount:
        conn.execute(
            "UPDATE count_lines SET recount_qty = COALESCE(recount_qty, 0) + ? WHERE session_id=? AND item_id=?"
            " AND location_id=?",
            (amount, session_id, item["id"], loc_id),
        )
    else:
        conn.execute(
            "UPDATE count_lines SET scan_qty = scan_qty + ?, scans = scans + 1 WHERE session_id=? AND item_id=?"
            " AND location_id=?",
            (amount, session_id, item["id"], loc_id),
        )
    scan = dict(conn.execute("SELECT * FROM count_scans WHERE seq = ?", (cur.lastrowid,)).fetchone())
    out = _feedback(conn, s, counter, scan, duplicate=False, warnings=warnings)
    outbox.record(
        conn,
        "count.scan",
        {
            "session_id": session_id,
            "counter": counter,
            "device": device,
            "scan_id": sid,
            "item_id": item["id"],
            "sku": item["sku"],
            "location_id": loc_id,
            "qty": amount,
            "source": source,
            "line_qty": out["line_qty"],
            "totals": out["totals"],
            "ts": ts,
        },
    )
    return out


def undo_last(
    conn: sqlite3.Connection, session_id: str, *, counter: str, client_key: str, device: str | None = None
) -> dict[str, Any]:
    """Take back this counter's latest live scan. Idempotent by ``client_key``."""
    if not client_key:
        raise ValidationError("idempotency_key is required", code="invalid_idempotency_key")
    s = sessions.get(conn, session_id)
    done = conn.execute("SELECT * FROM count_scans WHERE undo_key = ?", (client_key,)).fetchone()
    if done is not None:
        return {"duplicate": True, "undone": dict(done), "totals": counter_totals(conn, session_id, counter)}
    sessions.require_status(s, "open", "review")
    row = conn.execute(
        "SELECT * FROM count_scans WHERE session_id = ? AND counter = ? AND undone_at IS NULL"
        " ORDER BY seq DESC LIMIT 1",
        (session_id, counter),
    ).fetchone()
    if row is None:
        raise Conflict("nothing to undo", code="nothing_to_undo")
    if (row["source"] == "recount") != (s["status"] == "review"):
        raise Conflict("the last scan belongs to another phase of this count", code="nothing_to_undo")
    ts = now_iso()
    conn.execute("UPDATE count_scans SET undone_at = ?, undo_key = ? WHERE seq = ?", (ts, client_key, row["seq"]))
    if row["source"] == "recount":
        conn.execute(
            "UPDATE count_lines SET recount_qty = recount_qty - ? WHERE session_id=? AND item_id=? AND location_id=?",
            (row["qty"], session_id, row["item_id"], row["location_id"]),
        )
    else:
        conn.execute(
            "UPDATE count_lines SET scan_qty = scan_qty - ?, scans = scans - 1 WHERE session_id=? AND item_id=?"
            " AND location_id=?",
            (row["qty"], session_id, row["item_id"], row["location_id"]),
        )
    undone = dict(conn.execute("SELECT * FROM count_scans WHERE seq = ?", (row["seq"],)).fetchone())
    totals = counter_totals(conn, session_id, counter)
    line = _line_state(conn, session_id, row["item_id"], row["location_id"])
    outbox.record(
        conn,
        "count.undo",
        {
            "session_id": session_id,
            "counter": counter,
            "scan_id": row["id"],
            "item_id": row["item_id"],
            "location_id": row["location_id"],
            "qty": row["qty"],
            "line_qty": line["line_qty"],
            "totals": totals,
            "ts": ts,
        },
    )
    return {"duplicate": False, "undone": undone, "line_qty": line["line_qty"], "totals": totals}


def recent_scans(
    conn: sqlite3.Connection, session_id: str, *, counter: str | None = None, limit: int = 50, after_seq: int = 0
) -> list[dict[str, Any]]:
    args: list[Any] = [session_id, after_seq]
    where = ""
    if counter:
        where = " AND s.counter = ?"
        args.append(counter)
    rows = conn.execute(
        "SELECT s.seq, s.id, s.counter, u.display_name AS counter_name, s.item_id, i.sku, i.name_en, i.name_zh, i.unit,"
        " s.location_id, l.code AS location_code, s.qty, s.source, s.ts, s.undone_at FROM count_scans s"
        " JOIN items i ON i.id = s.item_id JOIN locations l ON l.id = s.location_id LEFT JOIN users u ON u.id = s.counter"
        f" WHERE s.session_id = ? AND s.seq > ?{where} ORDER BY s.seq DESC LIMIT ?",
        args + [limit],
    ).fetchall()
    return users.decrypt_rows(conn, rows, id_key="counter", name_key="counter_name")


def progress(conn: sqlite3.Connection, session_id: str) -> dict[str, Any]:
    """Per-counter live totals for the supervisor, and the locations counters have signed off."""
    rows = conn.execute(
        "SELECT c.user_id, u.display_name, c.zone_location_id, z.code AS zone_code, l.code AS current_location_code,"
        " (SELECT COUNT(*) FROM count_scans s WHERE s.session_id = c.session_id AND s.counter = c.user_id"
        "  AND s.undone_at IS NULL) AS scans,"
        " (SELECT MAX(ts) FROM count_scans s WHERE s.session_id = c.session_id AND s.counter = c.user_id) AS last_scan_at"
        " FROM count_counters c LEFT JOIN users u ON u.id = c.user_id LEFT JOIN locations z ON z.id = c.zone_location_id"
        " LEFT JOIN locations l ON l.id = c.current_location_id WHERE c.session_id = ? ORDER BY c.joined_at",
        (session_id,),
    ).fetchall()
    lines = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(scans > 0), 0) FROM count_lines WHERE session_id = ?", (session_id,)
    ).fetchone()
    return {
        "counters": users.decrypt_rows(conn, rows, id_key="user_id"),
        "lines": lines[0],
        "lines_scanned": lines[1],
        "zones_done": sessions.zones_done(conn, session_id),
    }

"""Receiving a purchase order on the handheld: open a receipt, scan cartons and items, confirm.

A scan is read by the one parser and resolver (:mod:`hub.identify`): a case GTIN the supplier declared
(:mod:`hub.purchasing.suppliers`) stands for its case pack, AI 37 for a count of cases or units, AI 10 is the
lot, AI 17 the expiry, AI 310x a kg item's weight, AI 00 a pallet or carton SSCC. Each scan carries the
handheld's idempotency key, so a scan replayed from the offline queue is counted once. What cannot be received
gets a clear refusal and nothing is stored: a lot-controlled item without a lot (``lot_required``), an expiry in
the past (``expired_on_receipt``), more than the order plus the tolerance (``over_tolerance``), an SSCC already
received (``sscc_already_received``). A GTIN nobody knows goes on the unknown-codes list
(:func:`hub.identify.resolve.report_unknown`) and is kept as a refused scan, so its replay reports it once.

Confirming posts one ``receive`` movement per item × lot in one transaction (lot and expiry through
:mod:`hub.purchasing.lots`), updates the moving-average cost, adds to the order lines and records the
discrepancies (over, under, wrong item) with their reasons; items not on the order are not taken into stock.
Blind receiving hides what the order expects from the screen until the receipt is confirmed."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from hub.identify import barcode
from hub.identify import resolve as scan_resolver
from hub.inventory import ledger, locations
from hub.inventory.ledger import MovementRequest
from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict, Forbidden, NotFound, StoreHubError, Unprocessable, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.purchasing import costing, days, lots, orders, rules, suppliers

RECEIVE_ROLE = "associate"


def _receipt(conn: sqlite3.Connection, receipt_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM po_receipts WHERE id = ?", (receipt_id,)).fetchone()
    if row is None:
        raise NotFound(f"no receipt {receipt_id}", code="receipt_not_found")
    d = dict(row)
    d["blind"] = bool(d["blind"])
    return d


def open_receipt(
    conn: sqlite3.Connection,
    *,
    po_id: str | None = None,
    po_number: str | None = None,
    blind: bool | None = None,
    location_id: str | None = None,
    actor: str,
    device: str | None = None,
    idempotency_key: str,
) -> tuple[dict[str, Any], bool]:
    """Start receiving an order (or join the receiving already open for it, so two handhelds can unload one
    delivery). Returns (receipt view, created)."""
    dup = conn.execute("SELECT id FROM po_receipts WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
    if dup is not None:
        return view(conn, dup[0]), False
    po = orders.get(conn, po_id) if po_id else orders.find_by_number(conn, po_number or "")
    if po["status"] not in orders.OPEN_FOR_RECEIVING:
        raise Conflict(
            f"{po['number']} is {po['status']}; only an approved, sent or partly received order can be received",
            code="po_not_receivable",
            details={"status": po["status"]},
        )
    existing = conn.execute("SELECT id FROM po_receipts WHERE po_id = ? AND status = 'open'", (po["id"],)).fetchone()
    if existing is not None:
        return view(conn, existing[0]), False
    if location_id is None:
        code = settings.get(conn, "purchasing.receiving_location")
        loc = locations.get_by_code(conn, code) if code else None
        if loc is None:
            loc = locations.get_by_code(conn, "STORE")
        if loc is None:
            raise Unprocessable("no receiving location: set purchasing.receiving_location", code="location_not_found")
        location_id = loc["id"]
    else:
        locations.get(conn, location_id)
    if blind is None:
        blind = bool(settings.get(conn, "purchasing.blind_receiving"))
    rid, ts = new_id(), now_iso()
    conn.execute(
        "INSERT INTO po_receipts(id, po_id, status, blind, location_id, idempotency_key, opened_by, opened_at,"
        " device) VALUES (?,?,?,?,?,?,?,?,?)",
        (rid, po["id"], "open", int(blind), location_id, idempotency_key, actor, ts, device),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="po.receipt_open",
        target=rid,
        details={"po_id": po["id"], "number": po["number"], "blind": blind},
    )
    return view(conn, rid), True


def _still_open(r: dict[str, Any]) -> None:
    if r["status"] != "open":
        raise Conflict(f"this receipt is {r['status']}", code="receipt_not_open", details={"status": r["status"]})


def _scan_row(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    d["on_po"] = bool(d["on_po"])
    return d


def scan(
    conn: sqlite3.Connection,
    receipt_id: str,
    *,
    code: str,
    actor: str,
    idempotency_key: str,
    options: barcode.ParseOptions,
    count: int = 1,
    lot: str | None = None,
    expiry: str | None = None,
    device: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Record one scan of a carton or item (``count``: how many of what the code names, typed before the scan).

    Returns only what the scan changed (:func:`_changed`: ``scan``, the scanned item's ``line`` or
    ``not_on_order`` entry, the receipt's ``totals`` and ``status``) with ``duplicate`` and ``refused``, not the
    whole receipt (:func:`view`, which the handheld fetches once when it opens the screen); ``refused`` is set
    only for a code nobody knows (reported to the unknown-codes list — the caller answers it as an error)."""
    dup = conn.execute("SELECT * FROM receipt_scans WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
    if dup is not None:
        if dup["receipt_id"] != receipt_id:
            raise Conflict("idempotency key already used for another receipt", code="idempotency_conflict")
        s = _scan_row(dup)
        return {**_changed(conn, _receipt(conn, receipt_id), s), "duplicate": True, "refused": _refusal(s)}
    r = _receipt(conn, receipt_id)
    _still_open(r)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100_000:
        raise ValidationError("count is a whole number 1-100000", code="invalid_qty")
    today = today or days.today(conn)
    parsed = barcode.parse(code, options)
    row: dict[str, Any] = {
        "id": new_id(),
        "receipt_id": receipt_id,
        "idempotency_key": idempotency_key,
        "code": code,
        "outcome": "accepted",
        "item_id": None,
        "qty": 0,
        "cases": 0,
        "lot": None,
        "expiry": None,
        "sscc": None,
        "on_po": 1,
        "actor": actor,
        "device": device,
        "ts": now_iso(),
    }
    if parsed.sscc and not parsed.gtin:
        taken = conn.execute(
            "SELECT r.po_id FROM receipt_scans s JOIN po_receipts r ON r.id = s.receipt_id "
            "WHERE s.sscc = ? AND s.outcome = 'accepted' AND r.status != 'cancelled'",
            (parsed.sscc,),
        ).fetchone()
        if taken is not None:
            raise Conflict(
                f"SSCC {parsed.sscc} was already received",
                code="sscc_already_received",
                details={"sscc": parsed.sscc, "po_id": taken[0]},
            )
        row["sscc"] = parsed.sscc
        _insert_scan(conn, row)
        return {**_changed(conn, r, _scan_row_of(row)), "duplicate": False, "refused": None}
    if not parsed.gtin:
        raise Unprocessable(
            "this code names no trade item or carton (scan the carton's GS1 label or the item)",
            code="not_a_carton",
            details={"kind": parsed.kind},
        )
    case = suppliers.by_case_gtin(conn, parsed.gtin)
    if case is not None:
        item = conn.execute("SELECT id, sku, unit FROM items WHERE id = ?", (case["item_id"],)).fetchone()
        per = parsed.count or 1
        row.update(item_id=item["id"], cases=per * count, qty=per * count * case["case_units"])
    else:
        try:
            res = scan_resolver.resolve(conn, code, settings=options, with_stock=False)
        except NotFound as exc:
            if exc.code != "unknown_code":
                raise
            scan_resolver.report_unknown(
                conn, code=code, note=f"receiving {r['po_id']}", actor=actor, device=device, settings=options
            )
            row["outcome"] = "unknown_code"
            _insert_scan(conn, row)
            s = _scan_row_of(row)
            return {**_changed(conn, r, s), "duplicate": False, "refused": _refusal(s)}
        if res.item is None or res.qty is None:
            raise Unprocessable(
                "this label does not say how much it holds; weigh it or type the quantity", code="qty_unknown"
            )
        row.update(item_id=res.item["id"], qty=res.qty * count)
        item = res.item
    row["lot"] = parsed.lot or (lot.strip() if lot and lot.strip() else None)
    row["expiry"] = parsed.expiry or parsed.best_before or expiry
    if lots.is_lot_controlled(conn, row["item_id"]) and not row["lot"]:
        raise Unprocessable(
            f"{item['sku']} is lot-controlled: scan the carton's GS1 label with its lot (AI 10) or type the lot",
            code="lot_required",
            details={"item_id": row["item_id"]},
        )
    if row["expiry"]:
        try:
            date.fromisoformat(row["expiry"])
        except ValueError:
            raise ValidationError("expiry is a date YYYY-MM-DD", code="invalid_date") from None
        rules.check_expiry(row["expiry"], today)
    line = conn.execute(
        "SELECT qty, received FROM po_lines WHERE po_id = ? AND item_id = ?", (r["po_id"], row["item_id"])
    ).fetchone()
    if line is None:
        row["on_po"] = 0
    else:
        so_far = conn.execute(
            "SELECT COALESCE(SUM(qty), 0) FROM receipt_scans WHERE receipt_id = ? AND item_id = ?"
            " AND outcome = 'accepted'",
            (receipt_id, row["item_id"]),
        ).fetchone()[0]
        tol = settings.get(conn, "purchasing.over_receipt_tolerance_pct")
        total = line["received"] + so_far + row["qty"]
        if rules.over_tolerance(line["qty"], total, tol):
            raise Conflict(
                f"{item['sku']}: {total} would be more than the {line['qty']} ordered plus {tol}%",
                code="over_tolerance",
                details={"item_id": row["item_id"], "ordered": line["qty"], "would_be": total, "tolerance_pct": tol},
            )
    _insert_scan(conn, row)
    return {**_changed(conn, r, _scan_row_of(row)), "duplicate": False, "refused": None}


def _changed(conn: sqlite3.Connection, r: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    """What one scan changed on the handheld's screen, without rebuilding the receipt: the scanned item's line
    (the same fields :func:`view` gives it, hidden the same way on a blind receipt) — ``line`` for an order line,
    ``not_on_order`` for an item the order does not have — and the receipt's totals (accepted scans, units
    scanned, pallets). The handheld merges it into the receipt it fetched when it opened the screen."""
    out: dict[str, Any] = {"scan": s, "receipt_id": r["id"], "status": r["status"], "line": None, "not_on_order": None}
    item_id = s.get("item_id")
    if item_id:
        now = conn.execute(
            "SELECT COALESCE(SUM(qty), 0) FROM receipt_scans WHERE receipt_id = ? AND item_id = ? AND outcome = 'accepted'",
            (r["id"], item_id),
        ).fetchone()[0]
        ln = conn.execute(
            "SELECT l.item_id, i.sku, i.name_en, i.name_zh, i.unit, l.qty, l.case_units, l.received FROM po_lines l"
            " JOIN items i ON i.id = l.item_id WHERE l.po_id = ? AND l.item_id = ?",
            (r["po_id"], item_id),
        ).fetchone()
        if ln is not None:
            out["line"] = _line(conn, r, ln, now)
        elif now:
            it = conn.execute("SELECT sku, name_en, name_zh, unit FROM items WHERE id = ?", (item_id,)).fetchone()
            out["not_on_order"] = {"item_id": item_id, **dict(it), "scanned": now, "discrepancy": "wrong_item"}
    tot = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(qty), 0), COUNT(sscc) FROM receipt_scans WHERE receipt_id = ?"
        " AND outcome = 'accepted'",
        (r["id"],),
    ).fetchone()
    out["totals"] = {"scans": tot[0], "units": tot[1], "ssccs": tot[2]}
    return out


def _line(conn: sqlite3.Connection, r: dict[str, Any], ln: Any, now: int, *, reveal: bool = False) -> dict[str, Any]:
    """One order line of the receipt as the handheld shows it (see :func:`view`)."""
    hide = r["blind"] and r["status"] == "open" and not reveal
    before = (
        ln["received"] if r["status"] != "confirmed" else ln["received"] - _confirmed_qty(conn, r["id"], ln["item_id"])
    )
    expected = max(ln["qty"] - before, 0)
    return {
        "item_id": ln["item_id"],
        "sku": ln["sku"],
        "name_en": ln["name_en"],
        "name_zh": ln["name_zh"],
        "unit": ln["unit"],
        "case_units": ln["case_units"],
        "scanned": now,
        "ordered": None if hide else ln["qty"],
        "received_before": None if hide else before,
        "still_expected": None if hide else max(expected - now, 0),
        "discrepancy": None if hide else rules.discrepancy_kind(expected, now, on_po=True),
    }


def _insert_scan(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO receipt_scans(id, receipt_id, idempotency_key, code, outcome, item_id, qty, cases, lot,"
        " expiry, sscc, on_po, actor, device, ts) VALUES (:id, :receipt_id, :idempotency_key, :code,"
        " :outcome, :item_id, :qty, :cases, :lot, :expiry, :sscc, :on_po, :actor, :device, :ts)",
        row,
    )


def _scan_row_of(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "on_po": bool(row["on_po"])}


def _refusal(s: dict[str, Any]) -> dict[str, Any] | None:
    if s["outcome"] != "unknown_code":
        return None
    return {
        "code": "unknown_code",
        "message": "this carton's code is not in the catalog or the supplier's case "
        "packs; it was added to the unknown-codes list — a supervisor maps it, then scan it again",
        "details": {"code": s["code"]},
    }


def void_scan(
    conn: sqlite3.Connection, receipt_id: str, scan_id: str, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Take back one scan (scanned twice by mistake) while the receipt is open."""
    r = _receipt(conn, receipt_id)
    _still_open(r)
    row = conn.execute(
        "SELECT outcome FROM receipt_scans WHERE id = ? AND receipt_id = ?", (scan_id, receipt_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"no scan {scan_id} in this receipt", code="scan_not_found")
    if row[0] == "accepted":
        conn.execute("UPDATE receipt_scans SET outcome = 'voided' WHERE id = ?", (scan_id,))
        audit.log(
            conn,
            actor=actor,
            device=device,
            action="po.receipt_void_scan",
            target=receipt_id,
            details={"scan_id": scan_id},
        )
    return view(conn, receipt_id)


def _totals(conn: sqlite3.Connection, receipt_id: str) -> dict[str, int]:
    return {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT item_id, SUM(qty) FROM receipt_scans WHERE receipt_id = ? AND outcome = 'accepted' AND item_id IS NOT "
            "NULL GROUP BY item_id",
            (receipt_id,),
        )
    }


def view(conn: sqlite3.Connection, receipt_id: str, *, reveal: bool = False) -> dict[str, Any]:
    """The receipt as the handheld shows it: per order line what was ordered, received before, scanned now and
    is still expected (left out — None — on a blind receipt until it is confirmed, unless ``reveal``), items
    scanned that are not on the order, pallet SSCCs and the last scans."""
    r = _receipt(conn, receipt_id)
    po = orders.get(conn, r["po_id"])
    scanned = _totals(conn, receipt_id)
    lines = [_line(conn, r, ln, scanned.pop(ln["item_id"], 0), reveal=reveal) for ln in po["lines"]]
    extra = []
    for item_id, qty in scanned.items():
        it = conn.execute("SELECT sku, name_en, name_zh, unit FROM items WHERE id = ?", (item_id,)).fetchone()
        extra.append({"item_id": item_id, **dict(it), "scanned": qty, "discrepancy": "wrong_item"})
    recent = [
        _scan_row(x)
        for x in conn.execute(
            "SELECT * FROM receipt_scans WHERE receipt_id = ? ORDER BY seq DESC LIMIT 10", (receipt_id,)
        )
    ]
    ssccs = [
        x[0]
        for x in conn.execute(
            "SELECT sscc FROM receipt_scans WHERE receipt_id = ? AND sscc IS NOT NULL "
            "AND outcome = 'accepted' ORDER BY seq",
            (receipt_id,),
        )
    ]
    discrepancies = [
        dict(x)
        for x in conn.execute(
            "SELECT item_id, kind, expected, received, reason FROM po_discrepancies WHERE receipt_id = ?", (receipt_id,)
        )
    ]
    return {
        "id": r["id"],
        "po_id": po["id"],
        "po_number": po["number"],
        "po_status": po["status"],
        "supplier": po["supplier"],
        "status": r["status"],
        "blind": r["blind"],
        "location_id": r["location_id"],
        "lines": lines,
        "not_on_order": extra,
        "ssccs": ssccs,
        "recent": recent,
        "discrepancies": discrepancies,
        "opened_by": r["opened_by"],
        "confirmed_at": r["confirmed_at"],
    }


def _confirmed_qty(conn: sqlite3.Connection, receipt_id: str, item_id: str) -> int:
    return conn.execute(
        "SELECT COALESCE(SUM(qty), 0) FROM receipt_scans WHERE receipt_id = ? AND item_id = ? AND "
        "outcome = 'accepted' AND on_po = 1",
        (receipt_id, item_id),
    ).fetchone()[0]


def confirm(
    conn: sqlite3.Connection,
    receipt_id: str,
    *,
    actor: str,
    idempotency_key: str,
    reasons: dict[str, str] | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """Post what was scanned: one ``receive`` per item × lot, moving-average cost, order lines, discrepancies.
    Replaying the same key returns the same answer and posts nothing; another confirm of a confirmed receipt is
    refused."""
    r = _receipt(conn, receipt_id)
    if r["status"] == "confirmed":
        if r["confirm_key"] == idempotency_key:
            return {**_confirmed(conn, receipt_id), "duplicate": True}
        raise Conflict("this receipt is already confirmed", code="receipt_already_confirmed")
    _still_open(r)
    reasons = reasons or {}
    bad = {k: v for k, v in reasons.items() if v not in rules.DISCREPANCY_REASONS}
    if bad:
        raise ValidationError(
            "unknown discrepancy reason",
            code="invalid_reason",
            details={"reasons": bad, "allowed": list(rules.DISCREPANCY_REASONS)},
        )
    groups = conn.execute(
        "SELECT item_id, COALESCE(lot, '') AS lot, MAX(expiry) AS expiry, SUM(qty) AS qty, MIN(on_po) AS on_po "
        "FROM receipt_scans WHERE receipt_id = ? AND outcome = 'accepted' AND item_id IS NOT NULL "
        "GROUP BY item_id, COALESCE(lot, '') ORDER BY MIN(seq)",
        (receipt_id,),
    ).fetchall()
    if not groups:
        raise Unprocessable("nothing was scanned on this receipt", code="receipt_empty")
    po = orders.get(conn, r["po_id"])
    line_of = {ln["item_id"]: ln for ln in po["lines"]}
    movements = []
    for n, g in enumerate(groups, start=1):
        ln = line_of.get(g["item_id"])
        if ln is None or g["qty"] <= 0:
            continue  # not on the order: refused at the door, recorded below as a discrepancy
        key = f"po-receipt:{receipt_id}:{n}"
        if g["lot"] and lots.is_lot_controlled(conn, g["item_id"]):
            lots.intend(conn, key, g["lot"], g["expiry"])
        before = ledger.on_hand_total(conn, g["item_id"])["on_hand"]
        m = ledger.post(
            conn,
            MovementRequest(
                "receive",
                g["item_id"],
                r["location_id"],
                g["qty"],
                f"purchase order {po['number']}",
                actor,
                key,
                device,
                f"po:{po['id']}",
            ),
        )
        cost = costing.on_receipt(conn, m, on_hand_before=before, unit_cost_minor=ln["unit_cost_minor"])
        conn.execute(
            "UPDATE po_lines SET received = received + ? WHERE po_id = ? AND item_id = ?",
            (g["qty"], po["id"], g["item_id"]),
        )
        movements.append(
            {
                "movement_id": m["id"],
                "item_id": g["item_id"],
                "qty": g["qty"],
                "lot": g["lot"] or None,
                "expiry": g["expiry"],
                "unit_cost_minor": ln["unit_cost_minor"],
                "avg_cost_minor": cost["avg_after_minor"],
            }
        )
    scanned = _totals(conn, receipt_id)
    items = list(dict.fromkeys([ln["item_id"] for ln in po["lines"]] + list(scanned)))
    discrepancies = []
    for item_id in items:
        ln = line_of.get(item_id)
        expected = max(ln["qty"] - ln["received"], 0) if ln else 0
        got = scanned.get(item_id, 0)
        kind = rules.discrepancy_kind(expected, got, on_po=ln is not None)
        if kind is None or (kind == "under" and expected == 0):
            continue
        reason = reasons.get(item_id) or rules.default_reason(kind)
        conn.execute(
            "INSERT INTO po_discrepancies(receipt_id, item_id, kind, expected, received, reason) VALUES (?,?,?,?,?,?)",
            (receipt_id, item_id, kind, expected, got, reason),
        )
        discrepancies.append(
            {"item_id": item_id, "kind": kind, "expected": expected, "received": got, "reason": reason}
        )
    ts = now_iso()
    conn.execute(
        "UPDATE po_receipts SET status = 'confirmed', confirm_key = ?, confirmed_by = ?, confirmed_at = ? WHERE id = ?",
        (idempotency_key, actor, ts, receipt_id),
    )
    ssccs = [
        x[0]
        for x in conn.execute(
            "SELECT sscc FROM receipt_scans WHERE receipt_id = ? AND sscc IS NOT NULL AND outcome = 'accepted'",
            (receipt_id,),
        )
    ]
    outbox.record(
        conn,
        "po.receipt",
        {
            "receipt_id": receipt_id,
            "po_id": po["id"],
            "po_number": po["number"],
            "supplier_id": po["supplier_id"],
            "location_id": r["location_id"],
            "blind": r["blind"],
            "lines": movements,
            "discrepancies": discrepancies,
            "ssccs": ssccs,
            "confirmed_by": actor,
            "ts": ts,
        },
        ts=ts,
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="po.receipt_confirm",
        target=receipt_id,
        details={"po_id": po["id"], "lines": len(movements), "discrepancies": len(discrepancies)},
    )
    orders.after_receipt(conn, po["id"], receipt_id=receipt_id, actor=actor, device=device)
    setting = settings.get(conn, "purchasing.near_expiry_days")
    for item_id in {m["item_id"] for m in movements if m["lot"]}:
        lots.check_expiry(conn, today=days.today(conn), setting=setting, item_id=item_id)
    return {**_confirmed(conn, receipt_id), "duplicate": False}


def _confirmed(conn: sqlite3.Connection, receipt_id: str) -> dict[str, Any]:
    out = view(conn, receipt_id)
    out["movements"] = [
        dict(x)
        for x in conn.execute(
            "SELECT m.id AS movement_id, m.item_id, m.qty_delta AS qty, lm.lot, lm.expiry FROM movements m "
            "LEFT JOIN lot_movements lm ON lm.movement_id = m.id WHERE m.idempotency_key LIKE ? ESCAPE '!' ORDER BY m.seq",
            (f"po-receipt:{receipt_id}:%".replace("_", "!_"),),
        )
    ]
    return out


def cancel_receipt(
    conn: sqlite3.Connection, receipt_id: str, *, actor: str, role: str, device: str | None = None
) -> dict[str, Any]:
    """Drop an open receipt's scans (nothing was posted); its opener or a supervisor."""
    r = _receipt(conn, receipt_id)
    if r["opened_by"] != actor and not rules.has_role(role, "supervisor"):
        raise Forbidden(
            "cancelling someone else's receipt needs a supervisor",
            code="wrong_role",
            details={"needed": "supervisor", "have": role},
        )
    _still_open(r)
    conn.execute("UPDATE po_receipts SET status = 'cancelled' WHERE id = ?", (receipt_id,))
    audit.log(conn, actor=actor, device=device, action="po.receipt_cancel", target=receipt_id)
    return view(conn, receipt_id)


# ---------------------------------------------------------------- returns to the supplier
def return_to_supplier(
    conn: sqlite3.Connection,
    *,
    supplier_id: str,
    item_id: str,
    location_id: str,
    qty: int,
    reason: str,
    actor: str,
    role: str,
    idempotency_key: str,
    lot: str | None = None,
    note: str = "",
    po_id: str | None = None,
    device: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Send stock back to the supplier with a reason: a ``writeoff`` movement (stock leaves, unsold) whose ref
    names the return, from the named lot when there is one. Idempotent by key. Returns (return, created)."""
    dup = conn.execute("SELECT * FROM supplier_returns WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
    if dup is not None:
        return dict(dup), False
    if not rules.has_role(role, "supervisor"):
        raise Forbidden(
            "a return to the supplier needs a supervisor",
            code="wrong_role",
            details={"needed": "supervisor", "have": role},
        )
    if reason not in rules.RTV_REASONS:
        raise ValidationError(f"reason is one of {', '.join(rules.RTV_REASONS)}", code="invalid_reason")
    suppliers.supplier_item(conn, supplier_id, item_id, today=days.today(conn).isoformat())
    if po_id is not None:
        orders.get(conn, po_id)
    lot = (lot or "").strip() or None
    if lot and lots.is_lot_controlled(conn, item_id):
        have = conn.execute(
            "SELECT COALESCE(SUM(qty), 0) FROM stock_lots WHERE item_id = ? AND location_id = ? AND lot = ?",
            (item_id, location_id, lot),
        ).fetchone()[0]
        if have < qty:
            raise Conflict(
                f"lot {lot} has {have} here, fewer than {qty}", code="lot_short", details={"lot": lot, "on_hand": have}
            )
        lots.intend(conn, idempotency_key, lot, None)
    rid = new_id()
    m = ledger.post(
        conn,
        MovementRequest(
            "writeoff",
            item_id,
            location_id,
            qty,
            f"return to supplier: {reason}",
            actor,
            idempotency_key,
            device,
            f"rtv:{rid}",
        ),
    )
    row = {
        "id": rid,
        "supplier_id": supplier_id,
        "po_id": po_id,
        "item_id": item_id,
        "location_id": location_id,
        "qty": qty,
        "lot": lot,
        "reason": reason,
        "note": (note or "").strip(),
        "movement_id": m["id"],
        "idempotency_key": idempotency_key,
        "actor": actor,
        "ts": m["ts"],
    }
    conn.execute(
        "INSERT INTO supplier_returns(id, supplier_id, po_id, item_id, location_id, qty, lot, reason, note,"
        " movement_id, idempotency_key, actor, ts) VALUES (:id, :supplier_id, :po_id, :item_id,"
        " :location_id, :qty, :lot, :reason, :note, :movement_id, :idempotency_key, :actor, :ts)",
        row,
    )
    outbox.record(conn, "supplier.return", {k: v for k, v in row.items() if k != "idempotency_key"}, ts=row["ts"])
    audit.log(
        conn,
        actor=actor,
        device=device,
        action="supplier.return",
        target=rid,
        details={"item_id": item_id, "qty": qty, "reason": reason, "lot": lot},
    )
    return row, True


def refusal_error(refused: dict[str, Any]) -> StoreHubError:
    """The error a route answers for a refused (but recorded) scan."""
    return Unprocessable(refused["message"], code=refused["code"], details=refused["details"])

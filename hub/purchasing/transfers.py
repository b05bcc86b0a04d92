"""Transfers between stores: proposed → accepted → picked → shipped → received → closed (docs/purchasing.md).

One transfer document, one global id, two hubs. The sending store (A) holds it from the proposal on (proposed
there, or by head office through the downlink, :func:`apply_downlink`); shipping posts a ``transfer_out``
movement per line at A's stock location (ref ``xfer:<id>``, key ``xfer:<id>:out:<line>``), so the stock leaves
A's ledger and sits in the *in-transit book*: the shipped lines of transfers not yet received, shown by
:func:`in_transit` here and across stores at the central (sync/central/transfers.py). The ``transfer.step``
fact of the shipment carries the lines with the lots they took; the central relays it to B through the downlink
and B's hub creates its copy (:func:`apply_downlink`). B receives by scan (:func:`scan`) and confirms
(:func:`confirm`): ``transfer_in`` movements (key ``xfer:<id>:in:<item>``) with the shipped lots, and the
discrepancies — short, over, wrong item — each with a reason; then :func:`close`.

Exactly once: every step takes the handheld's idempotency key (a replay answers ``duplicate``), every movement
has a key derived from the transfer id (a second ship or confirm with a fresh key is refused by state, and even a
forced one could not post twice), and the downlink apply is keyed by the transfer id and only moves forward."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.identify import resolve as scan_resolve
from hub.inventory import ledger, locations
from hub.kernel import audit, outbox, settings
from hub.kernel.errors import Conflict, NotFound, Unprocessable, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.purchasing import lots

STATUSES = ("proposed", "accepted", "picked", "shipped", "received", "closed", "cancelled")
STEPS = ("proposed", "accepted", "picked", "shipped", "received", "closed", "cancelled")
DISCREPANCY_KINDS = ("short", "over", "wrong_item")
_ORDER = {s: i for i, s in enumerate(STATUSES)}


def store_id(conn: sqlite3.Connection) -> str:
    return str(settings.get(conn, "store_id"))


def _location(conn: sqlite3.Connection) -> str:
    code = settings.get(conn, "purchasing.receiving_location") or "STORE"
    loc = locations.get_by_code(conn, code) or locations.get_by_code(conn, "STORE")
    if loc is None:
        raise Unprocessable("no stock location: set purchasing.receiving_location", code="location_not_found")
    return str(loc["id"])


def get(conn: sqlite3.Connection, transfer_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM store_transfers WHERE id = ?", (transfer_id,)).fetchone()
    if row is None:
        raise NotFound(f"no transfer {transfer_id}", code="transfer_not_found", details={"id": transfer_id})
    t = dict(row)
    t["lines"] = []
    for r in conn.execute("SELECT * FROM store_transfer_lines WHERE transfer_id = ? ORDER BY line_no", (t["id"],)):
        line = dict(r)
        line.pop("transfer_id")
        line["lots"] = json.loads(line["lots"])
        t["lines"].append(line)
    t["scanned"] = [
        dict(r)
        for r in conn.execute(
            "SELECT item_id, sku, SUM(qty) AS qty FROM store_transfer_scans WHERE transfer_id = ? "
            "GROUP BY item_id, sku ORDER BY sku",
            (t["id"],),
        )
    ]
    t["discrepancies"] = [
        dict(r)
        for r in conn.execute(
            "SELECT item_id, sku, kind, qty, reason FROM store_transfer_discrepancies WHERE transfer_id = ? "
            "ORDER BY sku, kind",
            (t["id"],),
        )
    ]
    here = store_id(conn)
    t["side"] = "from" if t["from_store"] == here else ("to" if t["to_store"] == here else "other")
    return t


def list_transfers(conn: sqlite3.Connection, *, status: str | None = None) -> list[dict[str, Any]]:
    args: list[Any] = [status] if status else []
    return [
        dict(r)
        for r in conn.execute(
            "SELECT t.id, t.from_store, t.to_store, t.status, t.origin, t.updated_at, "
            "(SELECT COUNT(*) FROM store_transfer_lines l WHERE l.transfer_id = t.id) AS lines, "
            "(SELECT COALESCE(SUM(l.shipped), 0) FROM store_transfer_lines l WHERE l.transfer_id = t.id) AS shipped "
            f"FROM store_transfers t {'WHERE t.status = ?' if status else ''} ORDER BY t.updated_at DESC LIMIT 500",
            args,
        )
    ]


def _fact(conn: sqlite3.Connection, step: str, t: dict[str, Any], actor: str) -> None:
    doc = {k: t[k] for k in ("id", "from_store", "to_store", "status", "origin", "proposed_by", "note")}
    doc["lines"] = [
        {k: ln[k] for k in ("line_no", "item_id", "sku", "qty", "picked", "shipped", "received", "lots")}
        for ln in t["lines"]
    ]
    doc["discrepancies"] = t["discrepancies"]
    outbox.record(conn, "transfer.step", {"step": step, "transfer": doc, "actor": actor, "ts": now_iso()})


def _replayed(conn: sqlite3.Connection, key: str, transfer_id: str | None, step: str) -> dict[str, Any] | None:
    if not key or len(key) > 200:
        raise ValidationError("idempotency_key is required (at most 200 characters)", code="invalid_idempotency_key")
    row = conn.execute(
        "SELECT transfer_id, step FROM store_transfer_steps WHERE idempotency_key = ?", (key,)
    ).fetchone()
    if row is None:
        return None
    if row["step"] != step or (transfer_id is not None and row["transfer_id"] != transfer_id):
        raise Conflict(
            "idempotency key already used for another step", code="idempotency_conflict", details={"step": row["step"]}
        )
    return {**get(conn, row["transfer_id"]), "duplicate": True}


def _remember(conn: sqlite3.Connection, key: str, transfer_id: str, step: str, actor: str) -> None:
    conn.execute(
        "INSERT INTO store_transfer_steps(idempotency_key, transfer_id, step, actor, ts) VALUES (?,?,?,?,?)",
        (key, transfer_id, step, actor, now_iso()),
    )


def _move(conn: sqlite3.Connection, t: dict[str, Any], to: str, actor: str, device: str | None) -> None:
    now = now_iso()
    extra = {"shipped": ", shipped_at = ?", "received": ", received_at = ?"}.get(to, "")
    conn.execute(
        f"UPDATE store_transfers SET status = ?, updated_at = ?{extra} WHERE id = ?",
        (to, now, now, t["id"]) if extra else (to, now, t["id"]),
    )
    audit.log(conn, actor=actor, device=device, action=f"transfer.{to}", target=t["id"], details={"from": t["status"]})


def _need(t: dict[str, Any], side: str, *states: str) -> None:
    if t["side"] != side:
        raise Conflict(
            f"this store is not the {'sending' if side == 'from' else 'receiving'} store of the transfer",
            code="transfer_wrong_store",
            details={"from_store": t["from_store"], "to_store": t["to_store"]},
        )
    if t["status"] not in states:
        raise Conflict(
            f"transfer is {t['status']}",
            code="transfer_bad_state",
            details={"status": t["status"], "need": list(states)},
        )


def _item(conn: sqlite3.Connection, ref: dict[str, Any]) -> sqlite3.Row:
    if ref.get("item_id"):
        row = conn.execute("SELECT id, sku FROM items WHERE id = ?", (ref["item_id"],)).fetchone()
    else:
        row = conn.execute("SELECT id, sku FROM items WHERE sku = ?", (ref.get("sku") or "",)).fetchone()
    if row is None:
        raise NotFound("no such item", code="item_not_found", details={k: ref.get(k) for k in ("item_id", "sku")})
    return row


# ------------------------------------------------------------------------------------------------ steps
def propose(
    conn: sqlite3.Connection,
    *,
    to_store: str,
    lines: list[dict[str, Any]],
    actor: str,
    idempotency_key: str,
    note: str = "",
    device: str | None = None,
) -> dict[str, Any]:
    """This store proposes to send ``lines`` ([{item_id or sku, qty}]) to ``to_store``."""
    again = _replayed(conn, idempotency_key, None, "proposed")
    if again:
        return again
    here = store_id(conn)
    if not to_store or to_store == here:
        raise ValidationError("a transfer goes to another store", code="invalid_transfer", details={"to": to_store})
    if not lines:
        raise ValidationError("a transfer needs lines", code="invalid_transfer")
    tid, now = new_id(), now_iso()
    conn.execute(
        "INSERT INTO store_transfers(id, from_store, to_store, status, origin, proposed_by, note, created_at,"
        " updated_at) VALUES (?,?,?,'proposed','store',?,?,?,?)",
        (tid, here, to_store, actor, note, now, now),
    )
    for i, ln in enumerate(lines, start=1):
        if int(ln.get("qty") or 0) <= 0:
            raise ValidationError("quantities are positive", code="invalid_qty", details={"line": i})
        it = _item(conn, ln)
        conn.execute(
            "INSERT INTO store_transfer_lines(transfer_id, line_no, item_id, sku, qty) VALUES (?,?,?,?,?)",
            (tid, i, it["id"], it["sku"], int(ln["qty"])),
        )
    _remember(conn, idempotency_key, tid, "proposed", actor)
    audit.log(conn, actor=actor, device=device, action="transfer.proposed", target=tid, details={"to": to_store})
    t = get(conn, tid)
    _fact(conn, "proposed", t, actor)
    return {**t, "duplicate": False}


def accept(
    conn: sqlite3.Connection, transfer_id: str, *, actor: str, idempotency_key: str, device: str | None = None
) -> dict[str, Any]:
    again = _replayed(conn, idempotency_key, transfer_id, "accepted")
    if again:
        return again
    t = get(conn, transfer_id)
    _need(t, "from", "proposed")
    _move(conn, t, "accepted", actor, device)
    _remember(conn, idempotency_key, transfer_id, "accepted", actor)
    t = get(conn, transfer_id)
    _fact(conn, "accepted", t, actor)
    return {**t, "duplicate": False}


def pick(
    conn: sqlite3.Connection,
    transfer_id: str,
    *,
    picked: dict[int, int] | None,
    actor: str,
    idempotency_key: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Record what was picked per line (``{line_no: qty}``; None: every line as proposed). Picking more than
    proposed is refused (propose again); 0 leaves the line behind."""
    again = _replayed(conn, idempotency_key, transfer_id, "picked")
    if again:
        return again
    t = get(conn, transfer_id)
    _need(t, "from", "accepted", "picked")
    by_line = {ln["line_no"]: ln for ln in t["lines"]}
    want = picked if picked is not None else {n: ln["qty"] for n, ln in by_line.items()}
    for n, q in want.items():
        ln = by_line.get(int(n))
        if ln is None or q < 0 or q > ln["qty"]:
            raise Unprocessable(
                "picked quantity must be between 0 and the proposed quantity",
                code="transfer_pick_invalid",
                details={"line_no": n, "qty": q},
            )
        conn.execute(
            "UPDATE store_transfer_lines SET picked = ? WHERE transfer_id = ? AND line_no = ?", (q, transfer_id, n)
        )
    if t["status"] != "picked":
        _move(conn, t, "picked", actor, device)
    _remember(conn, idempotency_key, transfer_id, "picked", actor)
    t = get(conn, transfer_id)
    _fact(conn, "picked", t, actor)
    return {**t, "duplicate": False}


def ship(
    conn: sqlite3.Connection, transfer_id: str, *, actor: str, idempotency_key: str, device: str | None = None
) -> dict[str, Any]:
    """The picked quantities leave this store: one ``transfer_out`` per line into the in-transit book."""
    again = _replayed(conn, idempotency_key, transfer_id, "shipped")
    if again:
        return again
    t = get(conn, transfer_id)
    _need(t, "from", "picked")
    if not any(ln["picked"] for ln in t["lines"]):
        raise Unprocessable("nothing picked to ship", code="transfer_nothing_picked")
    loc = _location(conn)
    for ln in t["lines"]:
        if not ln["picked"]:
            continue
        mv = ledger.post(
            conn,
            ledger.MovementRequest(
                kind="transfer_out",
                item_id=ln["item_id"],
                location_id=loc,
                qty=ln["picked"],
                reason=f"transfer to {t['to_store']}",
                actor=actor,
                idempotency_key=f"xfer:{transfer_id}:out:{ln['line_no']}",
                device=device,
                ref=f"xfer:{transfer_id}",
            ),
        )
        took = [
            {"lot": r["lot"], "expiry": r["expiry"], "qty": -r["qty_delta"]}
            for r in conn.execute(
                "SELECT lot, expiry, qty_delta FROM lot_movements WHERE movement_id = ? ORDER BY expiry IS NULL,"
                " expiry, lot",
                (mv["id"],),
            )
        ]
        conn.execute(
            "UPDATE store_transfer_lines SET shipped = ?, lots = ? WHERE transfer_id = ? AND line_no = ?",
            (ln["picked"], json.dumps(took), transfer_id, ln["line_no"]),
        )
    _move(conn, t, "shipped", actor, device)
    _remember(conn, idempotency_key, transfer_id, "shipped", actor)
    t = get(conn, transfer_id)
    _fact(conn, "shipped", t, actor)
    return {**t, "duplicate": False}


def scan(
    conn: sqlite3.Connection,
    transfer_id: str,
    code: str,
    *,
    qty: int | None,
    actor: str,
    idempotency_key: str,
    device: str | None = None,
) -> dict[str, Any]:
    """A receiving scan at the receiving store (the one scan resolver: GTIN, GS1-128 with count and lot, SKU).
    An item not on the transfer is taken (it arrived) and becomes a wrong-item discrepancy on confirming."""
    row = conn.execute(
        "SELECT transfer_id FROM store_transfer_scans WHERE idempotency_key = ?", (idempotency_key,)
    ).fetchone()
    if row is not None:
        if row[0] != transfer_id:
            raise Conflict("idempotency key already used for another transfer", code="idempotency_conflict")
        return {**get(conn, transfer_id), "duplicate": True}
    if not idempotency_key or len(idempotency_key) > 200:
        raise ValidationError("idempotency_key is required (at most 200 characters)", code="invalid_idempotency_key")
    t = get(conn, transfer_id)
    _need(t, "to", "shipped")
    res = scan_resolve.resolve(conn, code, settings=settings.get_all(conn), with_stock=False, accept_sku=True)
    if not res.names_item or not res.item:
        raise Unprocessable("the code names no item", code="transfer_scan_not_item", details={"kind": res.kind})
    n = qty if qty is not None else (res.count or res.qty or 1)
    if n <= 0:
        raise ValidationError("quantities are positive", code="invalid_qty")
    lot = getattr(res.parsed, "lot", None) if res.parsed is not None else None
    conn.execute(
        "INSERT INTO store_transfer_scans(idempotency_key, transfer_id, code, item_id, sku, qty, lot, actor, ts)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        (idempotency_key, transfer_id, code, res.item["id"], res.item["sku"], n, lot, actor, now_iso()),
    )
    out = get(conn, transfer_id)
    on_transfer = {ln["item_id"] for ln in out["lines"]}
    return {
        **out,
        "duplicate": False,
        "last": {
            "item_id": res.item["id"],
            "sku": res.item["sku"],
            "qty": n,
            "expected": res.item["id"] in on_transfer,
        },
    }


def confirm(
    conn: sqlite3.Connection,
    transfer_id: str,
    *,
    reasons: dict[str, str] | None,
    actor: str,
    idempotency_key: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Post what was scanned as ``transfer_in`` movements (shipped lots first) and record the discrepancies.
    ``reasons``: ``{item_id: reason}`` for every short, over or wrong item (refused without one)."""
    again = _replayed(conn, idempotency_key, transfer_id, "received")
    if again:
        return again
    t = get(conn, transfer_id)
    _need(t, "to", "shipped")
    reasons = reasons or {}
    shipped: dict[str, dict[str, Any]] = {}
    for ln in t["lines"]:
        s = shipped.setdefault(ln["item_id"], {"sku": ln["sku"], "qty": 0, "lots": []})
        s["qty"] += ln["shipped"]
        s["lots"] += ln["lots"]
    scanned = {r["item_id"]: r for r in t["scanned"]}
    found: list[tuple[str, str, str, int]] = []
    for item_id in sorted(set(shipped) | set(scanned)):
        got = scanned[item_id]["qty"] if item_id in scanned else 0
        if item_id not in shipped:
            found.append((item_id, scanned[item_id]["sku"], "wrong_item", got))
        elif got < shipped[item_id]["qty"]:
            found.append((item_id, shipped[item_id]["sku"], "short", shipped[item_id]["qty"] - got))
        elif got > shipped[item_id]["qty"]:
            found.append((item_id, shipped[item_id]["sku"], "over", got - shipped[item_id]["qty"]))
    missing = [f[0] for f in found if not (reasons.get(f[0]) or "").strip()]
    if missing:
        raise Unprocessable(
            "every discrepancy needs a reason",
            code="transfer_reason_required",
            details={"discrepancies": [{"item_id": i, "sku": s, "kind": k, "qty": q} for i, s, k, q in found]},
        )
    loc = _location(conn)
    for item_id, r in scanned.items():
        for n, (lot, expiry, q) in enumerate(
            _arrival_parts(conn, item_id, shipped.get(item_id, {}).get("lots", []), r["qty"])
        ):
            key = f"xfer:{transfer_id}:in:{item_id}:{n}"
            if lot is not None:
                lots.intend(conn, key, lot, expiry)
            ledger.post(
                conn,
                ledger.MovementRequest(
                    kind="transfer_in",
                    item_id=item_id,
                    location_id=loc,
                    qty=q,
                    reason=f"transfer from {t['from_store']}",
                    actor=actor,
                    idempotency_key=key,
                    device=device,
                    ref=f"xfer:{transfer_id}",
                ),
            )
    for item_id, sku, kind, q in found:
        conn.execute(
            "INSERT INTO store_transfer_discrepancies(transfer_id, item_id, sku, kind, qty, reason) VALUES (?,?,?,?,?,?)",
            (transfer_id, item_id, sku, kind, q, reasons[item_id].strip()),
        )
    for ln in t["lines"]:
        conn.execute(
            "UPDATE store_transfer_lines SET received = ? WHERE transfer_id = ? AND line_no = ?",
            (scanned[ln["item_id"]]["qty"] if ln["item_id"] in scanned else 0, transfer_id, ln["line_no"]),
        )
        scanned.pop(ln["item_id"], None)  # an item on two lines: its count lands on the first
    _move(conn, t, "received", actor, device)
    _remember(conn, idempotency_key, transfer_id, "received", actor)
    t = get(conn, transfer_id)
    _fact(conn, "received", t, actor)
    return {**t, "duplicate": False}


def _arrival_parts(
    conn: sqlite3.Connection, item_id: str, shipped_lots: list[dict[str, Any]], qty: int
) -> list[tuple[str | None, str | None, int]]:
    """What arrived, split into the lots the shipment took (one movement per lot, each naming its lot for the
    lot hook); beyond them (over-delivery) the unnamed lot. An item without lot control arrives in one part."""
    if not lots.is_lot_controlled(conn, item_id) or not shipped_lots:
        return [(None, None, qty)]
    parts: list[tuple[str | None, str | None, int]] = []
    left = qty
    for lt in shipped_lots:
        q = min(left, int(lt["qty"]))
        if q > 0:
            parts.append((lt["lot"], lt["expiry"], q))
            left -= q
    if left > 0:
        parts.append((lots.NO_LOT, None, left))
    return parts


def close(
    conn: sqlite3.Connection,
    transfer_id: str,
    *,
    actor: str,
    idempotency_key: str,
    note: str = "",
    device: str | None = None,
) -> dict[str, Any]:
    again = _replayed(conn, idempotency_key, transfer_id, "closed")
    if again:
        return again
    t = get(conn, transfer_id)
    _need(t, "to", "received")
    if note:
        conn.execute("UPDATE store_transfers SET note = ? WHERE id = ?", (note, transfer_id))
    _move(conn, t, "closed", actor, device)
    _remember(conn, idempotency_key, transfer_id, "closed", actor)
    t = get(conn, transfer_id)
    _fact(conn, "closed", t, actor)
    return {**t, "duplicate": False}


def cancel(
    conn: sqlite3.Connection,
    transfer_id: str,
    *,
    reason: str,
    actor: str,
    idempotency_key: str,
    device: str | None = None,
) -> dict[str, Any]:
    """Cancel before shipping (nothing has moved yet)."""
    again = _replayed(conn, idempotency_key, transfer_id, "cancelled")
    if again:
        return again
    if not reason.strip():
        raise ValidationError("a cancellation needs a reason", code="reason_required")
    t = get(conn, transfer_id)
    _need(t, "from", "proposed", "accepted", "picked")
    conn.execute("UPDATE store_transfers SET note = ? WHERE id = ?", (reason.strip(), transfer_id))
    _move(conn, t, "cancelled", actor, device)
    _remember(conn, idempotency_key, transfer_id, "cancelled", actor)
    t = get(conn, transfer_id)
    _fact(conn, "cancelled", t, actor)
    return {**t, "duplicate": False}


def in_transit(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The in-transit book as this hub sees it: shipped lines of transfers not yet received."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT t.id AS transfer_id, t.from_store, t.to_store, t.shipped_at, l.item_id, l.sku, l.shipped AS qty "
            "FROM store_transfers t JOIN store_transfer_lines l ON l.transfer_id = t.id "
            "WHERE t.status = 'shipped' AND l.shipped > 0 ORDER BY t.shipped_at, l.line_no"
        )
    ]


# ------------------------------------------------------------------------------------------------ downlink
def apply_downlink(conn: sqlite3.Connection, p: dict[str, Any]) -> None:
    """A transfer from the central: proposed by head office (this store sends) or shipped (this store
    receives). Keyed by the transfer id; a repeated or older change never moves a transfer back."""
    doc = p["transfer"]
    here = store_id(conn)
    stage = p["stage"]
    if stage == "received":
        _receipt_arrived(conn, doc, here)
        return
    if stage == "proposed" and doc["from_store"] != here or stage == "shipped" and doc["to_store"] != here:
        return
    row = conn.execute("SELECT status FROM store_transfers WHERE id = ?", (doc["id"],)).fetchone()
    if row is not None and _ORDER[row[0]] >= _ORDER[stage]:
        return
    now = now_iso()
    if row is None:
        conn.execute(
            "INSERT INTO store_transfers(id, from_store, to_store, status, origin, proposed_by, note, created_at,"
            " updated_at, shipped_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                doc["id"],
                doc["from_store"],
                doc["to_store"],
                stage,
                doc.get("origin", "head_office"),
                doc.get("proposed_by") or "head_office",
                doc.get("note") or "",
                now,
                now,
                now if stage == "shipped" else None,
            ),
        )
    else:
        conn.execute("UPDATE store_transfers SET status = ?, updated_at = ? WHERE id = ?", (stage, now, doc["id"]))
    conn.execute("DELETE FROM store_transfer_lines WHERE transfer_id = ?", (doc["id"],))
    for ln in doc["lines"]:
        known = conn.execute("SELECT id, sku FROM items WHERE id = ? OR sku = ?", (ln["item_id"], ln["sku"])).fetchone()
        conn.execute(
            "INSERT INTO store_transfer_lines(transfer_id, line_no, item_id, sku, qty, picked, shipped, lots)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                doc["id"],
                ln["line_no"],
                known["id"] if known else ln["item_id"],
                ln["sku"],
                ln["qty"],
                ln.get("picked", 0),
                ln.get("shipped", 0),
                json.dumps(ln.get("lots") or []),
            ),
        )
    audit.log(conn, actor="system:central", device=None, action=f"transfer.{stage}.arrived", target=doc["id"])


def _receipt_arrived(conn: sqlite3.Connection, doc: dict[str, Any], here: str) -> None:
    """The receiving store's receipt, relayed back to the sending store: its copy leaves transit, with what
    arrived per line and the discrepancies (no stock moves here: it left when shipped)."""
    if doc["from_store"] != here:
        return
    row = conn.execute("SELECT status FROM store_transfers WHERE id = ?", (doc["id"],)).fetchone()
    if row is None or _ORDER[row[0]] >= _ORDER["received"] or row[0] == "cancelled":
        return
    now = now_iso()
    conn.execute(
        "UPDATE store_transfers SET status = 'received', received_at = ?, updated_at = ? WHERE id = ?",
        (now, now, doc["id"]),
    )
    for ln in doc["lines"]:
        conn.execute(
            "UPDATE store_transfer_lines SET received = ? WHERE transfer_id = ? AND line_no = ?",
            (int(ln.get("received") or 0), doc["id"], ln["line_no"]),
        )
    skus = [d["sku"] for d in doc.get("discrepancies") or []]
    mine = (
        {
            r[1]: r[0]
            for r in conn.execute(f"SELECT id, sku FROM items WHERE sku IN ({','.join('?' * len(skus))})", skus)
        }
        if skus
        else {}
    )
    for d in doc.get("discrepancies") or []:
        conn.execute(
            "INSERT OR IGNORE INTO store_transfer_discrepancies(transfer_id, item_id, sku, kind, qty, reason)"
            " VALUES (?,?,?,?,?,?)",
            (doc["id"], mine.get(d["sku"], d["item_id"]), d["sku"], d["kind"], d["qty"], d["reason"]),
        )
    audit.log(conn, actor="system:central", device=None, action="transfer.received.arrived", target=doc["id"])

"""Stock per lot of lot-controlled items, the lot side of their movements, near-expiry alerts and recall.

The ledger's ``stock`` projection stays per item × location and its posting rules are untouched: this module is
declared as a stock hook (``Domain.stock_in`` / ``stock_out``), so the ledger calls :func:`on_stock` inside the
transaction of every movement that changed stock on hand, and the lot rows land with the movement or not at all.
A purchasing step that knows the lot (a receipt, a return to the supplier) writes a ``lot_intents`` row keyed by
the movement's idempotency key just before posting; the hook takes it. Stock arriving without a named lot goes to
the ``''`` lot (nobody recorded it); stock leaving without one is taken first-expiring-first (FEFO) at that
location. A transfer's arriving half takes the lots its leaving half took. So for every lot-controlled item the
lots at a location always add up to the ledger's on-hand there (:func:`mismatches` checks it)."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from hub.bus import alerts
from hub.kernel import audit
from hub.kernel.errors import NotFound
from hub.purchasing import days, rules

NO_LOT = ""


def is_lot_controlled(conn: sqlite3.Connection, item_id: str) -> bool:
    row = conn.execute("SELECT lot_controlled FROM purchasing_items WHERE item_id = ?", (item_id,)).fetchone()
    return bool(row and row[0])


def set_lot_controlled(
    conn: sqlite3.Connection, item_id: str, on: bool, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    """Switch lot control for an item. Switching on puts the stock already there into the ``''`` lot (its lot
    was never recorded), so lots and on-hand agree from the first movement on; switching off forgets the lots."""
    if conn.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
        raise NotFound(f"no item {item_id}", code="item_not_found")
    was = is_lot_controlled(conn, item_id)
    conn.execute(
        "INSERT INTO purchasing_items(item_id, lot_controlled) VALUES (?, ?) "
        "ON CONFLICT(item_id) DO UPDATE SET lot_controlled = excluded.lot_controlled",
        (item_id, int(on)),
    )
    if on and not was:
        conn.execute("DELETE FROM stock_lots WHERE item_id = ?", (item_id,))
        conn.execute(
            "INSERT INTO stock_lots(item_id, location_id, lot, expiry, qty) SELECT item_id, location_id, '',"
            " NULL, on_hand FROM stock WHERE item_id = ? AND on_hand != 0",
            (item_id,),
        )
    elif not on and was:
        conn.execute("DELETE FROM stock_lots WHERE item_id = ?", (item_id,))
    if on != was:
        audit.log(
            conn, actor=actor, device=device, action="item.lot_control", target=item_id, details={"lot_controlled": on}
        )
    return {"item_id": item_id, "lot_controlled": on}


def intend(conn: sqlite3.Connection, idempotency_key: str, lot: str, expiry: str | None) -> None:
    """Name the lot of the movement about to be posted with ``idempotency_key`` (read by :func:`on_stock`)."""
    conn.execute(
        "INSERT OR REPLACE INTO lot_intents(idempotency_key, lot, expiry) VALUES (?,?,?)",
        (idempotency_key, lot, expiry),
    )


def _apply(conn: sqlite3.Connection, m: dict[str, Any], lot: str, expiry: str | None, delta: int) -> None:
    conn.execute(
        "INSERT INTO stock_lots(item_id, location_id, lot, expiry, qty) VALUES (?,?,?,?,?) "
        "ON CONFLICT(item_id, location_id, lot) DO UPDATE SET qty = qty + excluded.qty, "
        "expiry = COALESCE(excluded.expiry, expiry)",
        (m["item_id"], m["location_id"], lot, expiry, delta),
    )
    conn.execute(
        "INSERT INTO lot_movements(movement_id, lot, item_id, location_id, expiry, qty_delta) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT(movement_id, lot) DO UPDATE SET qty_delta = qty_delta + excluded.qty_delta",
        (m["id"], lot, m["item_id"], m["location_id"], expiry, delta),
    )


# The order a sale or a pick takes lots at a location in (FEFO): lots still good first, first expiring first,
# then lots without a date, then lots already past their expiry (those are off the shelf: not what a customer
# or a picker took). Other stock leaving without a named lot (a write-off, a return) takes the earliest expiry
# first, expired lots included — what is thrown away is what expired.
_FEFO_ORDER = "ORDER BY COALESCE(expiry < ?, 0), expiry IS NULL, expiry, lot"
_SOLD = ("sale", "pick")


def _fefo(conn: sqlite3.Connection, m: dict[str, Any], qty: int) -> None:
    """Take ``qty`` out of the location's lots, first expiring first; what the lots do not hold comes out of the
    ``''`` lot (it goes negative, like the ledger's on-hand may)."""
    cut = days.today(conn).isoformat() if m["kind"] in _SOLD else ""
    rows = conn.execute(
        "SELECT lot, expiry, qty FROM stock_lots WHERE item_id = ? AND location_id = ? AND qty > 0 " + _FEFO_ORDER,
        (m["item_id"], m["location_id"], cut),
    ).fetchall()
    left = qty
    for r in rows:
        if left <= 0:
            break
        take = min(left, r["qty"])
        _apply(conn, m, r["lot"], r["expiry"], -take)
        left -= take
    if left > 0:
        _apply(conn, m, NO_LOT, None, -left)


def on_stock(conn: sqlite3.Connection, movement: dict[str, Any]) -> None:
    """Stock hook (declared in ``Domain.stock_in`` and ``stock_out``): the lot side of a movement."""
    if not is_lot_controlled(conn, movement["item_id"]):
        return
    key = movement["idempotency_key"]
    intent = conn.execute("SELECT lot, expiry FROM lot_intents WHERE idempotency_key = ?", (key,)).fetchone()
    delta = movement["qty_delta"]
    if intent is not None:
        conn.execute("DELETE FROM lot_intents WHERE idempotency_key = ?", (key,))
        if delta < 0:
            have = conn.execute(
                "SELECT COALESCE(SUM(qty), 0) FROM stock_lots WHERE item_id = ? AND location_id = ? AND lot = ?",
                (movement["item_id"], movement["location_id"], intent["lot"]),
            ).fetchone()[0]
            take = min(-delta, max(have, 0))
            if take:
                _apply(conn, movement, intent["lot"], intent["expiry"], -take)
            if -delta - take:
                _fefo(conn, movement, -delta - take)
            return
        _apply(conn, movement, intent["lot"], intent["expiry"], delta)
        return
    if delta < 0:
        _fefo(conn, movement, -delta)
        return
    ref = movement.get("ref") or ""
    if movement["kind"] == "transfer_in" and ref.startswith("transfer:"):
        out = conn.execute(
            "SELECT lm.lot, lm.expiry, -lm.qty_delta FROM lot_movements lm JOIN movements mv "
            "ON mv.id = lm.movement_id WHERE mv.idempotency_key = ?",
            (ref[9:] + ":out",),
        ).fetchall()
        if out and sum(r[2] for r in out) == delta:
            for lot, expiry, q in out:
                _apply(conn, movement, lot, expiry, q)
            return
    _apply(conn, movement, NO_LOT, None, delta)


def fefo_locations(
    conn: sqlite3.Connection, item_id: str, rows: list[Any], *, keep_first: str | None = None, today: date | None = None
) -> list[Any]:
    """Order the locations an order's line may be served from (``rows`` with a ``location_id``, already in the
    store's walk order) first-expiring first: for a lot-controlled item, the location holding the lot that expires
    soonest (and is still good) comes first; locations whose lots have no date follow, then those holding only
    expired lots. Ties keep the walk order; ``keep_first`` (a location asked for by name) stays in front. An item
    without lot control keeps the walk order untouched (one query)."""
    if not rows or not is_lot_controlled(conn, item_id):
        return rows
    day = (today or days.today(conn)).isoformat()
    soonest = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT location_id, MIN(CASE WHEN expiry >= ? THEN expiry END) FROM stock_lots WHERE item_id = ?"
            " AND qty > 0 GROUP BY location_id",
            (day, item_id),
        )
    }

    def key(r: Any) -> tuple[int, int, str]:
        loc = r["location_id"]
        exp = soonest.get(loc)
        return (0 if keep_first and loc == keep_first else 1, 0 if exp else 1, exp or "")

    return sorted(rows, key=key)


def next_lot(conn: sqlite3.Connection, item_id: str, location_id: str) -> dict[str, Any] | None:
    """The lot a pick or a sale at ``location_id`` takes next (FEFO, as the stock hook takes it): lot and expiry,
    or None when the item is not lot-controlled or nothing is there."""
    row = conn.execute(
        "SELECT lot, expiry, qty FROM stock_lots WHERE item_id = ? AND location_id = ? AND qty > 0 "
        + _FEFO_ORDER
        + " LIMIT 1",
        (item_id, location_id, days.today(conn).isoformat()),
    ).fetchone()
    return dict(row) if row is not None else None


def stock_by_lot(conn: sqlite3.Connection, item_id: str) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT sl.location_id, l.code AS location_code, sl.lot, sl.expiry, sl.qty FROM stock_lots sl "
            "JOIN locations l ON l.id = sl.location_id WHERE sl.item_id = ? AND sl.qty != 0 "
            "ORDER BY sl.expiry IS NULL, sl.expiry, sl.lot, l.walk_seq",
            (item_id,),
        )
    ]


def mismatches(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Lot-controlled item × location where the lots do not add up to the ledger's on-hand (should be none)."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT s.item_id, s.location_id, s.on_hand, COALESCE(SUM(sl.qty), 0) AS lots FROM stock s "
            "JOIN purchasing_items p ON p.item_id = s.item_id AND p.lot_controlled = 1 "
            "LEFT JOIN stock_lots sl ON sl.item_id = s.item_id AND sl.location_id = s.location_id "
            "GROUP BY s.item_id, s.location_id HAVING s.on_hand != COALESCE(SUM(sl.qty), 0)"
        )
    ]


# ---------------------------------------------------------------- recall
def recall(conn: sqlite3.Connection, lot: str, *, item_id: str | None = None) -> dict[str, Any]:
    """Everything the hub knows about a lot: where it is now (per location), every movement that brought or
    took it (sales, picks for orders, transfers, returns) and the receipts and returns to supplier naming it."""
    if not lot:
        raise NotFound("a lot is required", code="lot_required")
    args: list[Any] = [lot] + ([item_id] if item_id else [])
    and_item = " AND {t}.item_id = ?" if item_id else ""
    where_now = "sl.lot = ?" + and_item.format(t="sl")
    now = [
        dict(r)
        for r in conn.execute(
            "SELECT sl.item_id, i.sku, i.name_en, i.name_zh, sl.location_id, l.code AS location_code, sl.expiry, sl.qty "
            "FROM stock_lots sl JOIN items i ON i.id = sl.item_id JOIN locations l ON l.id = sl.location_id "
            f"WHERE {where_now} AND sl.qty != 0 ORDER BY i.sku, l.walk_seq",
            args,
        )
    ]
    moves = [
        dict(r)
        for r in conn.execute(
            "SELECT mv.id AS movement_id, mv.kind, mv.item_id, mv.location_id, lm.qty_delta, mv.ref, mv.actor, mv.ts "
            "FROM lot_movements lm JOIN movements mv ON mv.id = lm.movement_id "
            f"WHERE lm.lot = ?{and_item.format(t='lm')} ORDER BY mv.seq",
            args,
        )
    ]
    received = [
        dict(r)
        for r in conn.execute(
            "SELECT rs.item_id, po.number AS po_number, po.id AS po_id, s.code AS supplier_code, r.id AS receipt_id,"
            " SUM(rs.qty) AS qty, MAX(rs.expiry) AS expiry, r.confirmed_at FROM receipt_scans rs"
            " JOIN po_receipts r ON r.id = rs.receipt_id AND r.status = 'confirmed'"
            " JOIN purchase_orders po ON po.id = r.po_id JOIN suppliers s ON s.id = po.supplier_id"
            f" WHERE rs.lot = ? AND rs.outcome = 'accepted'{and_item.format(t='rs')}"
            " GROUP BY rs.item_id, r.id ORDER BY r.confirmed_at",
            args,
        )
    ]
    returned = [
        dict(r)
        for r in conn.execute(
            "SELECT sr.id, sr.item_id, sr.qty, sr.reason, s.code AS supplier_code, sr.movement_id, sr.ts "
            f"FROM supplier_returns sr JOIN suppliers s ON s.id = sr.supplier_id WHERE sr.lot = ?"
            f"{and_item.format(t='sr')} ORDER BY sr.ts",
            args,
        )
    ]
    took = {}
    for m in moves:
        if m["qty_delta"] < 0 and m["kind"] in ("sale", "pick"):
            took.setdefault(m["kind"], []).append({"ref": m["ref"], "qty": -m["qty_delta"], "ts": m["ts"]})
    return {
        "lot": lot,
        "item_id": item_id,
        "on_hand": now,
        "on_hand_total": sum(r["qty"] for r in now),
        "movements": moves,
        "received": received,
        "returned_to_supplier": returned,
        "sold": took.get("sale", []),
        "picked_for_orders": took.get("pick", []),
    }


# ---------------------------------------------------------------- expiry
def check_expiry(
    conn: sqlite3.Connection, *, today: date, setting: dict[str, Any], item_id: str | None = None
) -> dict[str, int]:
    """Raise a ``near_expiry`` alert for each item × lot on hand that expires within its category's warning days
    and an ``expired_stock`` alert for each past its expiry; clear them when the lot is gone. Idempotent (at
    most one open alert per kind and subject), so the nightly timer and each receipt may both call it."""
    args: list[Any] = [item_id] if item_id else []
    rows = conn.execute(
        "SELECT sl.item_id, i.sku, i.name_en, i.name_zh, i.category, sl.lot, MIN(sl.expiry) AS expiry,"
        " SUM(sl.qty) AS qty FROM stock_lots sl JOIN items i ON i.id = sl.item_id WHERE sl.expiry IS NOT NULL"
        f"{' AND sl.item_id = ?' if item_id else ''} GROUP BY sl.item_id, sl.lot",
        args,
    ).fetchall()
    raised = cleared = 0
    live = set()
    for r in rows:
        subject = f"lot:{r['item_id']}:{r['lot']}"
        days_left = (date.fromisoformat(r["expiry"]) - today).days
        warn = rules.near_expiry_days(r["category"], setting)
        kind = None
        if r["qty"] > 0:
            kind = "expired_stock" if days_left < 0 else ("near_expiry" if days_left <= warn else None)
        if kind:
            live.add((kind, subject))
            name = r["name_en"] or r["name_zh"] or r["sku"]
            msg = (
                f"{r['sku']} {name} lot {r['lot']}: {r['qty']} on hand expired on {r['expiry']}"
                if kind == "expired_stock"
                else f"{r['sku']} {name} lot {r['lot']}: {r['qty']} on hand expire on {r['expiry']} ({days_left} days)"
            )
            if alerts.raise_alert(
                conn,
                kind,
                subject,
                msg,
                severity="critical" if kind == "expired_stock" else "warning",
                details={
                    "item_id": r["item_id"],
                    "sku": r["sku"],
                    "lot": r["lot"],
                    "expiry": r["expiry"],
                    "qty": r["qty"],
                    "days_left": days_left,
                },
            ):
                raised += 1
    prefix = f"lot:{item_id}:" if item_id else "lot:"
    for a in conn.execute(
        "SELECT kind, subject FROM alerts WHERE kind IN ('near_expiry','expired_stock') AND "
        "cleared_at IS NULL AND subject LIKE ? ESCAPE '!'",
        (prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%",),
    ).fetchall():
        if (a["kind"], a["subject"]) not in live and alerts.clear(conn, a["kind"], a["subject"]):
            cleared += 1
    return {"raised": raised, "cleared": cleared}

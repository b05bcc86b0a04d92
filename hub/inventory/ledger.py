"""The stock ledger: every stock change is one immutable movement.

A movement has a kind, the item and location, a signed on-hand change and a
signed reserved change, a reason, an actor (user, device or process), the device
it came from, a time and an idempotency key. Posting the same key twice returns
the first movement and changes nothing; posting it with different content is a
conflict. The ``stock`` table (on hand and reserved per item × location) is a
projection updated in the same transaction; ``fold`` recomputes it from the
ledger and must always agree.

Quantities are integers in the item's base unit: pieces for ``each`` items,
grams for ``kg`` items. Negative on-hand is allowed (the shelf is the truth, the
system catches up) and reported by ``negative_stock``, never hidden.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hub import domains
from hub.kernel import outbox
from hub.kernel.errors import Conflict, NotFound, ValidationError
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

# kind -> (on-hand sign, reserved sign); 0 = untouched, None = caller gives a signed delta
MOVEMENT_KINDS: dict[str, tuple[int | None, int]] = {
    "receive": (+1, 0),
    "sale": (-1, 0),
    "return": (+1, 0),
    "adjust": (None, 0),
    "count": (None, 0),
    "transfer_out": (-1, 0),
    "transfer_in": (+1, 0),
    "writeoff": (-1, 0),
    "reserve": (0, +1),
    "release": (0, -1),
    "pick": (-1, -1),  # reserved stock leaves the shelf for an order
}


def _stock_hooks(conn: sqlite3.Connection, movement: dict[str, Any]) -> None:
    """Run every domain's declared stock hooks inside the transaction of a movement that changed stock on hand,
    so every process that posts stock runs them: ``Domain.stock_in`` when stock arrived (qty_delta > 0: receive,
    return, transfer_in, adjust/count up — hub.orders.backorders reserves it for waiting back-orders),
    ``Domain.stock_out`` when it left (sale, pick, writeoff, transfer_out, adjust/count down)."""
    hooks = domains.stock_in_hooks() if movement["qty_delta"] > 0 else domains.stock_out_hooks()
    for hook in hooks:
        hook(conn, dict(movement))


@dataclass(frozen=True)
class MovementRequest:
    kind: str
    item_id: str
    location_id: str
    qty: int
    reason: str
    actor: str
    idempotency_key: str
    device: str | None = None
    ref: str | None = None


def _deltas(kind: str, qty: int) -> tuple[int, int]:
    if kind not in MOVEMENT_KINDS:
        raise ValidationError(
            f"unknown movement kind {kind!r}", code="invalid_movement_kind", details={"allowed": sorted(MOVEMENT_KINDS)}
        )
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise ValidationError("qty must be an integer (pieces, or grams for kg items)", code="invalid_qty")
    on_sign, res_sign = MOVEMENT_KINDS[kind]
    if on_sign is None:
        if kind == "adjust" and qty == 0:
            raise ValidationError("an adjustment of 0 changes nothing", code="invalid_qty")
        return qty, 0
    if qty <= 0:
        raise ValidationError(f"{kind} needs a positive qty", code="invalid_qty")
    return on_sign * qty, res_sign * qty


def _row(r: sqlite3.Row) -> dict[str, Any]:
    return dict(r)


def post(conn: sqlite3.Connection, req: MovementRequest) -> dict[str, Any]:
    """Record one movement inside the caller's write transaction.

    Returns the movement with ``duplicate`` (True when the key was seen before),
    and ``on_hand`` / ``reserved`` after it."""
    if not conn.in_transaction:
        raise RuntimeError("ledger.post outside a write transaction")
    if not req.idempotency_key or len(req.idempotency_key) > 200:
        raise ValidationError("idempotency_key is required (at most 200 characters)", code="invalid_idempotency_key")
    if not req.reason or not req.actor:
        raise ValidationError("a movement needs a reason and an actor", code="invalid_movement")
    qty_delta, reserved_delta = _deltas(req.kind, req.qty)

    existing = conn.execute("SELECT * FROM movements WHERE idempotency_key = ?", (req.idempotency_key,)).fetchone()
    if existing is not None:
        same = (
            existing["kind"],
            existing["item_id"],
            existing["location_id"],
            existing["qty_delta"],
            existing["reserved_delta"],
        ) == (req.kind, req.item_id, req.location_id, qty_delta, reserved_delta)
        if not same:
            raise Conflict(
                "idempotency key already used for a different movement",
                code="idempotency_conflict",
                details={"movement_id": existing["id"]},
            )
        out = _row(existing)
        out.update(_stock_of(conn, req.item_id, req.location_id), duplicate=True)
        return out

    if conn.execute("SELECT 1 FROM items WHERE id = ?", (req.item_id,)).fetchone() is None:
        raise NotFound(f"no item {req.item_id}", code="item_not_found")
    if conn.execute("SELECT 1 FROM locations WHERE id = ?", (req.location_id,)).fetchone() is None:
        raise NotFound(f"no location {req.location_id}", code="location_not_found")

    if reserved_delta > 0:
        s = _stock_of(conn, req.item_id, req.location_id)
        if s["on_hand"] - s["reserved"] < reserved_delta:
            raise Conflict(
                "not enough available stock to reserve",
                code="insufficient_stock",
                details={"available": s["on_hand"] - s["reserved"], "requested": reserved_delta},
            )
    if reserved_delta < 0:
        s = _stock_of(conn, req.item_id, req.location_id)
        if s["reserved"] + reserved_delta < 0:
            raise Conflict(
                "cannot release or pick more than is reserved",
                code="over_release",
                details={"reserved": s["reserved"], "requested": -reserved_delta},
            )

    mid = new_id()
    ts = now_iso()
    cur = conn.execute(
        "INSERT INTO movements(id, idempotency_key, kind, item_id, location_id, qty_delta, reserved_delta, reason, ref, actor, device, ts)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            mid,
            req.idempotency_key,
            req.kind,
            req.item_id,
            req.location_id,
            qty_delta,
            reserved_delta,
            req.reason,
            req.ref,
            req.actor,
            req.device,
            ts,
        ),
    )
    seq = cur.lastrowid
    conn.execute(
        "INSERT INTO stock(item_id, location_id, on_hand, reserved, last_seq) VALUES (?,?,?,?,?) "
        "ON CONFLICT(item_id, location_id) DO UPDATE SET on_hand = on_hand + excluded.on_hand, "
        "reserved = reserved + excluded.reserved, last_seq = excluded.last_seq",
        (req.item_id, req.location_id, qty_delta, reserved_delta, seq),
    )
    movement = {
        "seq": seq,
        "id": mid,
        "idempotency_key": req.idempotency_key,
        "kind": req.kind,
        "item_id": req.item_id,
        "location_id": req.location_id,
        "qty_delta": qty_delta,
        "reserved_delta": reserved_delta,
        "reason": req.reason,
        "ref": req.ref,
        "actor": req.actor,
        "device": req.device,
        "ts": ts,
    }
    outbox.record(conn, "movement", movement, ts=ts)
    if qty_delta != 0:
        _stock_hooks(conn, movement)
    movement.update(_stock_of(conn, req.item_id, req.location_id), duplicate=False)
    return movement


def post_many(conn: sqlite3.Connection, reqs: Iterable[MovementRequest]) -> list[dict[str, Any]]:
    return [post(conn, r) for r in reqs]


def transfer(
    conn: sqlite3.Connection,
    *,
    item_id: str,
    from_location: str,
    to_location: str,
    qty: int,
    reason: str,
    actor: str,
    idempotency_key: str,
    device: str | None = None,
) -> list[dict[str, Any]]:
    if from_location == to_location:
        raise ValidationError("transfer to the same location", code="invalid_transfer")
    ref = "transfer:" + idempotency_key
    return post_many(
        conn,
        [
            MovementRequest(
                "transfer_out", item_id, from_location, qty, reason, actor, idempotency_key + ":out", device, ref
            ),
            MovementRequest(
                "transfer_in", item_id, to_location, qty, reason, actor, idempotency_key + ":in", device, ref
            ),
        ],
    )


def _stock_of(conn: sqlite3.Connection, item_id: str, location_id: str) -> dict[str, int]:
    row = conn.execute(
        "SELECT on_hand, reserved FROM stock WHERE item_id = ? AND location_id = ?", (item_id, location_id)
    ).fetchone()
    on_hand, reserved = (row[0], row[1]) if row else (0, 0)
    return {"on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved, "negative": on_hand < 0}


def stock_of(conn: sqlite3.Connection, item_id: str, location_id: str) -> dict[str, int]:
    return _stock_of(conn, item_id, location_id)


def stock_for_item(conn: sqlite3.Connection, item_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT s.location_id, l.code AS location_code, l.name AS location_name, l.walk_seq, s.on_hand, s.reserved "
        "FROM stock s JOIN locations l ON l.id = s.location_id WHERE s.item_id = ? ORDER BY l.walk_seq, l.code",
        (item_id,),
    ).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["available"] = d["on_hand"] - d["reserved"]
        d["negative"] = d["on_hand"] < 0
        out.append(d)
    return out


def on_hand_total(conn: sqlite3.Connection, item_id: str) -> dict[str, int]:
    row = conn.execute(
        "SELECT COALESCE(SUM(on_hand),0), COALESCE(SUM(reserved),0) FROM stock WHERE item_id = ?", (item_id,)
    ).fetchone()
    return {"on_hand": row[0], "reserved": row[1], "available": row[0] - row[1]}


def movements_for(
    conn: sqlite3.Connection,
    *,
    item_id: str | None = None,
    location_id: str | None = None,
    ref: str | None = None,
    limit: int = 50,
    before_seq: int | None = None,
) -> list[dict[str, Any]]:
    where: list[str] = []
    args: list[Any] = []
    for col, val in (("item_id", item_id), ("location_id", location_id), ("ref", ref)):
        if val is not None:
            where.append(f"{col} = ?")
            args.append(val)
    if before_seq is not None:
        where.append("seq < ?")
        args.append(before_seq)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    rows = conn.execute(f"SELECT * FROM movements{clause} ORDER BY seq DESC LIMIT ?", args + [limit]).fetchall()
    return [_row(r) for r in rows]


def negative_stock(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT s.item_id, i.sku, i.name_en, i.name_zh, s.location_id, l.code AS location_code, s.on_hand "
        "FROM stock s JOIN items i ON i.id = s.item_id JOIN locations l ON l.id = s.location_id "
        "WHERE s.on_hand < 0 ORDER BY s.on_hand"
    ).fetchall()
    return [dict(r) for r in rows]


def fold(conn: sqlite3.Connection) -> dict[tuple[str, str], tuple[int, int]]:
    """Recompute on-hand and reserved from the ledger alone."""
    return {
        (r[0], r[1]): (r[2], r[3])
        for r in conn.execute(
            "SELECT item_id, location_id, SUM(qty_delta), SUM(reserved_delta) FROM movements GROUP BY item_id, location_id"
        )
    }


def projection(conn: sqlite3.Connection) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (r[0], r[1]): (r[2], r[3]) for r in conn.execute("SELECT item_id, location_id, on_hand, reserved FROM stock")
    }


def new_key() -> str:
    return new_id()

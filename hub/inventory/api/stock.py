"""Stock movements over HTTP. Every posted movement needs an idempotency key."""

from __future__ import annotations

from flask import Blueprint, g

from hub.http.context import actor, db, device
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.inventory import ledger, movements
from hub.inventory.ledger import MovementRequest

bp = Blueprint("stock", __name__)

MOVEMENT_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "item_id", "location_id", "qty", "reason", "idempotency_key"],
    "properties": {
        "kind": {"type": "string", "enum": list(movements.MANUAL_KINDS)},
        "item_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "location_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "qty": {"type": "integer", "minimum": -(10**9), "maximum": 10**9},
        "reason": {"type": "string", "minLength": 1, "maxLength": 200},
        "idempotency_key": {"type": "string", "minLength": 8, "maxLength": 200},
    },
    # what hub.inventory.ledger enforces: an adjustment is signed and not 0, every other kind a positive qty
    "if": {"properties": {"kind": {"const": "adjust"}}},
    "then": {"properties": {"qty": {"not": {"const": 0}}}},
    "else": {"properties": {"qty": {"minimum": 1}}},
}


@endpoint(
    bp,
    "POST",
    "/movements",
    summary="Post a stock movement (idempotent by key)",
    role="associate",
    body=MOVEMENT_BODY,
    statuses=[201, 404, 409],
)
def post_movement(body):
    with db().write() as conn:
        m = movements.post_manual(
            conn,
            MovementRequest(
                body["kind"],
                body["item_id"],
                body["location_id"],
                body["qty"],
                body["reason"],
                actor(),
                body["idempotency_key"],
                device(),
            ),
            role=g.user["role"],
        )
    return m, (200 if m["duplicate"] else 201)


@endpoint(
    bp,
    "POST",
    "/transfers",
    summary="Move stock between two locations of this store",
    role="associate",
    statuses=[201, 404, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["item_id", "from_location_id", "to_location_id", "qty", "idempotency_key"],
        "properties": {
            "item_id": {"type": "string", "maxLength": 64},
            "from_location_id": {"type": "string", "maxLength": 64},
            "to_location_id": {"type": "string", "maxLength": 64},
            "qty": {"type": "integer", "minimum": 1, "maximum": 10**9},
            "reason": {"type": "string", "maxLength": 200},
            "idempotency_key": {"type": "string", "minLength": 8, "maxLength": 200},
        },
    },
)
def post_transfer(body):
    with db().write() as conn:
        out = movements.transfer(
            conn,
            item_id=body["item_id"],
            from_location_id=body["from_location_id"],
            to_location_id=body["to_location_id"],
            qty=body["qty"],
            reason=body.get("reason") or "transfer",
            actor=actor(),
            idempotency_key=body["idempotency_key"],
            device=device(),
        )
    return out, (200 if out["duplicate"] else 201)


@endpoint(
    bp,
    "GET",
    "/movements",
    summary="Ledger entries, newest first",
    role="associate",
    query={
        "item_id": {"type": "string", "maxLength": 64},
        "location_id": {"type": "string", "maxLength": 64},
        "ref": {"type": "string", "maxLength": 200},
        "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
        "before_seq": {"type": "integer", "minimum": 1, "maximum": 2**62},
    },
)
def list_movements(query):
    rows = ledger.movements_for(
        db().read(),
        item_id=query.get("item_id"),
        location_id=query.get("location_id"),
        ref=query.get("ref"),
        limit=query["limit"],
        before_seq=query.get("before_seq"),
    )
    return {"items": rows, "next_before_seq": rows[-1]["seq"] if len(rows) == query["limit"] else None}


@endpoint(
    bp,
    "GET",
    "/stock/negative",
    summary="Item × location pairs with negative on-hand",
    role="supervisor",
    query=dict(PAGINATION_QUERY),
)
def negative(query):
    rows = ledger.negative_stock(db().read())
    return page(rows[query["offset"] : query["offset"] + query["limit"]], len(rows), query["limit"], query["offset"])

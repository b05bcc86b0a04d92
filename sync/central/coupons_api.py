"""The read API's coupon routes (``/api/v1/coupons``, issue 14): issue a batch of single-use codes for a promotion,
list batches with their promotion's budget, export a batch as CSV, set a budget cap, and the double redemptions
found at sync — each a schema plus one call of :mod:`sync.central.coupons`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g

from sync.central import coupons
from sync.central.access import READ_API

bp = Blueprint("central_coupons_api", __name__, url_prefix=READ_API.prefix)
_OBJ = {"type": "object"}
_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_CAP = {"type": ["integer", "null"], "minimum": 0, "maximum": 2**53}


def _engine():
    return current_app.extensions["central"].engine


@READ_API.endpoint(
    bp,
    "POST",
    "/coupons/batches",
    role="admin",
    tags=["coupons"],
    statuses=[400, 404],
    body={
        "type": "object",
        "required": ["promotion_id", "n"],
        "additionalProperties": False,
        "properties": {
            "promotion_id": _ID,
            "n": {"type": "integer", "minimum": 1, "maximum": coupons.MAX_BATCH},
            "member_id": {"type": ["string", "null"], "maxLength": 64},
            "offline": {"type": "boolean"},
            "store_id": {"type": ["string", "null"], "maxLength": 64},
        },
    },
    response=_OBJ,
    summary="Issue N single-use codes for a coupon-gated promotion (optionally for one member, usable offline, "
    "or for one store); delivered to the stores by the downlink",
)
def issue_batch(body: dict[str, Any]):
    return coupons.issue(
        _engine(),
        body["promotion_id"],
        body["n"],
        member_id=body.get("member_id") or None,
        offline=bool(body.get("offline")),
        store_id=body.get("store_id") or None,
        actor=str(getattr(g, "actor", "") or "api")[:64],
    )


@READ_API.endpoint(
    bp, "GET", "/coupons/batches", role="viewer", tags=["coupons"], response=_OBJ, summary="Issued coupon batches"
)
def list_batches():
    return {"items": coupons.batches(_engine())}


@READ_API.endpoint(
    bp,
    "GET",
    "/coupons/batches/<batch_id>/codes.csv",
    role="admin",
    tags=["coupons"],
    statuses=[404],
    path={"batch_id": _ID},
    summary="One batch's codes as CSV (code, printed, promotion, member, offline, store) for printing or mailing",
)
def batch_csv(batch_id: str):
    data = coupons.batch_csv(_engine(), batch_id)
    safe = "".join(ch for ch in batch_id if ch.isalnum() or ch in "-_")
    return Response(
        data, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="coupons-{safe}.csv"'}
    )


@READ_API.endpoint(
    bp,
    "PUT",
    "/coupons/budgets/<promotion_id>",
    role="admin",
    tags=["coupons"],
    statuses=[400, 404],
    path={"promotion_id": _ID},
    body={
        "type": "object",
        "required": ["max_redemptions", "max_discount_minor"],
        "additionalProperties": False,
        "properties": {"max_redemptions": _CAP, "max_discount_minor": _CAP},
    },
    response=_OBJ,
    summary="A promotion's coupon budget cap (null: no cap); reservations over it are refused",
)
def put_budget(promotion_id: str, body: dict[str, Any]):
    return coupons.set_budget(
        _engine(),
        promotion_id,
        max_redemptions=body["max_redemptions"],
        max_discount_minor=body["max_discount_minor"],
    )


@READ_API.endpoint(
    bp,
    "GET",
    "/coupons/doubles",
    role="viewer",
    tags=["coupons"],
    response=_OBJ,
    summary="Codes redeemed by more than one sale (stores offline at the same time), found at sync",
)
def doubles():
    return {"items": coupons.double_redemptions(_engine())}

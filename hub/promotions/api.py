"""Promotions routes: a schema plus one domain call in one transaction."""

from __future__ import annotations

import threading

from flask import Blueprint

from hub.http.context import actor, db, device
from hub.http.framework import endpoint
from hub.promotions import labels, model
from hub.promotions.validation import BASKET_SCHEMA

bp = Blueprint("promotions", __name__)


@bp.record_once
def _warm_at_start(state) -> None:
    """A serving worker builds the promotions index in the background as it starts (``model.warm``); test apps
    do not (they build it when they price)."""
    if not state.app.config.get("TESTING"):
        ctx = state.app.extensions["storehub"]
        threading.Thread(target=model.warm, args=(ctx.db,), name="storehub-promotions-warm", daemon=True).start()


_MINOR = {"type": "integer"}
_APPLIED = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["promotion", "discount_minor"],
        "properties": {"promotion": {"type": "string"}, "discount_minor": _MINOR, "times": _MINOR},
    },
}
PRICE = {
    "type": "object",
    "required": ["subtotal_minor", "discount_minor", "total_minor", "tax", "lines", "applied", "rejected_coupons"],
    "properties": {
        "subtotal_minor": _MINOR,
        "discount_minor": _MINOR,
        "total_minor": _MINOR,
        "tax": {
            "type": "array",
            "items": {"type": "object", "properties": {"rate": {"type": "string"}, "tax_minor": _MINOR}},
        },
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string"},
                    "qty": _MINOR,
                    "grams": _MINOR,
                    "gross_minor": _MINOR,
                    "discount_minor": _MINOR,
                    "net_minor": _MINOR,
                    "tax_minor": _MINOR,
                    "applied": _APPLIED,
                },
            },
        },
        "applied": _APPLIED,
        "rejected_coupons": {
            "type": "array",
            "items": {"type": "object", "properties": {"code": {"type": "string"}, "reason": {"type": "string"}}},
        },
    },
}
ACTIVE = {
    "type": "object",
    "required": ["date", "timezone", "items", "skipped"],
    "properties": {
        "date": {"type": "string"},
        "timezone": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object", "required": ["id", "name", "type"]}},
        "skipped": {"type": "array"},
    },
}


@endpoint(
    bp,
    "GET",
    "/promotions/active",
    summary="Today's promotions (store-local day), names in en and zh-CN",
    role="associate",
    query={"at": {"type": "string", "maxLength": 40}},
    response=ACTIVE,
)
def active(query):
    return model.active(db().read(), query.get("at"))


@endpoint(
    bp,
    "POST",
    "/promotions/price",
    summary="Price a basket with the promotions in force, every fen explained",
    role="associate",
    body={k: v for k, v in BASKET_SCHEMA.items() if k != "$schema"},
    response=PRICE,
)
def price(body):
    return model.price_basket(db().read(), body)


LABELS = {
    "type": "object",
    "required": ["promotion", "device_id", "jobs", "skipped"],
    "properties": {
        "promotion": {"type": "string"},
        "version": {"type": ["integer", "null"]},
        "device_id": {"type": "string"},
        "jobs": {"type": "array", "items": {"type": "object", "required": ["request_id", "sku"]}},
        "skipped": {"type": "array", "items": {"type": "object", "required": ["sku", "reason"]}},
    },
}


@endpoint(
    bp,
    "POST",
    "/promotions/<promotion_id>/labels",
    summary="Print the promotion's shelf labels again (one per SKU in its scope) on the store's printer",
    role="associate",
    statuses=[200, 404, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {"printer": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"}},
    },
    response=LABELS,
)
def print_labels(promotion_id, body):
    with db().write() as conn:
        return labels.print_promotion(conn, promotion_id, actor=actor(), device=device(), printer=body.get("printer"))

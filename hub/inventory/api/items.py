"""Catalog routes: items, lookup by anything scannable, stock per location."""

from __future__ import annotations

from flask import Blueprint

from hub.http.context import actor, db, device
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.inventory import catalog, views

bp = Blueprint("items", __name__)

_MINOR = {"type": "integer", "minimum": 0, "maximum": 10**12}
ITEM_PROPS = {
    "sku": {"type": "string", "minLength": 1, "maxLength": 64},
    "name_en": {"type": "string", "maxLength": 200},
    "name_zh": {"type": "string", "maxLength": 200},
    "brand": {"type": "string", "maxLength": 200},
    "category": {"type": "string", "maxLength": 200},
    "unit": {"type": "string", "enum": list(catalog.UNITS)},
    "price_minor": _MINOR,
    "cost_minor": _MINOR,
    "variable_measure": {"type": "boolean"},
    "plu": {"type": ["string", "null"], "pattern": "^[0-9]{1,6}$"},
    "safety_stock": {"type": "integer", "minimum": 0, "maximum": 10**9},
    "reorder_point": {"type": "integer", "minimum": 0, "maximum": 10**9},
    "unit_weight_g": {"type": ["integer", "null"], "minimum": 1, "maximum": 10**7},
    "active": {"type": "boolean"},
    "gtins": {"type": "array", "maxItems": 20, "items": {"type": "string", "pattern": "^[0-9]{8,14}$"}},
}
ITEM_SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}, **ITEM_PROPS}}


@endpoint(
    bp,
    "GET",
    "/items",
    summary="Search items by SKU, name, brand or GTIN (each with its stock totals)",
    role="associate",
    query={
        "q": {"type": "string", "maxLength": 100},
        "category": {"type": "string", "maxLength": 200},
        **PAGINATION_QUERY,
    },
)
def list_items(query):
    conn = db().read()
    items, total = catalog.search(
        conn, query.get("q") or "", category=query.get("category"), limit=query["limit"], offset=query["offset"]
    )
    return page(views.with_totals(conn, items), total, query["limit"], query["offset"])


@endpoint(
    bp,
    "POST",
    "/items",
    summary="Create an item",
    role="manager",
    statuses=[201, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["sku", "price_minor"],
        "properties": ITEM_PROPS,
    },
    response=ITEM_SCHEMA,
)
def create_item(body):
    with db().write() as conn:
        return catalog.create_item(conn, body, actor=actor(), device=device()), 201


@endpoint(
    bp,
    "GET",
    "/items/<item_id>",
    summary="One item with stock per location and last movements",
    role="associate",
    response=ITEM_SCHEMA,
)
def get_item(item_id):
    return views.item_detail(db().read(), item_id)


@endpoint(
    bp,
    "PATCH",
    "/items/<item_id>",
    summary="Change an item",
    role="manager",
    statuses=[409],
    body={"type": "object", "additionalProperties": False, "minProperties": 1, "properties": ITEM_PROPS},
    response=ITEM_SCHEMA,
)
def patch_item(item_id, body):
    with db().write() as conn:
        return catalog.update_item(conn, item_id, body, actor=actor(), device=device())


@endpoint(bp, "GET", "/categories", summary="Item categories", role="associate")
def list_categories():
    return {"items": catalog.categories(db().read())}

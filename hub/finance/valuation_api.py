"""Finance valuation and VAT routes (issue 18): a schema plus one domain call in one transaction."""

from __future__ import annotations

from flask import Blueprint

from hub.finance import tax, valuation
from hub.http.context import actor, db
from hub.http.framework import endpoint

bp = Blueprint("finance_valuation", __name__)

P = "/finance"
_DAY = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_CODE = {"type": "string", "minLength": 1, "maxLength": 32, "pattern": "^[A-Za-z0-9_.-]+$"}
_RATE = {"type": "string", "pattern": r"^0(\.[0-9]{1,4})?$"}


@endpoint(
    bp,
    "GET",
    P + "/stock-value",
    summary="Stock value at a date (end of that local day) or instant, from the ledger and the cost history",
    role="supervisor",
    statuses=[400],
    query={
        "at": {"type": "string", "minLength": 10, "maxLength": 40, "required": True},
        "by": {"type": "string", "enum": ["total", "category", "item"]},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
)
def stock_value(query):
    return valuation.stock_value(
        db().read(), query["at"], by=query.get("by") or "total", limit=query.get("limit") or 100
    )


@endpoint(
    bp,
    "GET",
    P + "/margin",
    summary="Gross margin (net sales ex VAT − COGS at the cost of the moment) per item, category or the store",
    role="supervisor",
    statuses=[400],
    query={
        "from": {**_DAY, "required": True},
        "to": {**_DAY, "required": True},
        "by": {"type": "string", "enum": ["item", "category", "store"]},
    },
)
def margin(query):
    return valuation.margin(db().read(), query["from"], query["to"], by=query.get("by") or "item")


@endpoint(bp, "GET", P + "/tax/categories", summary="VAT categories and their rates with validity", role="associate")
def tax_categories():
    return {"items": tax.categories(db().read())}


@endpoint(
    bp,
    "PUT",
    P + "/tax/categories/<code>",
    summary="Create or rename a VAT category",
    role="manager",
    statuses=[400],
    path={"code": _CODE},
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {"name_en": {"type": "string", "maxLength": 80}, "name_zh": {"type": "string", "maxLength": 80}},
    },
)
def put_category(code, body):
    with db().write() as conn:
        return tax.put_category(
            conn, code, name_en=body.get("name_en", ""), name_zh=body.get("name_zh", ""), actor=actor()
        )


@endpoint(
    bp,
    "POST",
    P + "/tax/categories/<code>/rates",
    summary="Add a VAT rate valid from a day (to a day, both included); overlapping periods are refused",
    role="manager",
    statuses=[201, 400, 404],
    path={"code": _CODE},
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["rate", "valid_from"],
        "properties": {
            "rate": _RATE,
            "valid_from": _DAY,
            "valid_to": {"type": ["string", "null"], **{k: v for k, v in _DAY.items() if k != "type"}},
        },
    },
)
def add_rate(code, body):
    with db().write() as conn:
        return tax.add_rate(conn, code, body["rate"], body["valid_from"], body.get("valid_to"), actor=actor()), 201


@endpoint(
    bp,
    "POST",
    P + "/tax/categories/<code>/end",
    summary="End a VAT category's open-ended rate on a day (included)",
    role="manager",
    statuses=[400, 404],
    path={"code": _CODE},
    body={"type": "object", "additionalProperties": False, "required": ["last_day"], "properties": {"last_day": _DAY}},
)
def end_rate(code, body):
    with db().write() as conn:
        return tax.end_rate(conn, code, body["last_day"], actor=actor())


@endpoint(
    bp,
    "PUT",
    P + "/tax/items/<item_id>",
    summary="Give an item a VAT category (null: its catalog category's, else the setting's)",
    role="manager",
    statuses=[404],
    path={"item_id": {"type": "string", "minLength": 1, "maxLength": 64}},
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["category"],
        "properties": {"category": {"type": ["string", "null"], "minLength": 1, "maxLength": 32}},
    },
)
def assign_item(item_id, body):
    with db().write() as conn:
        return tax.assign_item(conn, item_id, body["category"], actor=actor())


@endpoint(
    bp,
    "PUT",
    P + "/tax/catalog-categories/<path:catalog_category>",
    summary="Map a catalog category to a VAT category (null: remove the mapping)",
    role="manager",
    statuses=[404],
    path={"catalog_category": {"type": "string", "minLength": 1, "maxLength": 200}},
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["category"],
        "properties": {"category": {"type": ["string", "null"], "minLength": 1, "maxLength": 32}},
    },
)
def assign_catalog_category(catalog_category, body):
    with db().write() as conn:
        return tax.assign_catalog_category(conn, catalog_category, body["category"], actor=actor())


@endpoint(
    bp,
    "GET",
    P + "/tax/items/<item_id>/rate",
    summary="The VAT rate in force for an item now, or at a time",
    role="associate",
    statuses=[400, 404],
    path={"item_id": {"type": "string", "minLength": 1, "maxLength": 64}},
    query={"at": {"type": "string", "minLength": 10, "maxLength": 40}},
)
def item_rate(item_id, query):
    conn = db().read()
    at = valuation.instant(conn, query["at"], end_of_day=False) if query.get("at") else None
    return {"item_id": item_id, "at": at, "rate": tax.rate_for(conn, item_id, at)}

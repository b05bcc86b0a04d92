from __future__ import annotations

from flask import Blueprint

from hub.http.context import actor, db, device
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.inventory import locations, views

bp = Blueprint("locations", __name__)


@endpoint(
    bp,
    "GET",
    "/locations",
    summary="Locations in walk order (paged: follow next_offset)",
    role="associate",
    query=dict(PAGINATION_QUERY),
)
def list_locations(query):
    items = locations.list_all(db().read())
    return page(items[query["offset"] : query["offset"] + query["limit"]], len(items), query["limit"], query["offset"])


@endpoint(
    bp,
    "POST",
    "/locations",
    summary="Create a location",
    role="manager",
    statuses=[201, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["code", "name", "kind"],
        "properties": {
            "code": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "kind": {"type": "string", "enum": list(locations.KINDS)},
            "parent_id": {"type": ["string", "null"], "maxLength": 64},
            "walk_seq": {"type": "integer", "minimum": 0, "maximum": 10**9},
        },
        # only the store location has no parent (hub.inventory.locations)
        "if": {"properties": {"kind": {"const": "store"}}},
        "else": {"required": ["parent_id"], "properties": {"parent_id": {"type": "string", "minLength": 1}}},
    },
)
def create_location(body):
    with db().write() as conn:
        return locations.create(conn, actor=actor(), device=device(), **body), 201


@endpoint(bp, "GET", "/locations/<location_id>", summary="A location, its path and its stock", role="associate")
def get_location(location_id):
    return views.location_detail(db().read(), location_id)

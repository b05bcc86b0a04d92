from __future__ import annotations

from flask import Blueprint

from hub.inventory import ledger, locations
from hub.http.context import actor, db, device
from hub.http.framework import PAGINATION_QUERY, endpoint, page

bp = Blueprint("locations", __name__)


@endpoint(bp, "GET", "/locations", summary="Locations in walk order (paged: follow next_offset)", role="associate",
          query=dict(PAGINATION_QUERY))
def list_locations(query):
    items = locations.list_all(db().read())
    return page(items[query["offset"]:query["offset"] + query["limit"]], len(items), query["limit"], query["offset"])


@endpoint(bp, "POST", "/locations", summary="Create a location", role="manager", statuses=[201, 409],
          body={"type": "object", "additionalProperties": False, "required": ["code", "name", "kind"],
                "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 32},
                               "name": {"type": "string", "minLength": 1, "maxLength": 200},
                               "kind": {"type": "string", "enum": list(locations.KINDS)},
                               "parent_id": {"type": ["string", "null"], "maxLength": 64},
                               "walk_seq": {"type": "integer", "minimum": 0, "maximum": 10**9}}})
def create_location(body):
    with db().write() as conn:
        return locations.create(conn, actor=actor(), device=device(), **body), 201


@endpoint(bp, "GET", "/locations/<location_id>", summary="A location, its path and its stock", role="associate")
def get_location(location_id):
    conn = db().read()
    loc = locations.get(conn, location_id)
    loc["path"] = [{"id": p["id"], "code": p["code"], "name": p["name"], "kind": p["kind"]} for p in locations.path(conn, location_id)]
    loc["stock"] = [dict(r) for r in conn.execute(
        "SELECT s.item_id, i.sku, i.name_en, i.name_zh, s.on_hand, s.reserved FROM stock s JOIN items i ON i.id = s.item_id"
        " WHERE s.location_id = ? AND (s.on_hand != 0 OR s.reserved != 0) ORDER BY i.sku LIMIT 500", (location_id,))]
    return loc

"""Finance routes: a schema plus one domain call in one transaction."""

from __future__ import annotations

from flask import Blueprint

from hub.http.context import actor, db, device
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.finance import model

bp = Blueprint("finance", __name__)

RECORD = {"type": "object", "required": ["id", "title", "created_by", "created_at"],
          "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "created_by": {"type": "string"},
                         "device": {"type": ["string", "null"]}, "created_at": {"type": "string"}}}


@endpoint(bp, "GET", "/finance/records", summary="Finance: records, newest first", role="associate",
          query=dict(PAGINATION_QUERY))
def list_records(query):
    rows, total = model.list_records(db().read(), limit=query["limit"], offset=query["offset"])
    return page(rows, total, query["limit"], query["offset"])


@endpoint(bp, "POST", "/finance/records", summary="Finance: create a record", role="associate", statuses=[201, 409],
          body={"type": "object", "additionalProperties": False, "required": ["title"],
                "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 500}}},
          response=RECORD)
def create_record(body):
    with db().write() as conn:
        return model.create_record(conn, title=body["title"], actor=actor(), device=device()), 201

"""Users, audit log and store settings (managers and admins)."""

from __future__ import annotations

from flask import Blueprint

from hub.auth import users
from hub.http.context import actor, db, device, hub
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.kernel import audit, settings

bp = Blueprint("admin", __name__)


@endpoint(bp, "GET", "/users", summary="Staff accounts", role="manager", query=dict(PAGINATION_QUERY))
def list_users(query):
    items = users.list_all(db().read())
    return page(items[query["offset"] : query["offset"] + query["limit"]], len(items), query["limit"], query["offset"])


@endpoint(
    bp,
    "POST",
    "/users",
    summary="Add a staff account",
    role="admin",
    statuses=[201, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["username", "role"],
        "properties": {
            "username": {"type": "string", "minLength": 1, "maxLength": 64},
            "display_name": {"type": "string", "maxLength": 100},
            "role": {"type": "string", "enum": list(users.ROLES)},
            "language": {"type": "string", "enum": list(users.LANGUAGES)},
            "pin": {"type": "string", "pattern": "^[0-9]{4,8}$"},
            "password": {"type": "string", "minLength": 10, "maxLength": 200},
            "badge": {"type": "string", "minLength": 4, "maxLength": 128},
        },
    },
)
def add_user(body):
    with db().write() as conn:
        return users.create(conn, secret_key=hub().secret_key, actor=actor(), device=device(), **body), 201


@endpoint(
    bp,
    "GET",
    "/audit",
    summary="Audit log, newest first",
    role="manager",
    query={"actor": {"type": "string", "maxLength": 64}, **PAGINATION_QUERY},
)
def list_audit(query):
    rows = audit.entries(db().read(), limit=query["limit"], offset=query["offset"], actor=query.get("actor"))
    return page(rows, None, query["limit"], query["offset"])


@endpoint(bp, "GET", "/settings", summary="Store settings", role="associate")
def get_settings():
    return settings.get_all(db().read())


@endpoint(
    bp,
    "GET",
    "/settings/schema",
    summary="Every store setting: default, JSON Schema, title, description",
    role="associate",
)
def get_settings_schema():
    return settings.schema_document()

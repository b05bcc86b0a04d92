"""Sync status and the store's local overrides of centrally authored values."""

from __future__ import annotations

from flask import Blueprint

from hub.http.context import actor, db, device
from hub.http.framework import endpoint
from hub.synclink import downlink

bp = Blueprint("sync", __name__)

_ENTITY = {"type": "string", "enum": ["item", "setting"]}


@endpoint(bp, "GET", "/sync/status", summary="Uplink cursor, pending outbox rows, downlink version", role="supervisor")
def get_status():
    return downlink.status(db().read())


@endpoint(
    bp,
    "GET",
    "/sync/overrides",
    summary="Local overrides of central values and the policy allowing them",
    role="supervisor",
)
def list_overrides():
    conn = db().read()
    return {"items": downlink.list_overrides(conn), "policy": downlink.policy(conn)}


@endpoint(
    bp,
    "PUT",
    "/sync/overrides/<entity>/<key>/<field>",
    summary="Override a central value locally",
    role="manager",
    statuses=[403, 404],
    body={"type": "object", "required": ["value"], "properties": {"value": {}}},
)
def put_override(entity, key, field, body):
    with db().write() as conn:
        return downlink.set_override(conn, entity, key, field, body["value"], actor=actor(), device=device())


@endpoint(
    bp,
    "DELETE",
    "/sync/overrides/<entity>/<key>/<field>",
    summary="Remove an override (central value returns)",
    role="manager",
    statuses=[404],
)
def delete_override(entity, key, field):
    with db().write() as conn:
        downlink.remove_override(conn, entity, key, field, actor=actor())
    return {"removed": True}

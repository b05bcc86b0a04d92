from __future__ import annotations

from flask import Blueprint

from hub import API_VERSION, __version__
from hub.http.context import db, hub
from hub.http.framework import endpoint
from hub.kernel import heartbeat, settings
from hub.kernel.db import current_version

bp = Blueprint("health", __name__)


_BUS = {
    "type": "object",
    "required": ["status", "last_seen"],
    "description": "the device bus process: up while its heartbeat is fresh, down when stale or stopped (or "
    "expected and never seen), not_configured when this hub runs no bus",
    "properties": {
        "status": {"type": "string", "enum": ["up", "down", "not_configured"]},
        "last_seen": {"type": ["string", "null"]},
        "broker_connected": {"type": "boolean"},
    },
}


@endpoint(
    bp,
    "GET",
    "/health",
    summary="Liveness and basic facts about this hub, and whether its bus runs",
    public=True,
    tags=["meta"],
    response={
        "type": "object",
        "required": ["status", "bus"],
        "properties": {"status": {"type": "string"}, "bus": _BUS},
    },
)
def health():
    conn = db().read()
    conn.execute("SELECT 1").fetchone()
    return {
        "status": "ok",
        "version": __version__,
        "api_version": API_VERSION,
        "schema_version": current_version(conn),
        "store_id": settings.get(conn, "store_id"),
        "bus": heartbeat.status(conn, heartbeat.BUS, expected=bool(hub().config.mqtt_url)),
    }

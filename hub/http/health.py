from __future__ import annotations

from flask import Blueprint

from hub import API_VERSION, __version__
from hub.kernel import settings
from hub.kernel.db import current_version
from hub.http.context import db
from hub.http.framework import endpoint

bp = Blueprint("health", __name__)


@endpoint(bp, "GET", "/health", summary="Liveness and basic facts about this hub", public=True, tags=["meta"],
          response={"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}})
def health():
    conn = db().read()
    conn.execute("SELECT 1").fetchone()
    return {"status": "ok", "version": __version__, "api_version": API_VERSION,
            "schema_version": current_version(conn), "store_id": settings.get(conn, "store_id")}

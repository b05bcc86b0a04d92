from __future__ import annotations

from flask import Blueprint

from .. import API_VERSION, __version__, settings
from ..db import current_version
from .context import db
from .framework import endpoint

bp = Blueprint("health", __name__)


@endpoint(bp, "GET", "/health", summary="Liveness and basic facts about this hub", public=True, tags=["meta"],
          response={"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}})
def health():
    conn = db().read()
    conn.execute("SELECT 1").fetchone()
    return {"status": "ok", "version": __version__, "api_version": API_VERSION,
            "schema_version": current_version(conn), "store_id": settings.get(conn, "store_id")}

"""Store-facing routes: uplink batches and the downlink, authenticated per store."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from sync.protocol import STORE_HEADER, ProtocolError, decode, validate_batch
from sync.central import downlink, ingest, projections, stores

bp = Blueprint("central_sync", __name__, url_prefix="/sync/v1")


def _err(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


def _engine():
    return current_app.extensions["central"].engine


@bp.before_request
def _authenticate():
    store_id = (request.view_args or {}).get("store_id")
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or request.headers.get(STORE_HEADER) != store_id:
        return _err(401, "unauthorized", "store credential required")
    if not stores.authenticate(_engine(), store_id, auth[7:].strip()):
        current_app.logger.warning("sync: rejected credential for store %s from %s", store_id, request.remote_addr)
        return _err(401, "unauthorized", "unknown store or wrong credential")
    g.store_id = store_id


@bp.post("/stores/<store_id>/events")
def push_events(store_id):
    try:
        batch = validate_batch(decode(request.get_data(), request.headers.get("Content-Encoding")), store_id)
        ctx = current_app.extensions["central"]
        tz = batch.get("timezone")
        ack = ingest.apply_batch(ctx.engine, store_id, batch, bounds=ctx.config.event_bounds(),
                                 timezone_name=tz if projections.is_zone(tz) else None)
        for r in ack["rejected"]:
            current_app.logger.warning("sync: store %s event seq %s refused: %s", store_id, r["seq"], r["message"])
    except ProtocolError as exc:
        current_app.logger.warning("sync: bad batch from %s: %s", store_id, exc)
        return _err(409 if exc.code == "seq_reused" else 400, exc.code, str(exc))
    except ingest.UnknownStore:
        return _err(401, "unauthorized", "store is not active")
    return jsonify(ack)


@bp.get("/stores/<store_id>/downlink")
def pull_downlink(store_id):
    try:
        after = int(request.args.get("after", "0"))
        limit = min(max(int(request.args.get("limit", "500")), 1), 2000)
    except ValueError:
        return _err(400, "bad_query", "after and limit are integers")
    return jsonify(downlink.changes_for(_engine(), store_id, after, limit))


@bp.post("/stores/<store_id>/downlink/applied")
def report_downlink(store_id):
    try:
        doc = decode(request.get_data(), request.headers.get("Content-Encoding"))
    except ProtocolError as exc:
        return _err(400, exc.code, str(exc))
    v = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        return _err(400, "bad_version", "version must be a non-negative integer")
    downlink.report_applied(_engine(), store_id, v)
    return jsonify({"version": v})

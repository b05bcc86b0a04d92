"""Store-facing routes (the sync API): uplink batches and the downlink, authenticated per store.

Declared with the hub's endpoint framework under :data:`sync.central.access.SYNC_API`: the store credential of
``sync.protocol`` is the API's authentication, request bodies are read as the protocol sends them (gzip or plain
JSON, whatever the Content-Type) and then checked against the declared schema; errors are the usual
``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from hub.http.openapi import serve_document
from hub.kernel.errors import Conflict, Unauthorized, ValidationError
from sync.central import coupons, downlink, ingest, personal, projections, transfers
from sync.central.access import SYNC_API
from sync.protocol import MAX_BATCH_EVENTS, MAX_BODY_BYTES, ProtocolError, decode, validate_batch

bp = Blueprint("central_sync", __name__, url_prefix=SYNC_API.prefix)

MAX_INT = 2**63 - 1  # seqs, versions and limits are 64-bit integers in both databases

BATCH = {
    "type": "object",
    "required": ["store_id", "after", "through", "events"],
    "properties": {
        "store_id": {"type": "string"},
        "after": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
        "through": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
        # Each event is {seq, id, kind, ts, payload}; sync.protocol.validate_batch checks them one by one (with the
        # protocol's error codes) — a JSON Schema check of every item costs more than storing the batch.
        "events": {
            "type": "array",
            "maxItems": MAX_BATCH_EVENTS,
            "description": "outbox rows {seq, id, kind, ts, payload}, each with after < seq <= through",
        },
        "downlink_version": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_INT},
        "timezone": {"type": ["string", "null"], "minLength": 1, "maxLength": 64},
    },
}
ACK = {
    "type": "object",
    "required": ["acked_through", "applied", "duplicates", "rejected"],
    "properties": {
        "acked_through": {"type": "integer"},
        "applied": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "rejected": {"type": "array", "items": {"type": "object"}},
    },
}
CHANGES = {
    "type": "object",
    "required": ["changes"],
    "properties": {
        "changes": {"type": "array", "items": {"type": "object"}},
        "latest": {"type": "integer"},
        "through": {"type": "integer"},
        "pii_public_key": {
            "type": "string",
            "description": "the central's personal-data public key: the hub seals personal fields of its facts to it",
        },
    },
}


def _engine():
    return current_app.extensions["central"].engine


def wire_body() -> Any:
    """The request's document as ``sync.protocol`` sends it (gzip when ``Content-Encoding: gzip``)."""
    try:
        return decode(request.get_data(), request.headers.get("Content-Encoding"))
    except ProtocolError as exc:
        raise ValidationError(str(exc), code=exc.code) from exc


@bp.after_request
def _log_refusals(resp):
    if resp.status_code in (400, 409) and resp.is_json:
        err = (resp.get_json(silent=True) or {}).get("error") or {}
        current_app.logger.warning(
            "sync: %s %s refused: %s: %s", request.method, request.path, err.get("code"), err.get("message")
        )
    return resp


# raw_text: an event the central cannot store is refused on its own by ingest (rejected_events); refusing the
# whole batch would stop the store's sync for good. max_body: a full batch (sync.protocol.MAX_BODY_BYTES
# decompressed) may come as plain JSON.
@SYNC_API.endpoint(
    bp,
    "POST",
    "/stores/<store_id>/events",
    role="store",
    body=BATCH,
    read_body=wire_body,
    response=ACK,
    statuses=[409],
    tags=["uplink"],
    raw_text=True,
    max_body=MAX_BODY_BYTES,
    summary="Push a batch of outbox events (all of the hub's rows with after < seq <= through)",
    description="The body is gzip-compressed JSON (Content-Encoding: gzip) or plain JSON. 409 "
    "seq_reused: a seq already stored carries a different event.",
)
def push_events(store_id: str, body: dict[str, Any]):
    try:
        batch = validate_batch(body, store_id)
    except ProtocolError as exc:
        raise ValidationError(str(exc), code=exc.code) from exc
    ctx = current_app.extensions["central"]
    tz = batch.get("timezone")
    try:
        ack = ingest.apply_batch(
            ctx.engine,
            store_id,
            batch,
            bounds=ctx.config.event_bounds(),
            timezone_name=tz if projections.is_zone(tz) else None,
        )
    except ingest.SeqReused as exc:
        raise Conflict(str(exc), code=exc.code) from exc
    except ProtocolError as exc:
        raise ValidationError(str(exc), code=exc.code) from exc
    except ingest.UnknownStore as exc:
        raise Unauthorized("store is not active") from exc
    for r in ack["rejected"]:
        current_app.logger.warning("sync: store %s event seq %s refused: %s", store_id, r["seq"], r["message"])
    return ack


@SYNC_API.endpoint(
    bp,
    "GET",
    "/stores/<store_id>/downlink",
    role="store",
    response=CHANGES,
    tags=["downlink"],
    summary="Centrally authored changes after a version, as this store sees them",
    query={
        "after": {"type": "integer", "minimum": 0, "maximum": MAX_INT, "default": 0},
        "limit": {
            "type": "integer",
            "minimum": -MAX_INT,
            "maximum": MAX_INT,
            "default": 500,
            "description": "at most this many changes (1 to 2000; outside, the nearest)",
        },
    },
)
def pull_downlink(store_id: str, query: dict[str, Any]):
    limit = min(max(query["limit"], 1), 2000)
    transfers.relay(_engine(), store_id)  # shipments to this store not relayed yet (idempotent, crash-safe)
    page = downlink.changes_for(_engine(), store_id, query["after"], limit)
    key_dir = personal.key_dir_of(_engine())
    return {**page, "pii_public_key": personal.public_key(key_dir)} if key_dir else page


@SYNC_API.endpoint(
    bp,
    "POST",
    "/stores/<store_id>/downlink/applied",
    role="store",
    read_body=wire_body,
    body={
        "type": "object",
        "required": ["version"],
        "additionalProperties": False,
        "properties": {"version": {"type": "integer", "minimum": 0, "maximum": MAX_INT}},
    },
    response={"type": "object", "properties": {"version": {"type": "integer"}}},
    tags=["downlink"],
    summary="Report the downlink version this store has applied",
)
def report_downlink(store_id: str, body: dict[str, Any]):
    v = int(body["version"])
    downlink.report_applied(_engine(), store_id, v)
    return {"version": v}


serve_document(SYNC_API, bp)


@SYNC_API.endpoint(
    bp,
    "POST",
    "/stores/<store_id>/coupons/reserve",
    role="store",
    read_body=wire_body,
    body={
        "type": "object",
        "required": ["code", "sale_id", "discount_minor"],
        "additionalProperties": False,
        "properties": {
            "code": {
                "type": "string",
                "pattern": "^[2-9A-HJ-NP-TV-Z]{14}$",
                "description": "13 characters and the ISO 7064 MOD 31-2 check character (docs/coupons.md)",
            },
            "sale_id": {"type": "string", "minLength": 1, "maxLength": 64},
            "discount_minor": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
            "member_id": {"type": ["string", "null"], "maxLength": 64},
        },
    },
    response={
        "type": "object",
        "required": ["status", "code"],
        "properties": {"status": {"enum": ["reserved", "refused"]}, "reason": {"type": "string"}},
    },
    tags=["coupons"],
    summary="Reserve a single-use coupon for a sale at tender (exactly once across stores; idempotent by sale)",
    description="200 with status reserved or refused (reason unknown, used, member, budget_redemptions, "
    "budget_discount); 400 coupon_malformed for a code whose check character is wrong.",
)
def reserve_coupon(store_id: str, body: dict[str, Any]):
    return coupons.reserve(
        _engine(),
        store_id,
        body["code"],
        body["sale_id"],
        discount_minor=body["discount_minor"],
        member_id=body.get("member_id"),
    )


@SYNC_API.endpoint(
    bp,
    "POST",
    "/stores/<store_id>/coupons/release",
    role="store",
    read_body=wire_body,
    body={
        "type": "object",
        "required": ["code", "sale_id"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "pattern": "^[2-9A-HJ-NP-TV-Z]{14}$"},
            "sale_id": {"type": "string", "minLength": 1, "maxLength": 64},
        },
    },
    response={"type": "object", "required": ["released", "code"], "properties": {"released": {"type": "boolean"}}},
    tags=["coupons"],
    summary="Give back a reservation this store's cart no longer uses (voided cart, code taken out)",
)
def release_coupon(store_id: str, body: dict[str, Any]):
    return coupons.release(_engine(), store_id, body["code"], body["sale_id"])

"""Scan routes: what a scanned code means here, and reports of codes nobody knows."""

from __future__ import annotations

import logging

from flask import Blueprint

from hub.http.context import actor, db, device
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.identify import resolve as scan
from hub.kernel import settings
from hub.kernel.errors import StoreHubError

bp = Blueprint("scan", __name__)
# Scans that do not resolve go to the server log (the read path stays write-free); staff file the
# ones that matter with POST /unknown-codes.
log = logging.getLogger("storehub.scan")

_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}
PARSED_SCHEMA = {
    "type": "object",
    "properties": {
        "gtin": _NULLABLE_STR,
        "symbology": _NULLABLE_STR,
        "lot": _NULLABLE_STR,
        "serial": _NULLABLE_STR,
        "expiry": _NULLABLE_STR,
        "best_before": _NULLABLE_STR,
        "weight_g": _NULLABLE_INT,
        "price_minor": _NULLABLE_INT,
        "currency": _NULLABLE_STR,
        "count": _NULLABLE_INT,
        "variable_measure": {"type": "boolean"},
        "base_gtin": _NULLABLE_STR,
        "kind": {"type": "string"},
        "own_code": _NULLABLE_STR,
    },
}
RESOLVE_SCHEMA = {
    "type": "object",
    "required": ["kind", "code", "parsed", "item", "location", "order_ref", "qty", "weight_g"],
    "properties": {
        "kind": {"type": "string", "enum": ["item", "location", "badge", "order", "member"]},
        "code": {"type": "string"},
        "parsed": PARSED_SCHEMA,
        "item": {"type": ["object", "null"]},
        "location": {"type": ["object", "null"]},
        "order_ref": _NULLABLE_STR,
        "qty": _NULLABLE_INT,
        "weight_g": _NULLABLE_INT,
        "member": {"type": "object"},
    },
}
REPORT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "code": {"type": "string"},
        "kind": _NULLABLE_STR,
        "gtin": _NULLABLE_STR,
        "parse_error": _NULLABLE_STR,
        "note": {"type": "string"},
        "location_id": _NULLABLE_STR,
        "reported_by": {"type": "string"},
        "device": _NULLABLE_STR,
        "ts": {"type": "string"},
    },
}


@endpoint(
    bp,
    "GET",
    "/scan/resolve",
    summary="What a scanned code means in this store (item, location, badge, order)",
    role="associate",
    query={"code": {"type": "string", "maxLength": 2000, "required": True}},
    response=RESOLVE_SCHEMA,
    statuses=[404, 409],
)
def resolve(query):
    conn = db().read()
    try:
        return scan.resolve(conn, query["code"], settings=settings.get_all(conn)).to_dict()
    except StoreHubError as exc:
        log.log(
            logging.INFO if exc.status == 404 else logging.WARNING,
            "scan not resolved: %s %s code=%r device=%s actor=%s",
            exc.status,
            exc.code,
            query["code"][:80],
            device(),
            actor(),
        )
        raise


@endpoint(
    bp,
    "POST",
    "/unknown-codes",
    summary="Report a scanned code the hub does not know",
    role="associate",
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["code"],
        "properties": {
            "code": {"type": "string", "minLength": 1, "maxLength": 512},
            "note": {"type": "string", "maxLength": 500},
            "location_id": {"type": ["string", "null"], "maxLength": 64},
        },
    },
    response=REPORT_SCHEMA,
    statuses=[201, 422],
)
def report_unknown(body):
    with db().write() as conn:
        row = scan.report_unknown(
            conn,
            code=body["code"],
            note=body.get("note", ""),
            location_id=body.get("location_id"),
            actor=actor(),
            device=device(),
            settings=settings.get_all(conn),
        )
    return row, 201


@endpoint(
    bp,
    "GET",
    "/unknown-codes",
    summary="Reported unknown codes, newest first",
    role="supervisor",
    query=dict(PAGINATION_QUERY),
)
def list_unknown(query):
    rows, total = scan.list_unknown(db().read(), limit=query["limit"], offset=query["offset"])
    return page(rows, total, query["limit"], query["offset"])

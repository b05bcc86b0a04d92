"""Store certificates routes: the certificate status and the enrolled handhelds (a schema plus one domain call)."""

from __future__ import annotations

from flask import Blueprint

from hub.http.context import db, hub
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.pki import model, workflow
from hub.pki.facts import FINGERPRINT

bp = Blueprint("pki", __name__)

ENROLMENT = {
    "type": "object",
    "required": ["device_id", "ca_fingerprint", "enrolled_at"],
    "properties": {
        "device_id": {"type": "string"},
        "ca_fingerprint": FINGERPRINT,
        "enrolled_at": {"type": "string"},
        "user_agent": {"type": ["string", "null"]},
        "address": {"type": ["string", "null"]},
    },
}


@endpoint(
    bp,
    "GET",
    "/pki/status",
    summary="Store certificates: the CA, the hub certificate and its names",
    role="supervisor",
    tags=["pki"],
    response={"type": "object", "required": ["ca", "hub", "wanted", "left_out", "renewal_due"]},
)
def status():
    return workflow.status(hub().config.data_dir)


@endpoint(
    bp,
    "GET",
    "/pki/enrolments",
    summary="Handhelds and tills enrolled with the store CA, newest first",
    role="supervisor",
    tags=["pki"],
    query={**PAGINATION_QUERY, "ca_fingerprint": {"type": "string", "maxLength": 95}},
)
def enrolments(query):
    rows, total = model.list_enrolments(
        db().read(), ca_fingerprint=query.get("ca_fingerprint"), limit=query["limit"], offset=query["offset"]
    )
    return page(rows, total, query["limit"], query["offset"])

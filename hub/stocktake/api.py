"""Stocktake routes: count sessions, scans, RFID sweeps, variance, recount, approval, cycle counts.

Thin wrappers: each route validates input, opens the one write transaction and
calls the domain in ``hub.stocktake``."""

from __future__ import annotations

from flask import Blueprint, g

from hub.http.context import actor, db, device
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.kernel.errors import NotFound
from hub.protocol import rfid_formats
from hub.stocktake import approval, cycle, ingest, reports, rfid_reports, scans, sessions, sweeps, views

bp = Blueprint("stocktake", __name__)
_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_KEY = {"type": "string", "minLength": 8, "maxLength": 200}
_READER = {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"}
P = "/stocktake"


def _role() -> str:
    return g.user["role"]


# ------------------------------------------------------------------------------------------------ sessions


@endpoint(
    bp,
    "POST",
    P + "/sessions",
    summary="Open a count session (uncounted lines: excluded unless a manager says zero)",
    role="associate",
    statuses=[201, 200, 403, 404],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "idempotency_key"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 120},
            "kind": {"type": "string", "enum": list(sessions.KINDS)},
            "mode": {"type": "string", "enum": list(sessions.MODES)},
            "uncounted": {"type": "string", "enum": list(sessions.UNCOUNTED)},
            "scope": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "location_ids": {"type": "array", "items": _ID, "maxItems": 500},
                    "categories": {"type": "array", "items": {"type": "string", "maxLength": 200}, "maxItems": 200},
                    "item_ids": {"type": "array", "items": _ID, "maxItems": 20000},
                },
            },
            "rssi_floor_dbm": {"type": "number", "minimum": -128, "maximum": 20},
            "min_reads": {"type": "integer", "minimum": 1, "maximum": 1000},
            "idempotency_key": _KEY,
        },
    },
)
def create_session(body):
    with db().write() as conn:
        s, created = sessions.create(
            conn,
            name=body["name"],
            kind=body.get("kind", "full"),
            mode=body.get("mode", "blind"),
            uncounted=body.get("uncounted"),
            scope=body.get("scope"),
            rssi_floor_dbm=body.get("rssi_floor_dbm"),
            min_reads=body.get("min_reads"),
            actor=actor(),
            role=_role(),
            device=device(),
            idempotency_key=body["idempotency_key"],
        )
    return s, (201 if created else 200)


@endpoint(
    bp,
    "GET",
    P + "/sessions",
    summary="Count sessions, newest first",
    role="associate",
    query={"status": {"type": "string", "enum": list(sessions.STATUSES)}, **PAGINATION_QUERY},
)
def list_sessions(query):
    items, total = sessions.list_sessions(
        db().read(), status=query.get("status"), limit=query["limit"], offset=query["offset"]
    )
    return page(items, total, query["limit"], query["offset"])


@endpoint(
    bp,
    "GET",
    P + "/sessions/<session_id>",
    summary="One count session with its counters and my totals",
    role="associate",
    statuses=[404],
)
def get_session(session_id):
    return views.session_for(db().read(), session_id, viewer=actor())


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/join",
    summary="Join a count (optionally in a zone)",
    role="associate",
    statuses=[404, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "zone_location_id": {"type": ["string", "null"], "maxLength": 64},
            "user_id": {"type": "string", "maxLength": 64},
        },
    },
)
def join_session(session_id, body):
    with db().write() as conn:
        return scans.join_counter(
            conn,
            session_id,
            user_id=body.get("user_id") or actor(),
            by=actor(),
            role=_role(),
            zone_location_id=body.get("zone_location_id"),
            device=device(),
        )


def _transition(fn, session_id):
    with db().write() as conn:
        return fn(conn, session_id, actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/close",
    summary="Stop counting; move to review",
    role="supervisor",
    statuses=[404, 409],
)
def close_session(session_id):
    return _transition(sessions.close, session_id)


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/reopen",
    summary="Back from review to counting",
    role="supervisor",
    statuses=[404, 409],
)
def reopen_session(session_id):
    return _transition(sessions.reopen, session_id)


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/cancel",
    summary="Cancel a count with a reason (nothing is posted; a supervisor, or whoever started it)",
    role="associate",
    statuses=[403, 404, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 200}},
    },
)
def cancel_session(session_id, body):
    with db().write() as conn:
        return sessions.cancel(conn, session_id, actor=actor(), role=_role(), device=device(), reason=body["reason"])


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/zones/done",
    summary="Mark my zone (or a location) counted, or take that back",
    role="associate",
    statuses=[404, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {"location_id": _ID, "done": {"type": "boolean"}},
    },
)
def zone_done(session_id, body):
    with db().write() as conn:
        return sessions.mark_zone_done(
            conn,
            session_id,
            user_id=actor(),
            location_id=body.get("location_id"),
            done=body.get("done", True),
            device=device(),
        )


# ------------------------------------------------------------------------------------------------ scanning


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/scans",
    summary="Count a scan (location label switches bin; idempotent by key)",
    role="associate",
    statuses=[201, 200, 404, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["idempotency_key"],
        "properties": {
            "code": {"type": "string", "minLength": 1, "maxLength": 512},
            "item_id": _ID,
            "location_id": _ID,
            "qty": {"type": "integer", "minimum": -10_000_000, "maximum": 10_000_000},
            "recount": {"type": "boolean"},
            "idempotency_key": _KEY,
        },
        "oneOf": [{"required": ["code"]}, {"required": ["item_id"]}],
    },
)
def post_scan(session_id, body):
    with db().write() as conn:
        out = scans.record_scan(
            conn,
            session_id,
            counter=actor(),
            client_key=body["idempotency_key"],
            code=body.get("code"),
            item_id=body.get("item_id"),
            qty=body.get("qty"),
            location_id=body.get("location_id"),
            device=device(),
            source="recount" if body.get("recount") else "scan",
        )
    return out, (200 if out["duplicate"] else 201)


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/undo",
    summary="Undo my last scan (idempotent by key)",
    role="associate",
    statuses=[404, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["idempotency_key"],
        "properties": {"idempotency_key": _KEY},
    },
)
def undo_scan(session_id, body):
    with db().write() as conn:
        return scans.undo_last(conn, session_id, counter=actor(), client_key=body["idempotency_key"], device=device())


@endpoint(
    bp,
    "GET",
    P + "/sessions/<session_id>/scans",
    summary="Recent scans (supervisors see every counter)",
    role="associate",
    statuses=[404],
    query={
        "counter": {"type": "string", "maxLength": 64},
        "after_seq": {"type": "integer", "minimum": 0, "maximum": 2**62, "default": 0},
        "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    },
)
def list_scans(session_id, query):
    rows = views.scans_for(
        db().read(),
        session_id,
        viewer=actor(),
        role=_role(),
        counter=query.get("counter"),
        limit=query["limit"],
        after_seq=query["after_seq"],
    )
    return {"items": rows}


@endpoint(
    bp,
    "GET",
    P + "/sessions/<session_id>/progress",
    summary="Live per-counter progress",
    role="supervisor",
    statuses=[404],
)
def session_progress(session_id):
    conn = db().read()
    sessions.get(conn, session_id)
    return scans.progress(conn, session_id)


@endpoint(
    bp,
    "GET",
    P + "/sessions/<session_id>/expected",
    summary="Book quantities of a bin (guided counts only)",
    role="associate",
    statuses=[403, 404],
    query={"location_id": {**_ID, "required": True}},
)
def guided_expected(session_id, query):
    return {"items": views.expected_for(db().read(), session_id, query["location_id"], role=_role())}


# ------------------------------------------------------------------------------------------------ review


@endpoint(
    bp,
    "GET",
    P + "/sessions/<session_id>/variance",
    summary="Variance report: lines (largest losses first), totals, accuracy",
    role="supervisor",
    statuses=[404],
    query=PAGINATION_QUERY,
)
def variance_report(session_id, query):
    return views.variance_for(db().read(), session_id, limit=query["limit"], offset=query["offset"])


@endpoint(
    bp,
    "GET",
    P + "/sessions/<session_id>/lines",
    summary="A page of a count's lines, largest loss first (all, with variance, exact or excluded)",
    role="supervisor",
    statuses=[404],
    query={"which": {"type": "string", "enum": list(views.LINE_FILTERS), "default": "all"}, **PAGINATION_QUERY},
)
def review_lines(session_id, query):
    items, total = views.review_lines(
        db().read(), session_id, which=query["which"], limit=query["limit"], offset=query["offset"]
    )
    return page(items, total, query["limit"], query["offset"])


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/recounts",
    summary="Ask for a recount of lines (or of every line with a variance) by another counter",
    role="supervisor",
    statuses=[404, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "assigned_to": {"type": ["string", "null"], "maxLength": 64},
            "which": {"type": "string", "enum": list(approval.RECOUNT_WHICH)},
            "lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": 500,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["item_id", "location_id"],
                    "properties": {"item_id": _ID, "location_id": _ID},
                },
            },
        },
        "oneOf": [{"required": ["lines"]}, {"required": ["which"]}],
    },
)
def request_recount(session_id, body):
    with db().write() as conn:
        lines = body.get("lines") or approval.lines_to_recount(conn, session_id, body["which"])
        return approval.request_recount(
            conn, session_id, lines, assigned_to=body.get("assigned_to"), actor=actor(), device=device()
        )


@endpoint(bp, "GET", P + "/recounts", summary="Recounts waiting for me (or anyone)", role="associate")
def my_recounts():
    return {"items": views.recounts_for(db().read(), viewer=actor())}


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/recounts/finish",
    summary="Finish my recount of a line",
    role="associate",
    statuses=[404, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["item_id", "location_id"],
        "properties": {"item_id": _ID, "location_id": _ID},
    },
)
def finish_recount(session_id, body):
    with db().write() as conn:
        return approval.finish_recount(
            conn, session_id, item_id=body["item_id"], location_id=body["location_id"], counter=actor(), device=device()
        )


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/approve",
    summary="Approve: post count movements to the ledger (once); above the threshold only with confirm",
    role="supervisor",
    statuses=[403, 404, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["idempotency_key"],
        "properties": {"idempotency_key": _KEY, "confirm": {"type": "boolean"}},
    },
)
def approve_session(session_id, body):
    with db().write() as conn:
        out = approval.approve(
            conn,
            session_id,
            actor=actor(),
            role=_role(),
            idempotency_key=body["idempotency_key"],
            confirm=body.get("confirm", False),
            device=device(),
        )
    return out, (200 if out["duplicate"] else 201)


# ------------------------------------------------------------------------------------------------ RFID


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/sweeps",
    summary="Point a reader's reads at this count",
    role="associate",
    statuses=[201, 404, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["reader", "location_id"],
        "properties": {"reader": _READER, "location_id": _ID},
    },
)
def start_sweep(session_id, body):
    with db().write() as conn:
        return sweeps.start_sweep(
            conn, session_id, reader=body["reader"], location_id=body["location_id"], actor=actor(), device=device()
        ), 201


@endpoint(
    bp,
    "POST",
    P + "/sessions/<session_id>/sweeps/stop",
    summary="Stop a reader's sweep",
    role="associate",
    statuses=[404],
    body={"type": "object", "additionalProperties": False, "required": ["reader"], "properties": {"reader": _READER}},
)
def stop_sweep(session_id, body):
    with db().write() as conn:
        out = sweeps.stop_sweep(conn, session_id, reader=body["reader"], actor=actor(), device=device())
    if out is None:
        raise NotFound("that reader has no open sweep in this count", code="no_open_sweep")
    return out


@endpoint(
    bp,
    "GET",
    P + "/sessions/<session_id>/rfid",
    summary="Sweep view: unique tags, per-item progress, missing",
    role="associate",
    statuses=[404],
    query={"location_id": {"type": "string", "maxLength": 64}},
)
def sweep_view(session_id, query):
    return views.sweep_for(db().read(), session_id, role=_role(), location_id=query.get("location_id"))


@endpoint(
    bp,
    "GET",
    P + "/sessions/<session_id>/rfid/tags",
    summary="The per-EPC records of a count",
    role="supervisor",
    statuses=[404],
    query={
        "kind": {
            "type": "string",
            "enum": ["item", "case", "pallet", "asset", "unknown_gtin", "undecodable", "out_of_scope"],
        },
        **PAGINATION_QUERY,
    },
)
def tag_list(session_id, query):
    conn = db().read()
    sessions.get(conn, session_id)
    items, total = rfid_reports.tag_records(
        conn, session_id, kind=query.get("kind"), limit=query["limit"], offset=query["offset"]
    )
    return page(items, total, query["limit"], query["offset"])


@endpoint(
    bp,
    "POST",
    P + "/rfid/reads",
    summary="Upload reader events (handheld sled or webhook) into the reader's sweep",
    role="associate",
    statuses=[404],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["reader", "format", "payload"],
        "properties": {
            "reader": _READER,
            "format": {"type": "string", "enum": list(rfid_formats.FORMATS)},
            "payload": {},
        },
    },
)
def upload_reads(body):
    return ingest.upload(db(), body["reader"], body["format"], body["payload"])


@endpoint(
    bp,
    "GET",
    P + "/antennas",
    summary="Reader antenna → location map",
    role="associate",
    query={"reader": {"type": "string", "maxLength": 64}},
)
def list_antennas(query):
    return {"items": sweeps.antenna_map(db().read(), query.get("reader"))}


@endpoint(
    bp,
    "PUT",
    P + "/antennas",
    summary="Point a reader antenna at a location (zone by strongest antenna)",
    role="supervisor",
    statuses=[404],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["reader", "antenna", "location_id"],
        "properties": {
            "reader": _READER,
            "antenna": {"type": "integer", "minimum": 0, "maximum": 255},
            "location_id": _ID,
        },
    },
)
def put_antenna(body):
    with db().write() as conn:
        return sweeps.set_antenna(
            conn, reader=body["reader"], antenna=body["antenna"], location_id=body["location_id"], actor=actor()
        )


@endpoint(
    bp,
    "GET",
    P + "/compare",
    summary="Serialised items between two counts: moved, missing, new",
    role="supervisor",
    statuses=[404],
    query={"earlier": {**_ID, "required": True}, "later": {**_ID, "required": True}},
)
def compare(query):
    return rfid_reports.compare_sessions(db().read(), query["earlier"], query["later"])


# ------------------------------------------------------------------------------------------------ cycle counts


@endpoint(
    bp,
    "POST",
    P + "/cycle/classify",
    summary="ABC-classify items by value or velocity",
    role="manager",
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "days": {"type": "integer", "minimum": 7, "maximum": 730},
            "basis": {"type": "string", "enum": ["value", "velocity"]},
        },
    },
)
def cycle_classify(body):
    with db().write() as conn:
        return cycle.classify(conn, days=body.get("days", 90), basis=body.get("basis", "value"), actor=actor())


@endpoint(
    bp,
    "POST",
    P + "/cycle/schedule",
    summary="Create count tasks for items falling due",
    role="supervisor",
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {"horizon_days": {"type": "integer", "minimum": 0, "maximum": 365}},
    },
)
def cycle_schedule(body):
    with db().write() as conn:
        return cycle.schedule(conn, actor=actor(), horizon_days=body.get("horizon_days", 7))


@endpoint(
    bp,
    "GET",
    P + "/cycle/tasks",
    summary="Count tasks",
    role="associate",
    query={
        "status": {"type": "string", "enum": ["open", "in_session", "done", "cancelled"], "default": "open"},
        "due_by": {"type": "string", "maxLength": 10},
        **PAGINATION_QUERY,
    },
)
def cycle_tasks(query):
    items, total = cycle.tasks(
        db().read(), status=query["status"], due_by=query.get("due_by"), limit=query["limit"], offset=query["offset"]
    )
    return page(items, total, query["limit"], query["offset"])


@endpoint(
    bp,
    "POST",
    P + "/cycle/sessions",
    summary="Open a cycle count from due tasks",
    role="associate",
    statuses=[201, 200, 403],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["idempotency_key"],
        "properties": {
            "task_ids": {"type": "array", "items": _ID, "maxItems": 5000},
            "due_by": {"type": "string", "maxLength": 10},
            "name": {"type": "string", "maxLength": 120},
            "mode": {"type": "string", "enum": list(sessions.MODES)},
            "uncounted": {"type": "string", "enum": list(sessions.UNCOUNTED)},
            "idempotency_key": _KEY,
        },
    },
)
def cycle_session(body):
    with db().write() as conn:
        s, created = cycle.session_from_tasks(
            conn,
            task_ids=body.get("task_ids"),
            due_by=body.get("due_by"),
            name=body.get("name"),
            mode=body.get("mode", "blind"),
            uncounted=body.get("uncounted"),
            actor=actor(),
            role=_role(),
            device=device(),
            idempotency_key=body["idempotency_key"],
        )
    return s, (201 if created else 200)


@endpoint(
    bp,
    "GET",
    P + "/reports/shrink",
    summary="Shrink and gains at cost over time",
    role="supervisor",
    query={
        "since": {"type": "string", "maxLength": 30},
        "until": {"type": "string", "maxLength": 30},
        "period": {"type": "string", "enum": list(reports.PERIODS), "default": "month"},
        "by": {"type": "string", "enum": ["category"]},
    },
)
def shrink_report(query):
    return {
        "items": reports.shrink(
            db().read(), since=query.get("since"), until=query.get("until"), period=query["period"], by=query.get("by")
        )
    }


@endpoint(
    bp,
    "GET",
    P + "/reports/accuracy",
    summary="Inventory record accuracy per approved count",
    role="supervisor",
    query={"since": {"type": "string", "maxLength": 30}, "until": {"type": "string", "maxLength": 30}},
)
def accuracy_report(query):
    return {"items": reports.accuracy(db().read(), since=query.get("since"), until=query.get("until"))}

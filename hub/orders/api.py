"""Orders, review, pick lists, picking, packing, handover, returns, SLA alerts and analytics over HTTP.

Routes only translate HTTP to ``hub.orders`` calls inside one write transaction each."""

from __future__ import annotations

from flask import Blueprint

from hub.http.context import actor, db, device
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.kernel.errors import ValidationError
from hub.orders import (
    allocation,
    fulfilment,
    importer,
    model,
    packing,
    picking,
    printing,
    queries,
    review,
    sla,
    workflow,
)

bp = Blueprint("orders", __name__)

_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_KEY = {"type": "string", "minLength": 8, "maxLength": 190}
_CODE = {"type": "string", "minLength": 1, "maxLength": 512}
_LINE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "item_id": _ID,
        "sku": {"type": "string", "maxLength": 64},
        "gtin": {"type": "string", "pattern": "^[0-9]{8,14}$"},
        "qty": {"type": "integer", "minimum": 1, "maximum": 10_000},
        "grams": {"type": "integer", "minimum": 1, "maximum": 100_000},
        "unit_price_minor": {"type": "integer", "minimum": 0, "maximum": 10**10},
        "allow_substitute": {"type": "boolean"},
    },
}
ORDER_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["channel", "lines"],
    "properties": {
        "channel": {"type": "string", "enum": list(model.CHANNELS)},
        "external_id": {"type": "string", "minLength": 1, "maxLength": 100},
        "fulfilment": {"type": "string", "enum": list(model.FULFILMENTS)},
        "customer": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "maxLength": 200},
                "phone": {"type": "string", "maxLength": 200},
                "email": {"type": "string", "maxLength": 200},
            },
        },
        "address": {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 200},
            "maxProperties": 10,
        },
        "pickup_at": {"type": "string", "maxLength": 40},
        "paid_minor": {"type": "integer", "minimum": 0, "maximum": 10**12},
        "notes": {"type": "string", "maxLength": 1000},
        "lines": {"type": "array", "minItems": 1, "maxItems": 500, "items": _LINE},
    },
}


def _client_key(body: dict) -> str:
    """The offline-replay key: ``client_key``, or ``idempotency_key`` as the handheld's queue sends it."""
    ck = body.get("client_key") or body.get("idempotency_key")
    if not ck:
        raise ValidationError("client_key (or idempotency_key) is required", code="invalid_client_key")
    return ck


# ----------------------------------------------------------------------------- orders


@endpoint(
    bp,
    "POST",
    "/orders",
    summary="Take an order in from a channel (409 with the existing id on a duplicate)",
    role="associate",
    body=ORDER_BODY,
    statuses=[201, 400, 409],
)
def create_order(body):
    with db().write() as conn:
        order = workflow.create_order(conn, body, actor=actor(), device=device())
        return queries.order_view(conn, order["id"]), 201


@endpoint(
    bp,
    "GET",
    "/orders",
    summary="Orders, newest first",
    role="associate",
    query={
        "status": {"type": "string", "enum": list(model.STATUSES)},
        "channel": {"type": "string", "enum": list(model.CHANNELS)},
        "q": {"type": "string", "maxLength": 100},
        "open": {"type": "boolean"},
        **PAGINATION_QUERY,
    },
)
def list_orders(query):
    items, total = queries.list_orders(
        db().read(),
        status=query.get("status"),
        channel=query.get("channel"),
        q=query.get("q"),
        open_only=bool(query.get("open")),
        limit=query["limit"],
        offset=query["offset"],
    )
    return page(items, total, query["limit"], query["offset"])


@endpoint(bp, "GET", "/orders/<order_id>", summary="One order with lines, children and print jobs", role="associate")
def get_order(order_id):
    return queries.order_view(db().read(), order_id)


@endpoint(bp, "GET", "/orders/by-code/<code>", summary="An order by its scanned code SHO-<ref>", role="associate")
def order_by_code(code):
    conn = db().read()
    o = model.find_by_code(conn, code)
    return queries.order_view(conn, o["id"])


@endpoint(
    bp,
    "POST",
    "/orders/import",
    summary="Import orders from CSV or JSON text; reports created, duplicates, errors",
    role="supervisor",
    statuses=[200, 400],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["format", "content"],
        "properties": {
            "format": {"type": "string", "enum": ["csv", "json"]},
            "content": {"type": "string", "minLength": 1, "maxLength": 5_000_000},
        },
    },
)
def import_orders(body):
    orders = importer.parse(body["content"], body["format"])
    with db().write() as conn:
        return importer.import_orders(conn, orders, actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    "/orders/<order_id>/allocate",
    summary="Try to reserve stock for a new or back-ordered order",
    role="supervisor",
    statuses=[200, 409],
)
def allocate(order_id):
    with db().write() as conn:
        result = allocation.allocate(conn, order_id, actor=actor(), device=device())
        return {"result": result, "order": queries.order_view(conn, order_id)}


@endpoint(
    bp,
    "POST",
    "/orders/backorders/retry",
    summary="Allocate back-ordered orders whose stock has come in",
    role="supervisor",
)
def retry_backorders():
    with db().write() as conn:
        return {"allocated": workflow.retry_backorders(conn, actor=actor(), device=device())}


@endpoint(bp, "GET", "/orders/review", summary="Orders waiting for a person's review", role="supervisor")
def review_queue():
    items = review.queue(db().read())
    return page(items, len(items), max(len(items), 1), 0)


@endpoint(
    bp,
    "POST",
    "/orders/<order_id>/review",
    summary="Approve (allocates) or reject (cancels) an order in review",
    role="supervisor",
    statuses=[200, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["decision"],
        "properties": {
            "decision": {"type": "string", "enum": ["approve", "reject"]},
            "note": {"type": "string", "maxLength": 500},
        },
    },
)
def decide_review(order_id, body):
    with db().write() as conn:
        workflow.decide(
            conn,
            order_id,
            approve=body["decision"] == "approve",
            note=body.get("note", ""),
            actor=actor(),
            device=device(),
        )
        return queries.order_view(conn, order_id)


@endpoint(
    bp,
    "POST",
    "/orders/<order_id>/cancel",
    summary="Cancel: reservations released, refund due recorded",
    role="supervisor",
    statuses=[200, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
    },
)
def cancel(order_id, body):
    with db().write() as conn:
        fulfilment.cancel(conn, order_id, reason=body["reason"], actor=actor(), device=device())
        return queries.order_view(conn, order_id)


# ----------------------------------------------------------------------------- packing and handover


@endpoint(
    bp,
    "POST",
    "/orders/<order_id>/pack/scan",
    summary="Verify one scanned item while packing",
    role="associate",
    statuses=[200, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["code"],
        "properties": {
            "code": _CODE,
            "client_key": _KEY,
            "idempotency_key": _KEY,
            "qty": {"type": "integer", "minimum": 1, "maximum": 10_000},
        },
    },
)
def pack_scan(order_id, body):
    with db().write() as conn:
        return fulfilment.pack_scan(
            conn,
            order_id,
            code=body["code"],
            client_key=_client_key(body),
            qty=body.get("qty"),
            actor=actor(),
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    "/orders/<order_id>/pack",
    summary="Mark packed and print the pack label and receipt",
    role="associate",
    statuses=[200, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {"printer": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"}},
    },
)
def pack(order_id, body):
    with db().write() as conn:
        return packing.pack_and_print(conn, order_id, actor=actor(), device=device(), printer=body.get("printer"))


@endpoint(
    bp,
    "POST",
    "/orders/<order_id>/print",
    summary="Print the pack label and/or receipt again",
    role="associate",
    statuses=[200, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "printer": {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"},
            "documents": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"type": "string", "enum": list(printing.DOCUMENTS)},
            },
        },
    },
)
def reprint(order_id, body):
    with db().write() as conn:
        jobs = printing.print_order_documents(
            conn,
            order_id,
            actor=actor(),
            device=device(),
            printer=body.get("printer"),
            documents=tuple(body.get("documents") or printing.DOCUMENTS),
        )
        return {"printed": jobs}


@endpoint(
    bp,
    "POST",
    "/orders/<order_id>/ready",
    summary="Packed order is on the collection shelf / with the courier",
    role="associate",
    statuses=[200, 409],
)
def ready(order_id):
    with db().write() as conn:
        fulfilment.mark_ready(conn, order_id, actor=actor(), device=device())
        return queries.order_view(conn, order_id)


@endpoint(
    bp,
    "POST",
    "/orders/handover",
    summary="Hand a ready order to the customer or courier by scanning SHO-<ref>",
    role="associate",
    statuses=[200, 404, 409, 422],
    body={"type": "object", "additionalProperties": False, "required": ["code"], "properties": {"code": _CODE}},
)
def handover(body):
    with db().write() as conn:
        o = fulfilment.handover(conn, body["code"], actor=actor(), device=device())
        return queries.order_view(conn, o["id"])


@endpoint(
    bp,
    "POST",
    "/orders/<order_id>/returns",
    summary="Take goods back: restock or write off with a reason",
    role="supervisor",
    statuses=[200, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["lines"],
        "properties": {
            "client_key": _KEY,
            "idempotency_key": _KEY,
            "lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": 200,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["line_id", "qty", "disposition", "reason"],
                    "properties": {
                        "line_id": _ID,
                        "qty": {"type": "integer", "minimum": 1, "maximum": 100_000},
                        "disposition": {"type": "string", "enum": list(fulfilment.DISPOSITIONS)},
                        "reason": {"type": "string", "minLength": 1, "maxLength": 300},
                        "location_id": _ID,
                    },
                },
            },
        },
    },
)
def returns(order_id, body):
    with db().write() as conn:
        return fulfilment.record_return(
            conn, order_id, client_key=_client_key(body), lines=body["lines"], actor=actor(), device=device()
        )


# ----------------------------------------------------------------------------- SLA and analytics


@endpoint(bp, "GET", "/orders/alerts", summary="Orders waiting longer than the SLA of their state", role="associate")
def alerts():
    items = sla.alerts(db().read())
    return page(items, len(items), max(len(items), 1), 0)


@endpoint(
    bp,
    "GET",
    "/orders/analytics",
    summary="Lines per hour per picker, time per state, short-pick rate",
    role="supervisor",
    query={"since": {"type": "string", "maxLength": 40}, "until": {"type": "string", "maxLength": 40}},
)
def order_analytics(query):
    return queries.analytics_summary(db().read(), since=query.get("since"), until=query.get("until"))


# ----------------------------------------------------------------------------- pick lists and picking


@endpoint(
    bp,
    "POST",
    "/pick-lists",
    summary="Batch allocated orders into one walk (given orders or the oldest waiting)",
    role="supervisor",
    statuses=[201, 404, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "order_ids": {"type": "array", "maxItems": 200, "items": _ID, "minItems": 1},
            "max_orders": {"type": "integer", "minimum": 1, "maximum": 200},
            "picker_id": _ID,
        },
    },
)
def create_pick_list(body):
    with db().write() as conn:
        pl = picking.create_pick_list(
            conn,
            actor=actor(),
            device=device(),
            order_ids=body.get("order_ids"),
            max_orders=body.get("max_orders"),
            picker_id=body.get("picker_id"),
        )
        return picking.get_pick_list(conn, pl["id"]), 201


@endpoint(
    bp,
    "POST",
    "/pick-lists/next",
    summary="Give me a batch: the next waiting orders, assigned to the caller",
    role="associate",
    statuses=[201, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {"max_orders": {"type": "integer", "minimum": 1, "maximum": 50}},
    },
)
def next_pick_list(body):
    with db().write() as conn:
        pl = picking.create_pick_list(
            conn, actor=actor(), device=device(), max_orders=body.get("max_orders"), picker_id=actor()
        )
        return picking.start(conn, pl["id"], actor=actor(), device=device()), 201


@endpoint(
    bp,
    "GET",
    "/pick-lists",
    summary="Pick lists (mine=true: assigned to me or to nobody)",
    role="associate",
    query={
        "status": {"type": "string", "enum": ["open", "in_progress", "done", "cancelled"]},
        "mine": {"type": "boolean", "default": False},
        **PAGINATION_QUERY,
    },
)
def list_pick_lists(query):
    items, total = picking.list_pick_lists(
        db().read(),
        status=query.get("status"),
        picker_id=actor() if query["mine"] else None,
        limit=query["limit"],
        offset=query["offset"],
    )
    return page(items, total, query["limit"], query["offset"])


@endpoint(bp, "GET", "/pick-lists/<list_id>", summary="A pick list with its tasks in walk order", role="associate")
def get_pick_list(list_id):
    return picking.get_pick_list(db().read(), list_id)


@endpoint(
    bp,
    "POST",
    "/pick-lists/<list_id>/assign",
    summary="Assign a pick list to a picker",
    role="supervisor",
    statuses=[200, 404, 409],
    body={"type": "object", "additionalProperties": False, "required": ["picker_id"], "properties": {"picker_id": _ID}},
)
def assign_pick_list(list_id, body):
    with db().write() as conn:
        return picking.assign(conn, list_id, body["picker_id"], actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    "/pick-lists/<list_id>/start",
    summary="Start walking a pick list",
    role="associate",
    statuses=[200, 409],
)
def start_pick_list(list_id):
    with db().write() as conn:
        return picking.start(conn, list_id, actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    "/pick-lists/<list_id>/cancel",
    summary="Drop a walk: pending picks cancelled, orders back to allocated",
    role="supervisor",
    statuses=[200, 404, 409],
)
def cancel_pick_list(list_id):
    with db().write() as conn:
        return picking.cancel_pick_list(conn, list_id, actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    "/pick-tasks/<task_id>/location",
    summary="Check the scanned location label for a pick (422 if wrong)",
    role="associate",
    statuses=[200, 422],
    body={"type": "object", "additionalProperties": False, "required": ["code"], "properties": {"code": _CODE}},
)
def check_location(task_id, body):
    conn = db().read()
    task = picking.get_task(conn, task_id)
    picking.check_location(conn, task, body["code"])
    return {"ok": True, "task": task}


@endpoint(
    bp,
    "POST",
    "/pick-tasks/<task_id>/pick",
    summary="Confirm a pick: location label, item code, qty or grams",
    role="associate",
    statuses=[200, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["location_code", "item_code"],
        "properties": {
            "client_key": _KEY,
            "idempotency_key": _KEY,
            "location_code": _CODE,
            "item_code": _CODE,
            "qty": {"type": "integer", "minimum": 1, "maximum": 100_000},
        },
    },
)
def confirm_pick(task_id, body):
    with db().write() as conn:
        return picking.confirm_pick(
            conn,
            task_id,
            client_key=_client_key(body),
            location_code=body["location_code"],
            item_code=body["item_code"],
            qty=body.get("qty"),
            actor=actor(),
            device=device(),
        )


@endpoint(
    bp,
    "POST",
    "/pick-tasks/<task_id>/short",
    summary="Report a short pick: substitute, partial or back-order",
    role="associate",
    statuses=[200, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["resolution"],
        "properties": {
            "client_key": _KEY,
            "idempotency_key": _KEY,
            "resolution": {"type": "string", "enum": list(picking.RESOLUTIONS)},
            "substitute_item_id": _ID,
        },
    },
)
def report_short(task_id, body):
    with db().write() as conn:
        return picking.report_short(
            conn,
            task_id,
            client_key=_client_key(body),
            resolution=body["resolution"],
            substitute_item_id=body.get("substitute_item_id"),
            actor=actor(),
            device=device(),
        )


@endpoint(
    bp, "GET", "/pick-tasks/<task_id>/substitutes", summary="Suggested substitutes for a pick task", role="associate"
)
def task_substitutes(task_id):
    items = queries.task_substitutes(db().read(), task_id)
    return page(items, len(items), max(len(items), 1), 0)

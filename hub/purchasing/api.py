"""Purchasing routes: each a JSON Schema plus one domain call in one transaction (docs/purchasing.md)."""

from __future__ import annotations

from flask import Blueprint, Response, g

from hub.http.context import actor, db, device
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.identify.resolve import options_for
from hub.kernel import settings
from hub.purchasing import days, lots, markdowns, orders, receiving, replenish, rules, suppliers, suppliers_csv, views

bp = Blueprint("purchasing", __name__)
P = "/purchasing"
_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_KEY = {"type": "string", "minLength": 8, "maxLength": 200}
_DAY = {"type": ["string", "null"], "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_REASON = {"type": "string", "minLength": 1, "maxLength": 200}
_LINES = {
    "type": "array",
    "minItems": 1,
    "maxItems": 2000,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["item_id"],
        "properties": {
            "item_id": _ID,
            "qty": {"type": "integer", "minimum": 1, "maximum": 100_000_000},
            "cases": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "unit_cost_minor": {"type": "integer", "minimum": 0, "maximum": 10**12},
        },
    },
}


def _role() -> str:
    return g.user["role"]


def _today() -> str:
    return days.today(db().read()).isoformat()


# ------------------------------------------------------------------------------------------------ suppliers
@endpoint(
    bp, "GET", P + "/suppliers", summary="Suppliers by code", role="associate", query={"active": {"type": "boolean"}}
)
def list_suppliers(query):
    return {"items": suppliers.list_suppliers(db().read(), active_only=bool(query.get("active")))}


@endpoint(
    bp,
    "POST",
    P + "/suppliers",
    summary="Create a supplier, or update the one with this code",
    role="manager",
    statuses=[400],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["code"],
        "properties": {
            "code": {"type": "string", "maxLength": 32},
            "name": {"type": "string", "maxLength": 200},
            "contact_name": {"type": "string", "maxLength": 200},
            "phone": {"type": "string", "maxLength": 40},
            "email": {"type": "string", "maxLength": 200},
            "lead_time_days": {"type": "integer"},
            "lead_time_sd_days": {"type": "number"},
            "min_order_minor": {"type": "integer"},
            "payment_terms": {"type": "string", "maxLength": 100},
            "active": {"type": "boolean"},
        },
    },
)
def upsert_supplier(body):
    with db().write() as conn:
        return suppliers.upsert(conn, body, actor=actor(), device=device())


@endpoint(
    bp,
    "GET",
    P + "/suppliers/<supplier_id>",
    summary="A supplier with what it sells us and at what cost",
    role="associate",
    statuses=[404],
)
def get_supplier(supplier_id):
    conn = db().read()
    return {**suppliers.get(conn, supplier_id), "items": suppliers.items_of(conn, supplier_id, today=_today())}


@endpoint(
    bp,
    "PUT",
    P + "/suppliers/<supplier_id>/items/<item_id>",
    summary="Say the supplier sells an item: case pack, article code, preferred, cost with validity",
    role="manager",
    statuses=[400, 404, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "supplier_sku": {"type": "string", "maxLength": 64},
            "case_gtin": {"type": ["string", "null"]},
            "case_units": {"type": "integer"},
            "preferred": {"type": "boolean"},
            "cost_minor": {"type": ["integer", "null"]},
            "valid_from": _DAY,
            "valid_to": _DAY,
        },
    },
)
def set_supplier_item(supplier_id, item_id, body):
    with db().write() as conn:
        return suppliers.set_item(
            conn, supplier_id, item_id, body, actor=actor(), device=device(), today=days.today(conn).isoformat()
        )


@endpoint(
    bp,
    "POST",
    P + "/suppliers/import",
    summary="Import suppliers or their items (case packs, costs) as CSV; "
    "every row is checked first and nothing is applied if any is bad",
    role="manager",
    statuses=[400],
    max_body=16 * 1024 * 1024,
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["kind", "csv"],
        "properties": {
            "kind": {"type": "string", "enum": list(suppliers_csv.KINDS)},
            "csv": {"type": "string", "maxLength": 15_000_000},
            "dry_run": {"type": "boolean"},
        },
    },
)
def import_suppliers(body):
    with db().write() as conn:
        return suppliers_csv.import_csv(
            conn,
            body["kind"],
            body["csv"].encode("utf-8"),
            actor=actor(),
            device=device(),
            today=days.today(conn).isoformat(),
            dry_run=body.get("dry_run", False),
        )


# ------------------------------------------------------------------------------------------------ orders
@endpoint(
    bp,
    "GET",
    P + "/orders",
    summary="Purchase orders, newest first (filter by status, supplier)",
    role="associate",
    query={"status": {"type": "string", "maxLength": 200}, "supplier_id": _ID, **PAGINATION_QUERY},
)
def list_orders(query):
    status = [s for s in (query.get("status") or "").split(",") if s] or None
    rows, total = orders.list_orders(
        db().read(), status=status, supplier_id=query.get("supplier_id"), limit=query["limit"], offset=query["offset"]
    )
    return page(rows, total, query["limit"], query["offset"])


@endpoint(
    bp,
    "POST",
    P + "/orders",
    summary="Draft a purchase order (idempotent by key)",
    role="supervisor",
    statuses=[200, 201, 404, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["supplier_id", "lines", "idempotency_key"],
        "properties": {
            "supplier_id": _ID,
            "lines": _LINES,
            "expected_date": _DAY,
            "origin": {"type": "string", "enum": ["store", "head_office"]},
            "note": {"type": "string", "maxLength": 500},
            "idempotency_key": _KEY,
        },
    },
)
def create_order(body):
    with db().write() as conn:
        po, created = orders.create(
            conn,
            supplier_id=body["supplier_id"],
            lines=body["lines"],
            actor=actor(),
            role=_role(),
            idempotency_key=body["idempotency_key"],
            origin=body.get("origin", "store"),
            expected_date=body.get("expected_date"),
            note=body.get("note", ""),
            device=device(),
        )
    return po, (201 if created else 200)


@endpoint(
    bp,
    "GET",
    P + "/orders/<po_id>",
    summary="A purchase order with its lines and approvals",
    role="associate",
    statuses=[404],
)
def get_order(po_id):
    return orders.get(db().read(), po_id)


@endpoint(
    bp,
    "GET",
    P + "/orders/by-number/<number>",
    summary="A purchase order by its number (PO-…)",
    role="associate",
    statuses=[404],
)
def get_order_by_number(number):
    return orders.find_by_number(db().read(), number)


@endpoint(
    bp,
    "PUT",
    P + "/orders/<po_id>/lines",
    summary="Replace a draft order's lines",
    role="supervisor",
    statuses=[404, 409, 422],
    body={"type": "object", "additionalProperties": False, "required": ["lines"], "properties": {"lines": _LINES}},
)
def set_lines(po_id, body):
    with db().write() as conn:
        return orders.set_lines(conn, po_id, body["lines"], actor=actor(), role=_role(), device=device())


def _step(fn, po_id, **kw):
    with db().write() as conn:
        return fn(conn, po_id, actor=actor(), role=_role(), device=device(), **kw)


@endpoint(
    bp,
    "POST",
    P + "/orders/<po_id>/submit",
    summary="Ask for approval (the value decides who approves)",
    role="supervisor",
    statuses=[403, 404, 409],
)
def submit_order(po_id):
    return _step(orders.submit, po_id)


@endpoint(
    bp,
    "POST",
    P + "/orders/<po_id>/approve",
    summary="Approve (supervisor up to the limit, manager above, then head office above the threshold)",
    role="supervisor",
    statuses=[403, 404, 409],
)
def approve_order(po_id):
    return _step(orders.approve, po_id)


@endpoint(
    bp,
    "POST",
    P + "/orders/<po_id>/send",
    summary="Mark an approved order sent to the supplier",
    role="supervisor",
    statuses=[404, 409],
)
def send_order(po_id):
    return _step(orders.send, po_id)


@endpoint(
    bp,
    "POST",
    P + "/orders/<po_id>/cancel",
    summary="Cancel an order with a reason",
    role="associate",
    statuses=[403, 404, 409],
    body={"type": "object", "additionalProperties": False, "required": ["reason"], "properties": {"reason": _REASON}},
)
def cancel_order(po_id, body):
    return _step(orders.cancel, po_id, reason=body["reason"])


@endpoint(
    bp,
    "POST",
    P + "/orders/<po_id>/close",
    summary="Close a (partly) received order: nothing more expected",
    role="supervisor",
    statuses=[404, 409],
    body={"type": "object", "additionalProperties": False, "properties": {"reason": _REASON}},
)
def close_order(po_id, body):
    return _step(orders.close, po_id, reason=body.get("reason", ""))


@endpoint(
    bp,
    "GET",
    P + "/orders/<po_id>/csv",
    summary="The order as the CSV sent to the supplier (en or zh-CN)",
    role="associate",
    statuses=[404],
    query={"lang": {"type": "string", "enum": ["en", "zh-CN"]}},
)
def order_csv(po_id, query):
    conn = db().read()
    lang = query.get("lang") or settings.get(conn, "language")
    po = orders.get(conn, po_id)
    return Response(
        orders.to_csv(conn, po_id, lang=lang),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{po["number"]}.csv"'},
    )


# ------------------------------------------------------------------------------------------------ receiving
@endpoint(
    bp,
    "POST",
    P + "/receipts",
    summary="Start receiving an order (or join its open receipt)",
    role="associate",
    statuses=[200, 201, 404, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["idempotency_key"],
        "properties": {
            "po_id": _ID,
            "po_number": {"type": "string", "maxLength": 32},
            "blind": {"type": "boolean"},
            "location_id": _ID,
            "idempotency_key": _KEY,
        },
    },
)
def open_receipt(body):
    with db().write() as conn:
        r, created = receiving.open_receipt(
            conn,
            po_id=body.get("po_id"),
            po_number=body.get("po_number"),
            blind=body.get("blind"),
            location_id=body.get("location_id"),
            actor=actor(),
            device=device(),
            idempotency_key=body["idempotency_key"],
        )
    return r, (201 if created else 200)


@endpoint(
    bp,
    "GET",
    P + "/receipts/<receipt_id>",
    summary="A receipt: what is scanned and still expected",
    role="associate",
    statuses=[404],
)
def get_receipt(receipt_id):
    return receiving.view(db().read(), receipt_id)


@endpoint(
    bp,
    "POST",
    P + "/receipts/<receipt_id>/scans",
    summary="Receive one scanned carton or item (idempotent by the handheld's key)",
    role="associate",
    statuses=[201, 400, 404, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["code", "idempotency_key"],
        "properties": {
            "code": {"type": "string", "minLength": 1, "maxLength": 512},
            "count": {"type": "integer", "minimum": 1, "maximum": 100_000},
            "lot": {"type": ["string", "null"], "maxLength": 20},
            "expiry": _DAY,
            "idempotency_key": _KEY,
        },
    },
)
def receipt_scan(receipt_id, body):
    with db().write() as conn:
        out = receiving.scan(
            conn,
            receipt_id,
            code=body["code"],
            actor=actor(),
            device=device(),
            idempotency_key=body["idempotency_key"],
            count=body.get("count", 1),
            lot=body.get("lot"),
            expiry=body.get("expiry"),
            options=options_for(settings.get_all(conn)),
        )
    if out["refused"]:
        raise receiving.refusal_error(out["refused"])  # recorded (unknown-codes list) and committed above
    return out, 201


@endpoint(
    bp,
    "POST",
    P + "/receipts/<receipt_id>/scans/<scan_id>/void",
    summary="Take back one scan",
    role="associate",
    statuses=[404, 409],
)
def void_scan(receipt_id, scan_id):
    with db().write() as conn:
        return receiving.void_scan(conn, receipt_id, scan_id, actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    P + "/receipts/<receipt_id>/confirm",
    summary="Post the receipt: receive movements with lot and expiry, cost, discrepancies (idempotent)",
    role="associate",
    statuses=[404, 409, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["idempotency_key"],
        "properties": {
            "reasons": {
                "type": "object",
                "maxProperties": 2000,
                "additionalProperties": {"type": "string", "enum": list(rules.DISCREPANCY_REASONS)},
            },
            "idempotency_key": _KEY,
        },
    },
)
def confirm_receipt(receipt_id, body):
    with db().write() as conn:
        return receiving.confirm(
            conn,
            receipt_id,
            actor=actor(),
            device=device(),
            idempotency_key=body["idempotency_key"],
            reasons=body.get("reasons"),
        )


@endpoint(
    bp,
    "POST",
    P + "/receipts/<receipt_id>/cancel",
    summary="Drop an open receipt (nothing was posted)",
    role="associate",
    statuses=[403, 404, 409],
)
def cancel_receipt(receipt_id):
    with db().write() as conn:
        return receiving.cancel_receipt(conn, receipt_id, actor=actor(), role=_role(), device=device())


@endpoint(
    bp,
    "POST",
    P + "/returns",
    summary="Return stock to the supplier with a reason (stock out)",
    role="supervisor",
    statuses=[200, 201, 403, 404, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["supplier_id", "item_id", "location_id", "qty", "reason", "idempotency_key"],
        "properties": {
            "supplier_id": _ID,
            "item_id": _ID,
            "location_id": _ID,
            "po_id": _ID,
            "qty": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "lot": {"type": ["string", "null"], "maxLength": 20},
            "reason": {"type": "string", "enum": list(rules.RTV_REASONS)},
            "note": {"type": "string", "maxLength": 500},
            "idempotency_key": _KEY,
        },
    },
)
def return_to_supplier(body):
    with db().write() as conn:
        row, created = receiving.return_to_supplier(
            conn,
            supplier_id=body["supplier_id"],
            item_id=body["item_id"],
            location_id=body["location_id"],
            qty=body["qty"],
            reason=body["reason"],
            lot=body.get("lot"),
            note=body.get("note", ""),
            po_id=body.get("po_id"),
            actor=actor(),
            role=_role(),
            device=device(),
            idempotency_key=body["idempotency_key"],
        )
    return row, (201 if created else 200)


# ------------------------------------------------------------------------------------------------ lots, replenishment
@endpoint(
    bp,
    "PUT",
    P + "/items/<item_id>/lot-control",
    summary="Switch lot control for an item",
    role="manager",
    statuses=[404],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["lot_controlled"],
        "properties": {"lot_controlled": {"type": "boolean"}},
    },
)
def set_lot_control(item_id, body):
    with db().write() as conn:
        return lots.set_lot_controlled(conn, item_id, body["lot_controlled"], actor=actor(), device=device())


@endpoint(
    bp,
    "GET",
    P + "/items/<item_id>",
    summary="An item's purchasing view: lots, moving-average cost, suppliers, reorder figures",
    role="associate",
    statuses=[404],
)
def item_view(item_id):
    return views.item(db().read(), item_id)


@endpoint(
    bp,
    "GET",
    P + "/recall",
    summary="Recall: where a lot is now and which movements, receipts and orders took it",
    role="supervisor",
    statuses=[404],
    query={"lot": {"type": "string", "minLength": 1, "maxLength": 20, "required": True}, "item_id": _ID},
)
def recall(query):
    return lots.recall(db().read(), query["lot"], item_id=query.get("item_id"))


@endpoint(
    bp,
    "POST",
    P + "/expiry/check",
    summary="Raise or clear near-expiry and expired-stock alerts now",
    role="supervisor",
)
def expiry_check():
    with db().write() as conn:
        today, setting = days.today(conn), settings.get(conn, "purchasing.near_expiry_days")
        out = lots.check_expiry(conn, today=today, setting=setting)
        return {**out, "markdowns_suggested": len(markdowns.suggest(conn, today=today, setting=setting))}


@endpoint(
    bp,
    "GET",
    P + "/markdowns",
    summary="Near-expiry markdown suggestions (by status; default: waiting for a manager)",
    role="associate",
    query={"status": {"type": "string", "enum": ["suggested", "approved", "dismissed"]}},
)
def list_markdowns(query):
    return {"items": markdowns.list_suggestions(db().read(), status=query.get("status") or "suggested")}


@endpoint(
    bp,
    "POST",
    P + "/markdowns/<suggestion_id>/approve",
    summary="Approve a near-expiry markdown: it becomes a store-level promotion (manager)",
    role="manager",
    statuses=[400, 403, 404, 409],
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {"percent": {"type": "integer", "minimum": 1, "maximum": 90}},
    },
)
def approve_markdown(suggestion_id, body):
    with db().write() as conn:
        return markdowns.approve(
            conn, suggestion_id, actor=actor(), role=_role(), percent=body.get("percent"), device=device()
        )


@endpoint(
    bp,
    "POST",
    P + "/markdowns/<suggestion_id>/dismiss",
    summary="Turn a near-expiry markdown suggestion down (manager)",
    role="manager",
    statuses=[403, 404, 409],
)
def dismiss_markdown(suggestion_id):
    with db().write() as conn:
        return markdowns.dismiss(conn, suggestion_id, actor=actor(), role=_role(), device=device())


@endpoint(
    bp,
    "POST",
    P + "/late-check",
    summary="Raise or clear late-delivery alerts (orders past their expected day without full receipt) now",
    role="supervisor",
)
def late_check():
    from hub.purchasing import alerts as po_alerts

    with db().write() as conn:
        return po_alerts.check_late(conn, today=days.today(conn))


@endpoint(
    bp,
    "POST",
    P + "/replenishment",
    summary="Compute reorder figures and suggestions; optionally write draft orders per supplier",
    role="manager",
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "create_drafts": {"type": "boolean"},
            "limit": {"type": "integer", "minimum": 0, "maximum": 5000},
        },
    },
)
def run_replenishment(body):
    with db().write() as conn:
        out = replenish.run(
            conn, today=days.today(conn), actor=actor(), device=device(), create_drafts=body.get("create_drafts", False)
        )
    out["suggestions"] = out["suggestions"][: body.get("limit", 500)]
    return out

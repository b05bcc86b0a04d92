"""Facts the orders domain records in the outbox: intake, review, allocation and splits, pick lists, picks and
short picks, packing, printing, cancellation, returns and back-orders (``hub/orders/*.py``).

Quantities are integers in the item's base unit (pieces, or grams for ``kg`` items); money is integer minor units
of the store currency."""

from __future__ import annotations

from hub.domain import Fact, object_schema

# hub.orders.model.STATUSES / CHANNELS / FULFILMENTS
STATUSES = [
    "new",
    "backordered",
    "allocated",
    "picking",
    "picked",
    "packed",
    "ready",
    "collected",
    "shipped",
    "cancelled",
    "returned",
]
CHANNELS = ["web", "app", "phone", "in_store"]
FULFILMENTS = ["pickup", "delivery", "transfer"]
SPLIT_KINDS = ["split", "backorder"]  # orders.split_kind, allocation.split_off(kind=)
RESOLUTIONS = ["substitute", "partial", "backorder"]  # hub.orders.picking.RESOLUTIONS
DISPOSITIONS = ["restock", "writeoff"]  # hub.orders.fulfilment.DISPOSITIONS
DOCUMENTS = ["pack_label", "receipt"]  # hub.orders.printing.DOCUMENTS
REVIEW_DECISIONS = ["approved", "rejected"]
# hub.orders.backorders.TRIGGER_KINDS: stock-in movement kinds that serve waiting back-orders
TRIGGER_KINDS = ["adjust", "count", "receive", "return", "transfer_in"]

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_QTY = {"type": "integer", "minimum": 1}
_MONEY = {"type": "integer", "minimum": 0}
_TS = {"type": "string", "format": "date-time"}
_IDS = {"type": "array", "items": _STR}

_RAW_ONLY = (
    "Not folded into any central table (projections.py folds only order.created, order.status and "
    "order.cancelled): kept only in the central's raw events table (sync/central/ingest.py stores every "
    "accepted event there), readable by kind through the central read API's GET /events."
)

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="order.created",
        schema=object_schema(
            {
                "id": _STR,
                "ref": _STR,  # printed as the order code SHO-<ref>
                "channel": {"type": "string", "enum": CHANNELS},
                "external_id": _STR_OR_NULL,  # the channel's own order number
                "status": {"type": "string", "enum": STATUSES},  # "new": recorded before review and allocation
                "fulfilment": {"type": "string", "enum": FULFILMENTS},
                "currency": _STR,
                "total_minor": _MONEY,
                "paid_minor": _MONEY,
                "parent_order_id": _STR_OR_NULL,
                "split_kind": {"type": ["string", "null"], "enum": [*SPLIT_KINDS, None]},
                "created_at": _TS,
                "lines": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "id": _STR,
                            "line_no": {"type": "integer", "minimum": 1},
                            "item_id": _STR,
                            "qty": _QTY,
                            "unit_price_minor": _MONEY,  # per piece, or per kg for kg items
                        }
                    ),
                },
            }
        ),
        description="An order was taken in from a channel (web, app, phone or in store), with its lines.",
        live=True,
        projected=True,
    ),
    Fact(
        kind="order.status",
        schema=object_schema(
            {
                "order_id": _STR,
                "ref": _STR,
                "from": {"type": "string", "enum": STATUSES},
                "to": {"type": "string", "enum": STATUSES},
                "actor": _STR,
                "ts": _TS,
                "details": {"type": "object"},  # only when the change has details (reason, split_to, ...)
            },
            required=["order_id", "ref", "from", "to", "actor", "ts"],
        ),
        description="An order moved from one status to another.",
        live=True,
        projected=True,
    ),
    Fact(
        kind="order.changed",
        schema=object_schema(
            {
                "order_id": _STR,
                "ref": _STR,
                "total_minor": _MONEY,
                "refund_due_minor": _MONEY,
            }
        ),
        description="An order's total or the refund due to the customer changed.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="order.review",
        schema=object_schema(
            {
                "order_id": _STR,
                "ref": _STR,
                "decision": {"type": "string", "enum": REVIEW_DECISIONS},
                "note": _STR,
            }
        ),
        description="A supervisor approved or rejected an order held for review.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="order.split",
        schema=object_schema(
            {
                "order_id": _STR,
                "ref": _STR,
                "child_order_id": _STR,
                "kind": {"type": "string", "enum": SPLIT_KINDS},
                "lines": {"type": "array", "items": object_schema({"line_id": _STR, "qty": _QTY})},
                "paid_moved_minor": _MONEY,
            }
        ),
        description="Part of an order's lines moved into a new child order (a split or a back-order).",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="order.backorder_reserved",
        schema={
            **object_schema(
                {
                    "order_id": _STR,
                    "ref": _STR,
                    "line_id": _STR,
                    "item_id": _STR,
                    "qty": _QTY,
                    "trigger_movement_id": _STR,  # stock arriving: the movement that brought it
                    "trigger_kind": {"type": "string", "enum": TRIGGER_KINDS},
                    "trigger": {"const": "retry"},  # or a retry asked for by staff
                },
                required=["order_id", "ref", "line_id", "item_id", "qty"],
            ),
            "oneOf": [{"required": ["trigger_movement_id", "trigger_kind"]}, {"required": ["trigger"]}],
        },
        description="Stock was reserved for a waiting back-ordered line, from arriving stock or a retry.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="order.pick",
        schema=object_schema(
            {
                "task_id": _STR,
                "order_id": _STR,
                "line_id": _STR,
                "item_id": _STR,
                "location_id": _STR,
                "qty": _QTY,  # pieces, or grams weighed
                "picker": _STR,
                "complete": {"type": "boolean"},  # the pick task is done
            }
        ),
        description="A picker confirmed picking an order line's item from its location.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="order.short",
        schema=object_schema(
            {
                "task_id": _STR,
                "order_id": _STR,
                "line_id": _STR,
                "item_id": _STR,
                "location_id": _STR,
                "short_qty": _QTY,
                "resolution": {"type": "string", "enum": RESOLUTIONS},
                "substitute_item_id": _STR_OR_NULL,
                "picker": _STR,
                "substitute_line_id": _STR,  # resolution "substitute": the new line
                "new_task_ids": _IDS,  # ... and its pick tasks on the same list
                "backorder_order_id": _STR,  # resolution "backorder": the child order
            },
            required=[
                "task_id",
                "order_id",
                "line_id",
                "item_id",
                "location_id",
                "short_qty",
                "resolution",
                "substitute_item_id",
                "picker",
            ],
        ),
        description="A picker found less on the shelf than a pick task asked for, and how it was resolved.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="order.pack_scan",
        schema=object_schema(
            {
                "order_id": _STR,
                "line_id": _STR,
                "item_id": _STR,
                "qty": _QTY,
                "actor": _STR,
            }
        ),
        description="An item of a picked order was scanned into the parcel while packing.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="order.print",
        schema=object_schema(
            {
                "order_id": _STR,
                "request_id": _STR,  # the printer command's request id
                "document": {"type": "string", "enum": DOCUMENTS},
                "device_id": _STR,
            }
        ),
        description="An order's pack label or receipt was sent to a printer.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="order.cancelled",
        schema=object_schema(
            {
                "order_id": _STR,
                "ref": _STR,
                "reason": {"type": "string", "minLength": 1},
                "refund_due_minor": _MONEY,
            }
        ),
        description="An open order was cancelled with a reason; reservations released, picked goods restocked.",
        live=True,
        projected=True,
    ),
    Fact(
        kind="order.return",
        schema=object_schema(
            {
                "order_id": _STR,
                "line_id": _STR,
                "item_id": _STR,
                "qty": _QTY,
                "disposition": {"type": "string", "enum": DISPOSITIONS},
                "reason": {"type": "string", "minLength": 1},
                "location_id": _STR,
                "refund_minor": _MONEY,
            }
        ),
        description="Goods of a handed-over order came back, restocked or written off.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="pick_list.created",
        schema=object_schema(
            {
                "pick_list_id": _STR,
                "ref": _STR,
                "order_ids": {"type": "array", "items": _STR, "minItems": 1},
                "tasks": {"type": "integer", "minimum": 0},
                "picker_id": _STR_OR_NULL,
            }
        ),
        description="Allocated orders were batched into one pick list (a walk through the store).",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="pick_list.assigned",
        schema=object_schema({"pick_list_id": _STR, "picker_id": _STR}),
        description="A pick list was assigned to a picker.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="pick_list.started",
        schema=object_schema({"pick_list_id": _STR, "picker": _STR}),
        description="A picker started walking a pick list.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="pick_list.cancelled",
        schema=object_schema({"pick_list_id": _STR, "ref": _STR, "orders_back": _IDS}),
        description="A pick list was dropped; its orders went back to allocated.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="pick_list.done",
        schema=object_schema({"pick_list_id": _STR, "ref": _STR}),
        description="Every task of a pick list was picked or reported short.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
)

"""Facts the purchasing domain records in the outbox, each with its JSON Schema (see docs/facts.md).

Quantities are integers in the item's base unit (pieces, or grams for kg items); money is integer minor units;
unit costs are per piece or per kg. Stock changes themselves are ``movement`` facts (declared by inventory):
a receipt's ``receive`` movements and a return's ``writeoff`` carry refs ``po:<id>`` and ``rtv:<id>``."""

from __future__ import annotations

from hub.domain import Fact, object_schema
from hub.purchasing.orders import ORIGINS, STATUSES, STEPS
from hub.purchasing.rules import DISCREPANCY_REASONS, RTV_REASONS

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 0}
_MONEY = {"type": "integer", "minimum": 0}
_MONEY_OR_NULL = {"type": ["integer", "null"], "minimum": 0}
_TS = {"type": "string", "format": "date-time"}
_TRANSFER_STEPS = ("proposed", "accepted", "picked", "shipped", "received", "closed", "cancelled")
_DAY_OR_NULL = {"type": ["string", "null"], "format": "date"}

_LOT_QTY = object_schema({"lot": _STR, "expiry": _DAY_OR_NULL, "qty": _INT}, required=["lot", "qty"])

_RAW_ONLY = (
    "Not folded into a central table yet (the central's purchasing projections and the supplier "
    "scorecard are later work): kept in the central's raw events table (sync/central/ingest.py stores "
    "every accepted event there), readable by kind through the central read API's GET /events."
)

_PO_LINE = object_schema(
    {
        "line_no": {"type": "integer", "minimum": 1},
        "item_id": _STR,
        "sku": _STR,
        "unit": {"enum": ["each", "kg"]},
        "qty": {"type": "integer", "minimum": 1},
        "case_units": {"type": "integer", "minimum": 1},
        "unit_cost_minor": _MONEY,
        "received": _COUNT,
    },
    required=["line_no", "item_id", "qty", "case_units", "unit_cost_minor", "received"],
)
_PO = object_schema(
    {
        "id": _STR,
        "number": {"type": "string", "pattern": "^PO-[0-9]{6,}$"},
        "supplier_id": _STR,
        "status": {"type": "string", "enum": list(STATUSES)},
        "origin": {"type": "string", "enum": list(ORIGINS)},
        "expected_date": _DAY_OR_NULL,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "total_minor": _MONEY,
        "approvals_needed": _COUNT,
        "cancel_reason": _STR_OR_NULL,
        "created_by": _STR,
        "lines": {"type": "array", "items": _PO_LINE},
        "approvals": {
            "type": "array",
            "items": object_schema({"step": _INT, "approved_by": _STR, "role": _STR, "ts": _TS}),
        },
    },
    required=["id", "number", "supplier_id", "status", "origin", "currency", "total_minor", "lines", "approvals"],
)

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="supplier.upsert",
        schema=object_schema(
            {
                "id": _STR,
                "code": _STR,
                "name": _STR,
                "contact_name": _STR,
                "phone": _STR,
                "email": _STR,
                "lead_time_days": {"type": "integer", "minimum": 0, "maximum": 365},
                "lead_time_sd_days": {"type": "number", "minimum": 0},
                "min_order_minor": _MONEY,
                "payment_terms": _STR,
                "active": {"type": "boolean"},
                "updated_at": _TS,
            }
        ),
        description="A supplier was created or changed (contacts, promised lead time, minimum order, terms).",
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="supplier.item",
        schema=object_schema(
            {
                "supplier_id": _STR,
                "item_id": _STR,
                "supplier_sku": _STR,
                "case_gtin": {"type": ["string", "null"], "pattern": "^[1-8][0-9]{13}$"},
                "case_units": {"type": "integer", "minimum": 1},
                "preferred": {"type": "boolean"},
                "cost_minor": _MONEY_OR_NULL,
                "prices": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "valid_from": {"type": "string", "format": "date"},
                            "valid_to": _DAY_OR_NULL,
                            "cost_minor": _MONEY,
                        }
                    ),
                },
            },
            required=["supplier_id", "item_id", "case_gtin", "case_units", "preferred", "prices"],
        ),
        description="What a supplier sells us changed: its case pack (case GTIN → units), preferred flag or cost "
        "price list (each cost with its validity).",
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="po.step",
        schema=object_schema(
            {
                "step": {"type": "string", "enum": list(STEPS)},
                "po": _PO,
                "actor": _STR,
                "reason": _STR_OR_NULL,
                "ts": _TS,
            },
            required=["step", "po", "actor", "ts"],
        ),
        description="A purchase order took a step (created, edited, submitted, approved — one fact per approval "
        "step, sent, received, closed, cancelled with its reason); ``po`` is the whole order after it.",
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="po.receipt",
        schema=object_schema(
            {
                "receipt_id": _STR,
                "po_id": _STR,
                "po_number": _STR,
                "supplier_id": _STR,
                "location_id": _STR,
                "blind": {"type": "boolean"},
                "lines": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "movement_id": _STR,
                            "item_id": _STR,
                            "qty": {"type": "integer", "minimum": 1},
                            "lot": _STR_OR_NULL,
                            "expiry": _DAY_OR_NULL,
                            "unit_cost_minor": _MONEY,
                            "avg_cost_minor": _MONEY,
                        }
                    ),
                },
                "discrepancies": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "item_id": _STR,
                            "kind": {"enum": ["over", "under", "wrong_item"]},
                            "expected": _COUNT,
                            "received": _COUNT,
                            "reason": {"enum": list(DISCREPANCY_REASONS)},
                        }
                    ),
                },
                "ssccs": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{18}$"}},
                "confirmed_by": _STR,
                "ts": _TS,
            }
        ),
        description="A delivery was received against an order: the receive movements with lot, expiry and cost, "
        "the discrepancies (over, under, wrong item) with their reasons and the pallet SSCCs.",
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="supplier.return",
        schema=object_schema(
            {
                "id": _STR,
                "supplier_id": _STR,
                "po_id": _STR_OR_NULL,
                "item_id": _STR,
                "location_id": _STR,
                "qty": {"type": "integer", "minimum": 1},
                "lot": _STR_OR_NULL,
                "reason": {"enum": list(RTV_REASONS)},
                "note": _STR,
                "movement_id": _STR,
                "actor": _STR,
                "ts": _TS,
            }
        ),
        description="Stock went back to the supplier (RTV) with a reason; its writeoff movement is ``movement_id``.",
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="item.cost",
        schema=object_schema(
            {
                "movement_id": _STR,
                "item_id": _STR,
                "qty": {"type": "integer", "minimum": 1},
                "unit_cost_minor": _MONEY,
                "on_hand_before": _INT,
                "avg_before_minor": _MONEY_OR_NULL,
                "avg_after_minor": _MONEY,
                "ts": _TS,
            }
        ),
        description="An item's moving-average cost after a receipt (per piece, or per kg), for finance.",
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="replenishment.run",
        schema=object_schema(
            {
                "id": _STR,
                "day": {"type": "string", "format": "date"},
                "items": _COUNT,
                "suggested_items": _COUNT,
                "suppliers": _COUNT,
                "drafts": {
                    "type": "array",
                    "items": object_schema(
                        {"po_id": _STR, "number": _STR, "supplier_id": _STR, "lines": _COUNT, "total_minor": _MONEY}
                    ),
                },
                "below_minimum": {"type": "array", "items": _STR},
                "ts": _TS,
            }
        ),
        description="A replenishment run: how many items it computed, how many it suggests ordering and the draft "
        "orders it wrote per supplier.",
        projected=False,
        note=_RAW_ONLY,
    ),
    # ---------------------------------------------------------------- transfers between stores, lots (recall)
    Fact(
        kind="transfer.step",
        schema=object_schema(
            {
                "step": {"type": "string", "enum": list(_TRANSFER_STEPS)},
                "transfer": object_schema(
                    {
                        "id": _STR,
                        "from_store": _STR,
                        "to_store": _STR,
                        "status": {"type": "string", "enum": list(_TRANSFER_STEPS)},
                        "origin": {"enum": ["store", "head_office"]},
                        "proposed_by": _STR,
                        "note": _STR,
                        "lines": {
                            "type": "array",
                            "items": object_schema(
                                {
                                    "line_no": {"type": "integer", "minimum": 1},
                                    "item_id": _STR,
                                    "sku": _STR,
                                    "qty": {"type": "integer", "minimum": 1},
                                    "picked": _COUNT,
                                    "shipped": _COUNT,
                                    "received": _COUNT,
                                    "lots": {"type": "array", "items": _LOT_QTY},
                                },
                                required=["line_no", "item_id", "sku", "qty", "picked", "shipped", "received"],
                            ),
                        },
                        "discrepancies": {
                            "type": "array",
                            "items": object_schema(
                                {
                                    "item_id": _STR,
                                    "sku": _STR,
                                    "kind": {"enum": ["short", "over", "wrong_item"]},
                                    "qty": {"type": "integer", "minimum": 1},
                                    "reason": _STR,
                                }
                            ),
                        },
                    },
                    required=["id", "from_store", "to_store", "status", "lines"],
                ),
                "actor": _STR,
                "ts": _TS,
            },
            required=["step", "transfer", "actor", "ts"],
        ),
        description="A step of a transfer between stores (hub/purchasing/transfers.py), with the whole document: "
        "proposed, accepted, picked, shipped (the lines with the lots they took: stock in transit), received (what "
        "arrived and the discrepancies with reasons), closed or cancelled. The stock itself moves as `movement` "
        "facts with ref `xfer:<id>` (transfer_out at the sender, transfer_in at the receiver).",
        projected=False,
        note="Read at the central from the raw events table by sync/central/transfers.py: the shipped step is "
        "relayed to the receiving store through the downlink (kind `transfer`), and the in-transit book across "
        "stores is the shipped lines of transfers with no received step yet.",
    ),
    Fact(
        kind="lot.moved",
        schema=object_schema(
            {
                "movement_id": _STR,
                "kind": _STR,
                "item_id": _STR,
                "location_id": _STR,
                "ref": _STR_OR_NULL,
                "lots": {
                    "type": "array",
                    "items": object_schema(
                        {"lot": _STR, "expiry": _DAY_OR_NULL, "qty_delta": _INT}, required=["lot", "qty_delta"]
                    ),
                },
                "ts": _TS,
            },
            required=["movement_id", "kind", "item_id", "location_id", "lots", "ts"],
        ),
        description="The lots a movement of a lot-controlled item brought or took (a sale's, a pick's, a "
        "transfer's: FEFO when the movement named none), so the central can answer a recall across stores.",
        projected=False,
        note="Read at the central from the raw events table by sync/central/recall.py (with the sale.completed "
        "facts whose receipt code is the sale movement's ref).",
    ),
    Fact(
        kind="markdown.suggested",
        schema=object_schema(
            {
                "id": _STR,
                "item_id": _STR,
                "sku": _STR,
                "lot": _STR,
                "expiry": {"type": "string", "format": "date"},
                "days_left": {"type": "integer", "minimum": 0},
                "qty": _INT,
                "percent": {"type": "integer", "minimum": 1, "maximum": 90},
                "ts": _TS,
            },
            required=["id", "item_id", "sku", "lot", "expiry", "days_left", "qty", "percent", "ts"],
        ),
        description="A lot on hand close to its expiry (within its category's warning days): a markdown of "
        "`percent` off until the end of the expiry day is suggested for a manager to approve (hub/purchasing/"
        "markdowns.py). Live: the handhelds show it.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="markdown.approved",
        schema=object_schema(
            {
                "id": _STR,
                "item_id": _STR,
                "sku": _STR,
                "lot": _STR,
                "expiry": {"type": "string", "format": "date"},
                "percent": {"type": "integer", "minimum": 1, "maximum": 90},
                "approved_by": _STR,
                "promotion": {"type": "object"},
                "ts": _TS,
            },
            required=["id", "item_id", "sku", "lot", "expiry", "percent", "approved_by", "promotion", "ts"],
        ),
        description="A manager approved a near-expiry markdown: `promotion` is the store-level percent_off "
        "promotion it became, as authored for the promotions engine (scoped to the SKU, valid to the end of the "
        "expiry day), for the central to publish to this store. Live.",
        live=True,
        projected=False,
        note=_RAW_ONLY + " Publishing it as a promotion for the store is the central's step (not built yet).",
    ),
)

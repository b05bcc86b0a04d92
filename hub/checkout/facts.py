"""Facts the checkout records in the outbox, each with its JSON Schema (see docs/facts.md).

The central folds sales and returns into its sales tables (sync/central/sales.py); the other kinds stay in
its raw events table (the finance issue's e-invoices will fold them). ``checkout.cart`` is live so the
customer display follows the cart."""

from __future__ import annotations

from typing import Any

from hub.domain import Fact, object_schema

_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer"}
_NSTR: dict[str, Any] = {"type": ["string", "null"]}
_MINOR: dict[str, Any] = {"type": "integer"}
_DATE: dict[str, Any] = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}

_TAX = {"type": "array", "items": object_schema({"rate": _STR, "tax_minor": _MINOR})}
_TENDERS = {
    "type": "array",
    "items": object_schema(
        {"id": _STR, "method": _STR, "amount_minor": _MINOR, "change_minor": _MINOR}, ["method", "amount_minor"]
    ),
}
_SALE_LINE = object_schema(
    {
        "line_no": _INT,
        "item_id": _STR,
        "sku": _STR,
        "qty": _INT,
        "weighed": {"type": "boolean"},
        "gross_minor": _MINOR,
        "discount_minor": _MINOR,
        "net_minor": _MINOR,
        "tax_minor": _MINOR,
    }
)
_RETURN_LINE = object_schema(
    {
        "line_no": _INT,
        "item_id": _STR,
        "sku": _STR,
        "qty": _INT,
        "refund_minor": _MINOR,
        "disposition": {"enum": ["restock", "writeoff"]},
    },
    ["line_no", "item_id", "sku", "qty", "refund_minor", "disposition"],
)
_TOTALS = object_schema(
    {
        "sales": _INT,
        "returns": _INT,
        "gross_sales_minor": _MINOR,
        "discount_minor": _MINOR,
        "net_sales_minor": _MINOR,
        "refunds_minor": _MINOR,
        "rounding_minor": _MINOR,
        "tax": _TAX,
        "tenders": {"type": "object", "additionalProperties": _MINOR},  # by method: cash, card_terminal, points …
        "points_burnt": _INT,  # members' points taken as a tender, net of points given back on returns
        "cash_expected_minor": _MINOR,
    },
    ["sales", "returns", "net_sales_minor", "refunds_minor", "tenders", "cash_expected_minor"],
)

_RAW = "Kept in the central's raw events table until the central has a checkout projection (sales analytics)."

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="sale.completed",
        schema=object_schema(
            {
                "sale_id": _STR,
                "till_id": _STR,
                "business_date": _DATE,
                "receipt_no": _INT,
                "receipt_code": _STR,
                "ts": _STR,
                "cashier": _STR,
                "subtotal_minor": _MINOR,
                "discount_minor": _MINOR,
                "total_minor": _MINOR,
                "rounding_minor": _MINOR,
                "tendered_minor": _MINOR,
                "currency": _STR,
                "tax": _TAX,
                "lines": {"type": "array", "minItems": 1, "items": _SALE_LINE},
                "tenders": _TENDERS,
                "promotions_version": _INT,
                "journal_seq": _INT,
            }
        ),
        description="A sale was committed at a till: its lines as priced, tenders and receipt number.",
        projected=True,
    ),
    Fact(
        kind="sale.returned",
        schema=object_schema(
            {
                "return_id": _STR,
                "sale_id": _STR,
                "till_id": _STR,
                "business_date": _DATE,
                "receipt_no": _INT,
                "receipt_code": _STR,
                "ts": _STR,
                "cashier": _STR,
                "approved_by": _NSTR,
                "refund_minor": _MINOR,
                "rounding_minor": _MINOR,
                "lines": {"type": "array", "minItems": 1, "items": _RETURN_LINE},
                "tenders": _TENDERS,
                "journal_seq": _INT,
            }
        ),
        description="Goods of a sale came back by its receipt code; what was refunded, to which tenders.",
        projected=True,
    ),
    Fact(
        kind="checkout.cart",
        schema=object_schema(
            {
                "till_id": _STR,
                "cart_id": _NSTR,
                "status": _STR,
                "version": _INT,
                "lines": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "name": _STR,
                            "name_zh": _STR,
                            "qty": _INT,
                            "weighed": {"type": "boolean"},
                            "net_minor": _MINOR,
                            "discount_minor": _MINOR,
                        }
                    ),
                },
                "total_minor": _MINOR,
                "paid_minor": _MINOR,
                "due_minor": _MINOR,
                "change_minor": _MINOR,
                "tender": object_schema(
                    {
                        "phase": {
                            "enum": [
                                "none",
                                "show_code",
                                "confirm_on_phone",
                                "present_card",
                                "checking_card",
                                "card_on_terminal",
                                "partly_paid",
                                "failed",
                                "done",
                            ]
                        },
                        "method": _NSTR,
                        "amount_minor": _MINOR,
                        "due_minor": _MINOR,
                        "paid": {
                            "type": "array",
                            "items": object_schema(
                                {"method": _STR, "amount_minor": _MINOR}, ["method", "amount_minor"]
                            ),
                        },
                        "change_minor": _MINOR,
                        "error": _NSTR,
                    }
                ),
            }
        ),
        description="The till's cart changed (what the customer display shows: lines, total, paid, change, and "
        "the payment under way: the prompt to show a payment code or present a card, what each tender paid, a "
        "failed payment).",
        live=True,
        projected=False,
        note="For the customer display only (no personal data); the central keeps it in its raw events table and folds nothing.",
    ),
    Fact(
        kind="checkout.cash_moved",
        schema=object_schema(
            {
                "id": _STR,
                "till_id": _STR,
                "shift_id": _STR,
                "business_date": _DATE,
                "kind": {"enum": ["paid_in", "paid_out", "safe_drop", "no_sale"]},
                "amount_minor": _MINOR,
                "reason": _STR,
                "actor": _STR,
                "approved_by": _NSTR,
                "ts": _STR,
            }
        ),
        description="Cash went into or out of a till drawer outside a sale (paid-in, paid-out, safe drop), or the "
        "drawer was opened without a sale.",
        projected=False,
        note=_RAW,
    ),
    Fact(
        kind="checkout.shift_closed",
        schema=object_schema(
            {
                "shift_id": _STR,
                "till_id": _STR,
                "business_date": _DATE,
                "opened_by": _STR,
                "closed_by": _STR,
                "float_minor": _MINOR,
                "expected_minor": _MINOR,
                "counted_minor": _MINOR,
                "over_short_minor": _MINOR,
                "ts": _STR,
            }
        ),
        description="A till shift was closed with a blind cash count: expected, counted, over/short.",
        projected=False,
        note=_RAW,
    ),
    Fact(
        kind="checkout.z_report",
        schema=object_schema(
            {
                "till_id": _STR,
                "business_date": _DATE,
                "z_number": _INT,
                "closed_by": _STR,
                "ts": _STR,
                "totals": _TOTALS,
                "first_receipt_no": {"type": ["integer", "null"]},
                "last_receipt_no": _INT,
                "journal_seq": _INT,
                "journal_hash": _STR,
            }
        ),
        description="A till's business day was sealed by its Z report (numbered, one per till per day).",
        projected=False,
        note=_RAW,
    ),
)

"""Checkout at the till: carts by scan, prices from the promotions engine, tenders, the hash-chained sale
journal, receipts, returns, shifts and Z reports — declared once here (see docs/checkout.md).

The hub is the till's system of record: the open cart, every tender's state and the journal live in the hub's
database, so a till keeps selling when the internet is down and a hub restart loses nothing."""

from hub.checkout.facts import FACTS
from hub.domain import Domain, Setting

_MINOR = {"type": "integer", "minimum": 0, "maximum": 100_000_000}
_RATE = {"type": "string", "pattern": r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"}
_DEVICE = {"type": ["string", "null"], "pattern": r"^[a-z0-9-]{1,64}$"}

SETTINGS = (
    Setting(
        "checkout.cash_rounding",
        {"step_minor": 1, "mode": "half_up"},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["step_minor", "mode"],
            "properties": {
                "step_minor": {"type": "integer", "minimum": 1, "maximum": 100},
                "mode": {"enum": ["half_up", "down"]},
            },
        },
        "Cash rounding",
        "The smallest cash step (fen): 1 = none, 10 = CNY to 0.1 (角). half_up rounds to the nearest step, "
        "down drops the odd fen (抹零). Only the cash that settles a sale is rounded; cards pay to the fen.",
    ),
    Setting(
        "checkout.approval_limit_minor",
        2000,
        _MINOR,
        "Till: approval limit for changes by hand",
        "A price override or manual discount worth more than this (fen) needs a supervisor's badge.",
    ),
    Setting(
        "checkout.return_approval_limit_minor",
        10000,
        _MINOR,
        "Till: approval limit for refunds",
        "A return refunding more than this (fen) needs a supervisor's badge.",
    ),
    Setting(
        "checkout.tax_rates",
        {"default": "0.13", "categories": {}},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["default"],
            "properties": {"default": _RATE, "categories": {"type": "object", "additionalProperties": _RATE}},
        },
        "VAT rates (prices include tax)",
        "The rate of an item's category, else the default; receipts and Z reports show tax per rate.",
    ),
    Setting(
        "checkout.sale_location",
        "STORE",
        {"type": "string", "minLength": 1, "maxLength": 64},
        "Till: stock location sales come from",
        "The location code sale and return movements post to.",
    ),
    Setting(
        "checkout.denominations",
        [10000, 5000, 2000, 1000, 500, 100, 50, 10],
        {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "integer", "minimum": 1}},
        "Cash denominations (fen)",
        "Notes and coins a blind count is made of (CNY: ¥100 … 1角).",
    ),
    Setting(
        "checkout.printer_device",
        None,
        _DEVICE,
        "Till: default receipt printer",
        "The printer device of a till that names none (its cash drawer hangs on the printer's kick port).",
    ),
    Setting(
        "checkout.scale_device",
        None,
        _DEVICE,
        "Till: default counter scale",
        "The scale whose latest stable weight a PLU or a kg item takes, for a till that names none.",
    ),
    Setting(
        "checkout.scale_max_age_s",
        30,
        {"type": "integer", "minimum": 1, "maximum": 600},
        "Till: newest stable weight is good for (s)",
        "An older stable reading is not used: the cashier puts the goods on the scale again.",
    ),
)

DOMAIN = Domain(
    name="checkout",
    summary="the till: sales by scan, tenders, hash-chained journal, receipts, returns, shifts and Z reports",
    package="hub.checkout",
    routes=("hub.checkout.api:bp",),
    cli=(("checkout", "hub.checkout.cli:checkout_group"),),
    facts=FACTS,
    settings=SETTINGS,
    migrations=True,
    screens=("checkout", "checkout_linebust"),
)

"""Purchasing: suppliers, purchase orders with approval by value, receiving by scan on the handheld, lots and
expiry, returns to supplier, moving-average cost and replenishment (docs/purchasing.md)."""

from hub.domain import Domain, Setting
from hub.purchasing.facts import FACTS

_MONEY = {"type": "integer", "minimum": 0}

SETTINGS = (
    Setting(
        "purchasing.supervisor_limit_minor",
        500_000,
        _MONEY,
        "Purchase order: supervisor approval limit",
        "Largest order value (minor units) a supervisor may approve; above it a manager must.",
    ),
    Setting(
        "purchasing.two_step_above_minor",
        5_000_000,
        _MONEY,
        "Purchase order: head-office threshold",
        "Above this value (minor units) an order needs two approvals: the store's manager, then head office "
        "(the admin role), two different people.",
    ),
    Setting(
        "purchasing.over_receipt_tolerance_pct",
        5,
        {"type": "number", "minimum": 0, "maximum": 100},
        "Receiving: over-delivery tolerance",
        "Percent above the ordered quantity a line may be received; beyond it a scan is refused.",
    ),
    Setting(
        "purchasing.blind_receiving",
        False,
        {"type": "boolean"},
        "Receiving: blind by default",
        "When true, the handheld does not show what the order expects until the receipt is confirmed.",
    ),
    Setting(
        "purchasing.receiving_location",
        "STORE",
        {"type": ["string", "null"], "maxLength": 32},
        "Receiving location",
        "Code of the location deliveries are received into (default: the store).",
    ),
    Setting(
        "purchasing.near_expiry_days",
        {"default": 7, "categories": {}},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["default"],
            "properties": {
                "default": {"type": "integer", "minimum": 0, "maximum": 3650},
                "categories": {
                    "type": "object",
                    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 3650},
                },
            },
        },
        "Near-expiry warning days",
        "Days before expiry a lot raises a near_expiry alert, per category.",
    ),
    Setting(
        "purchasing.service_level",
        0.95,
        {"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 1},
        "Replenishment: target service level",
        "Probability of not running out during a lead time (0.5-1).",
    ),
    Setting(
        "purchasing.demand_window_days",
        91,
        {"type": "integer", "minimum": 7, "maximum": 730},
        "Replenishment: demand window",
        "Days of daily sales the reorder figures are computed from.",
    ),
    Setting(
        "purchasing.review_period_days",
        7,
        {"type": "integer", "minimum": 0, "maximum": 90},
        "Replenishment: review period",
        "Days between orders to a supplier (order-up-to covers lead time + it).",
    ),
)

DOMAIN = Domain(
    name="purchasing",
    summary="suppliers, purchase orders, receiving by scan, lots and expiry, returns to supplier, replenishment",
    package="hub.purchasing",
    routes=("hub.purchasing.api:bp", "hub.purchasing.transfers_api:bp"),
    cli=(("purchasing", "hub.purchasing.cli:purchasing_group"),),
    stock_in=("hub.purchasing.lots:on_stock", "hub.purchasing.recall:on_stock", "hub.purchasing.demand:on_stock"),
    stock_out=("hub.purchasing.lots:on_stock", "hub.purchasing.recall:on_stock", "hub.purchasing.demand:on_stock"),
    facts=FACTS,
    settings=SETTINGS,
    migrations=True,
    screens=("purchasing", "purchasing_receive", "purchasing_transfer", "purchasing_transfer_do"),
)

"""Orders and picking: the pure domain.

Orders arrive from several channels (``intake``, ``importer``), stock is reserved
per line across locations in walk order (``allocation``), reviewed by rules
(``review``), picked in batched walks with scan validation (``picking``), packed,
printed, handed over, cancelled or returned (``fulfilment``). ``sla`` raises
alerts for orders waiting too long; ``analytics`` measures pickers and states.

Every function takes an open connection (inside ``Database.write()`` for
changes) and never commits. Stock only changes through ``hub.inventory.ledger.post``
(``reserve`` / ``release`` / ``pick`` / ``return`` / ``writeoff``); every fact
goes to the outbox and every state change to the audit log.
"""

from hub.domain import Domain, Setting
from hub.orders.facts import FACTS

_MINUTES = {"type": "integer", "minimum": 1, "maximum": 60 * 24 * 60}
SETTINGS = (
    Setting(
        "orders.review",
        {
            "max_amount_minor": 200_000,  # orders above this need a person to look
            "max_lines": 60,
            "require_phone": True,  # pickup and delivery need a phone number
            "postcode_pattern": r"^[0-9]{6}$",  # delivery address postcode format (CN)
            "blocked_postcodes": [],
            "pickup_max_days_ahead": 14,
            "review_channels": [],  # channels always reviewed by a person (e.g. ["phone"])
        },
        {
            "type": "object",
            "properties": {
                "max_amount_minor": {"type": "integer", "minimum": 0},
                "max_lines": {"type": "integer", "minimum": 1},
                "require_phone": {"type": "boolean"},
                "postcode_pattern": {"type": "string", "maxLength": 200},
                "blocked_postcodes": {"type": "array", "items": {"type": "string"}},
                "pickup_max_days_ahead": {"type": "integer", "minimum": 0},
                "review_channels": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Automatic order review",
        "An order breaking any rule waits in the manual review queue.",
    ),
    Setting(
        "orders.partial_policy",
        "split",
        {"type": "string", "enum": ["split", "backorder"]},
        "Partial availability",
        "split: ship what is there and back-order the rest in a child order; backorder: hold the whole order.",
    ),
    Setting("orders.auto_allocate", True, {"type": "boolean"}, "Reserve stock when an order arrives"),
    Setting(
        "orders.sla_minutes",
        {
            "new": 15,
            "backordered": 24 * 60,
            "allocated": 30,
            "picking": 45,
            "picked": 20,
            "packed": 15,
            "ready": 48 * 60,
        },
        {"type": "object", "additionalProperties": _MINUTES},
        "Order waiting limits",
        "Minutes an order may wait in each state before an alert (critical at twice).",
    ),
    Setting(
        "orders.weight_tolerance_pct",
        10,
        {"type": "integer", "minimum": 0, "maximum": 100},
        "Weighed pick tolerance",
        "A weighed (kg) pick is complete within this % of the ordered grams.",
    ),
    Setting(
        "orders.substitute_price_pct",
        30,
        {"type": "integer", "minimum": 0, "maximum": 1000},
        "Substitute price band",
        "Substitutes are suggested within this % around the original price.",
    ),
    Setting("orders.pick_batch_size", 8, {"type": "integer", "minimum": 1, "maximum": 100}, "Orders per pick walk"),
    Setting(
        "orders.printer_device",
        "printer-1",
        {"type": "string", "minLength": 1, "maxLength": 64},
        "Pack printer",
        "Printer device for pack labels and receipts when a request names none.",
    ),
)

DOMAIN = Domain(
    name="orders",
    summary="orders from every channel, allocation, review, picking, packing, hand-over, returns",
    package="hub.orders",
    facts=FACTS,
    routes=("hub.orders.api:bp",),
    cli=(("orders", "hub.orders.cli:orders_cli"),),
    stock_in=("hub.orders.backorders:on_stock_in",),
    settings=SETTINGS,
    demo="hub.orders.demo:components",
    migrations=True,
    screens=("pick", "pick_walk", "pack", "orders", "orders_alerts"),
)

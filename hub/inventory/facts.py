"""Facts the inventory domain records in the outbox: ledger movements (``ledger.py``), items (``catalog.py``) and
locations (``locations.py``). Quantities are integers in the item's base unit: pieces for ``each`` items, grams for
``kg`` items; money is integer minor units of the store currency."""

from __future__ import annotations

from hub.domain import Fact, object_schema

# hub.inventory.ledger.MOVEMENT_KINDS
MOVEMENT_KINDS = [
    "receive",
    "sale",
    "return",
    "adjust",
    "count",
    "transfer_out",
    "transfer_in",
    "writeoff",
    "reserve",
    "release",
    "pick",
]
UNITS = ["each", "kg"]  # hub.inventory.catalog.UNITS
LOCATION_KINDS = ["store", "area", "aisle", "bay", "bin"]  # hub.inventory.locations.KINDS

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 0}
_BOOL = {"type": "boolean"}
_TS = {"type": "string", "format": "date-time"}
_ITEM_REQUIRED = (
    "id",
    "sku",
    "name_en",
    "name_zh",
    "brand",
    "category",
    "unit",
    "price_minor",
    "cost_minor",
    "variable_measure",
    "plu",
    "safety_stock",
    "reorder_point",
    "unit_weight_g",
    "active",
    "created_at",
    "updated_at",
    "gtins",
)

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="movement",
        schema=object_schema(
            {
                "seq": {"type": "integer", "minimum": 1},  # the hub's ledger sequence
                "id": _STR,
                "idempotency_key": _STR,
                "kind": {"type": "string", "enum": MOVEMENT_KINDS},
                "item_id": _STR,
                "location_id": _STR,
                "qty_delta": _INT,  # signed on-hand change (pieces or grams)
                "reserved_delta": _INT,  # signed reserved change
                "reason": _STR,
                "ref": _STR_OR_NULL,  # order id, count session id, "transfer:<key>", ...
                "actor": _STR,
                "device": _STR_OR_NULL,
                "ts": _TS,
            }
        ),
        description="Stock of an item changed at a location (one immutable ledger movement).",
        live=True,
        projected=True,
    ),
    Fact(
        kind="item.upsert",
        schema=object_schema(
            {
                "id": _STR,
                "sku": _STR,
                "name_en": _STR,
                "name_zh": _STR,
                "brand": _STR,
                "category": _STR,
                "unit": {"type": "string", "enum": UNITS},
                "price_minor": _COUNT,  # per piece, or per kg for "kg" items
                "cost_minor": _COUNT,
                "variable_measure": _BOOL,
                "plu": {"type": ["string", "null"], "pattern": "^[0-9]{1,6}$"},
                "safety_stock": _COUNT,
                "reorder_point": _COUNT,
                "unit_weight_g": {"type": ["integer", "null"], "exclusiveMinimum": 0},
                "active": _BOOL,
                "created_at": _TS,
                "updated_at": _TS,
                "gtins": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{14}$"}},  # GTIN-14
                # SHA-256 of the item's picture (hub.inventory.pictures), null for none; absent before issue 12
                "picture_sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
            },
            required=list(_ITEM_REQUIRED),
        ),
        description="An item was created or changed; the whole item as it is now, with its GTINs.",
        live=True,
        projected=True,
    ),
    Fact(
        kind="location.upsert",
        schema=object_schema(
            {
                "id": _STR,
                "code": _STR,
                "name": _STR,
                "kind": {"type": "string", "enum": LOCATION_KINDS},
                "parent_id": _STR_OR_NULL,  # null only for the store itself
                "walk_seq": _INT,
                "created_at": _TS,
                "label": _STR,  # the scannable label, "SHL-<code>"
            }
        ),
        description="A location (store, area, aisle, bay or bin) was created; the whole location.",
        live=True,
        projected=True,
    ),
)

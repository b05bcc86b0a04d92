"""Facts the device bus records in the outbox: scans and weights (``builtin.py``), device state, info and health
(``registry.py``), command results (``commands.py``), shelf levels (``shelf.py``) and alerts (``alerts.py``).

Device fields come from messages already checked against the device contract (``hub/protocol/contract.py``);
``ts`` in a device fact is the device's own time, the fact's outbox time is when the hub received it."""

from __future__ import annotations

from hub.domain import Fact, object_schema

DEVICE_KINDS = ["scanner", "scale", "printer", "rfid", "shelf"]  # hub.protocol.contract.KINDS
DEVICE_STATUSES = ["online", "offline"]  # hub.protocol.contract.STATUS_VALUES
PAPER = ["ok", "low", "out"]
SHELF_LEVELS = ["ok", "low", "empty", "unbound"]  # hub.bus.shelf.level_for, or unbound
# hub.bus.alerts.KINDS and SEVERITIES
ALERT_KINDS = [
    "device_offline",
    "device_silent",
    "device_error",
    "paper_out",
    "low_battery",
    "antenna_disconnected",
    "clock_skew",
    "low_stock",
    "empty_shelf",
    "below_reorder_point",
    "below_safety_stock",
    "near_expiry",
    "expired_stock",
    "po_late",
]
ANTENNA_STATES = ["connected", "disconnected"]  # hub.protocol.rfid_formats.ANTENNA_STATES
SEVERITIES = ["info", "warning", "critical"]

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_TS = {"type": "string", "format": "date-time"}
_BATTERY = {"type": "integer", "minimum": 0, "maximum": 100}
_PAPER = {"type": "string", "enum": PAPER}

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="device.scan",
        schema=object_schema(
            {
                "device_id": _STR,
                "event_id": _STR,
                "code": {"type": "string", "minLength": 1},
                "symbology": _STR_OR_NULL,
                "item_id": _STR_OR_NULL,  # the catalog item the code names, if any
                "ts": _TS,
            }
        ),
        description="A fixed or handheld scanner on the bus read a code.",
        live=True,
        projected=True,
    ),
    Fact(
        kind="device.weight",
        schema=object_schema(
            {
                "device_id": _STR,
                "event_id": _STR,
                "grams": {"type": "integer"},  # whole grams
                "mg": {"type": "integer"},  # the same at the scale's resolution (2.486 g: 2486)
                "net": {"type": ["boolean", "null"]},  # true when a tare is applied; null when not reported
                "ts": _TS,
            }
        ),
        description="A scale reported a new stable weight.",
        live=True,
        projected=True,
    ),
    Fact(
        kind="device.status",
        schema=object_schema(
            {
                "device_id": _STR,
                "status": {"type": "string", "enum": DEVICE_STATUSES},
            }
        ),
        description="A device came online or went offline (or its state was first learnt).",
        live=True,
        projected=True,
    ),
    Fact(
        kind="device.info",
        schema=object_schema(
            {
                "device_id": _STR,
                "kind": {"type": "string", "enum": DEVICE_KINDS},
                "model": _STR,
                "firmware": _STR,
                "capabilities": {"type": "array", "items": _STR},
                "battery_pct": _BATTERY,
                "paper": _PAPER,
                "error": _STR_OR_NULL,
                "serial": _STR,
                "agent_version": _STR,
                "ts": _TS,
            },
            required=["device_id", "kind", "model", "firmware"],
        ),
        description="A device announced what it is (kind, model, firmware, capabilities) and it differs from before.",
        live=True,
        projected=True,
    ),
    Fact(
        kind="device.health",
        schema=object_schema(
            {
                "device_id": _STR,
                "battery_pct": _BATTERY,
                "paper": _PAPER,
                "error": _STR_OR_NULL,
                "radio": _STR,  # a reader's radio connection, as its heartbeat says
                "antennas": {
                    "type": "object",  # a reader's antenna ports: port -> state
                    "additionalProperties": {"type": "string", "enum": ANTENNA_STATES},
                },
                "clock_skew_ms": {"type": ["integer", "null"]},  # reader clock minus hub clock; null: within tolerance
            },
            required=["device_id"],
        ),
        description="A device's battery, paper or error state, a reader's radio or antenna states, or how far a "
        "reader's clock is from the hub's changed; only the changed fields are present.",
        live=True,
        projected=True,
    ),
    Fact(
        kind="device.command_result",
        schema=object_schema(
            {
                "request_id": _STR,
                "device_id": _STR,
                "ok": {"type": "boolean"},
                "error": _STR_OR_NULL,
            }
        ),
        description="A device answered a command the hub sent it (e.g. a print), successfully or not.",
        live=True,
        projected=True,
    ),
    Fact(
        kind="shelf.level",
        schema=object_schema(
            {
                "device_id": _STR,
                "item_id": _STR_OR_NULL,  # null while the sensor is unbound
                "location_id": _STR_OR_NULL,
                "grams": {"type": "number"},  # the load cell's reading (may be fractional)
                "units": {"type": ["integer", "null"], "minimum": 0},
                "level": {"type": "string", "enum": SHELF_LEVELS},
                "ts": _TS,
            }
        ),
        description="A shelf sensor's count of units on display (or its level) changed.",
        live=True,
        projected=False,
        note="Not folded into any central table (projections.py folds device.* and alert* kinds, not shelf.*): kept "
        "only in the central's raw events table (sync/central/ingest.py stores every accepted event there), "
        "readable by kind through the central read API's GET /events.",
    ),
    Fact(
        kind="alert.raised",
        schema=object_schema(
            {
                "id": _STR,
                "kind": {"type": "string", "enum": ALERT_KINDS},
                "subject": _STR,  # the device id, or item:<id> for a stock alert
                "severity": {"type": "string", "enum": SEVERITIES},
                "message": _STR,
                "details": {"type": ["object", "null"]},
            }
        ),
        description="An alert was opened (device offline or silent, device error, paper out, low battery, a "
        "reader antenna disconnected or reader clock skew, low stock or empty shelf, an item at its "
        "reorder point or below its safety stock).",
        live=True,
        projected=True,
    ),
    Fact(
        kind="alert.cleared",
        schema=object_schema(
            {
                "id": _STR,
                "kind": {"type": "string", "enum": ALERT_KINDS},
                "subject": _STR,
            }
        ),
        description="An open alert was cleared because its condition went away.",
        live=True,
        projected=True,
    ),
)

"""The hub's device bus: the MQTT contract, the one bus process per hub, the
device registry, dead letters, commands, alerts and shelf sensors."""

from hub.bus.facts import FACTS
from hub.domain import Domain, Setting

SETTINGS = (
    Setting(
        "device_silence_s",
        {},
        {"type": "object", "additionalProperties": {"type": ["integer", "null"], "minimum": 10}},
        "Device silence thresholds",
        "Seconds an online device of each kind may stay quiet before a device_silent alert (null: never);"
        " merged over the built-in defaults.",
    ),
    Setting(
        "device_event_retention_days",
        30,
        {"type": "integer", "minimum": 15, "maximum": 3650},
        "Device event retention",
        "Days processed device-event ids are kept for exactly-once checks.",
    ),
)

DOMAIN = Domain(
    name="bus",
    summary="the MQTT device bus: contract, registry, handlers, commands, alerts, shelf sensors",
    package="hub.bus",
    facts=FACTS,
    routes=("hub.bus.api:bp",),
    cli=(
        ("bus", "hub.bus.cli:bus_command"),
        ("broker", "hub.bus.cli:broker_command"),
        ("devices", "hub.bus.cli:devices_group"),
    ),
    handlers=(
        ("scan", "hub.bus.builtin:on_scan"),
        ("weight", "hub.bus.builtin:on_weight"),
        ("shelf", "hub.bus.shelf:on_shelf"),
        ("state", "hub.bus.builtin:on_state"),
    ),
    stock_in=("hub.bus.stockalerts:on_stock_change",),
    stock_out=("hub.bus.stockalerts:on_stock_change",),
    settings=SETTINGS,
    demo="hub.bus.demo:components",
    migrations=True,
    screens=("devices",),
)

"""Demo components of the device bus: the embedded broker (the hub's ``serve --mqtt`` starts the bus)."""

from __future__ import annotations

from hub.demo.context import Component, DemoContext


def components(ctx: DemoContext) -> list[Component]:
    return [Component("mqtt-broker (amqtt)", ctx.storehub("broker", "--host", ctx.mqtt_host,
                                                          "--port", str(ctx.mqtt_port)),
                      wait_port=ctx.mqtt_port, url=f"{ctx.mqtt_url} (embedded, demo only)")]

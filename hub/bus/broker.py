"""The demo's embedded MQTT broker (amqtt), for a hub with no Mosquitto configured.

Production uses Mosquitto with the project's config (``firmware_configs/mosquitto``):
per-device accounts, ACLs, persistence, TLS. This broker is for ``storehub demo``
and development only: anonymous, in memory, loopback by default. amqtt speaks
MQTT 3.1.1, so the bus connects to it with ``?protocol=311``."""

from __future__ import annotations

import asyncio
import logging
import signal

log = logging.getLogger("storehub.broker")


def broker_config(host: str, port: int) -> dict:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 200}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def serve(host: str, port: int, stop: asyncio.Event) -> None:
    from amqtt.broker import Broker

    broker = Broker(broker_config(host, port))
    await broker.start()
    log.info("embedded MQTT broker (amqtt) on %s:%d", host, port)
    try:
        await stop.wait()
    finally:
        await broker.shutdown()


def run(host: str = "127.0.0.1", port: int = 1884) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("storehub.broker").setLevel(logging.INFO)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(host, port, stop)

    asyncio.run(main())
    return 0

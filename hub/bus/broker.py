"""The demo's embedded MQTT broker (amqtt), for a hub with no Mosquitto configured.

Production uses Mosquitto with the project's config (``firmware_configs/mosquitto``):
per-device accounts, ACLs, persistence, TLS. This broker is for ``storehub demo``
and development only: anonymous, in memory, loopback by default. amqtt speaks
MQTT 3.1.1 only, so the bus is told so (``?protocol=311`` in its broker URL, ``hub.demo.runner``) instead of
trying MQTT 5 first and being dropped. A port probe (a TCP connect that sends nothing) is not logged.

Like the shipped Mosquitto (``use_username_as_clientid``), it binds a client's id to the username it connects
with: a client that gives a username gets that as its client id (and session), whatever id it asked for, so
connecting with the hub's id and a clean session cannot wipe the hub's queued events or knock the hub off.
A client without a username keeps its own id: anonymous access has no identities to bind."""

from __future__ import annotations

import asyncio
import logging
import signal

log = logging.getLogger("storehub.broker")

# What amqtt says about a TCP connection closed before it sent a byte: a port probe (the demo waits for this
# port to open; monitoring checks do the same), not a failing client. Everything else it logs is kept.
PROBE_NOISE = "No data to decode MQTT packet fixed header"


class _ProbeNoise(logging.Filter):
    """Drops amqtt's ERROR/WARNING lines about a connection that closed without sending anything."""

    def filter(self, record: logging.LogRecord) -> bool:
        return PROBE_NOISE not in record.getMessage()


def broker_config(host: str, port: int) -> dict:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 200}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


def bind_client_ids_to_usernames() -> None:
    """Make amqtt give each client with a username that username as its client id.

    amqtt offers no hook between reading a CONNECT and acting on its clean-session flag (it discards the old
    session before any plugin runs), so the binding goes where the CONNECT becomes a session: the protocol
    handler class the broker module uses, replaced by a subclass that rewrites the client id. This process
    (``storehub broker``) runs nothing else."""
    from amqtt import broker as amqtt_broker
    from amqtt.errors import AMQTTError
    from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler

    if getattr(amqtt_broker.BrokerProtocolHandler, "binds_usernames", False):
        return

    class UsernameBoundHandler(BrokerProtocolHandler):
        binds_usernames = True

        @classmethod
        async def init_from_connect(cls, reader, writer, plugins_manager, loop=None):
            try:
                handler, session = await super().init_from_connect(reader, writer, plugins_manager, loop)
            except OSError as exc:
                # the client hung up while amqtt was refusing or answering its CONNECT: amqtt does not catch
                # this and asyncio would print a traceback; as its own error it is one warning line
                raise AMQTTError(f"client left during the CONNECT handshake: {exc}") from exc
            if session.username:
                if session.client_id != session.username:
                    log.info("client id %r bound to its username %r", session.client_id, session.username)
                session.client_id = session.username
            return handler, session

    amqtt_broker.BrokerProtocolHandler = UsernameBoundHandler


async def serve(host: str, port: int, stop: asyncio.Event) -> None:
    from amqtt.broker import Broker

    bind_client_ids_to_usernames()
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
    logging.getLogger("amqtt.broker").addFilter(_ProbeNoise())

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(host, port, stop)

    asyncio.run(main())
    return 0

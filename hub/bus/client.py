"""The bus's MQTT side: one persistent session with the broker, manual acks, commands out.

* A FIXED client id (its broker username when it has one: the shipped Mosquitto binds client ids to
  usernames, so no device can take the hub's session over) and a persistent session (MQTT v5 clean_start=False + session expiry; 3.1.1
  clean_session=False for brokers without v5) with QoS 1 subscriptions, so events published while the
  hub is down are delivered when it is back. A broker that does not speak v5 is retried in 3.1.1.
* Messages are queued for the writer (``hub.bus.writer``) and PUBACKed manually, only after the batch
  holding them is committed (``_ack``): a crash between receipt and commit leaves the message with the
  broker, which redelivers it.
* After each commit every device whose events (or results) were in the batch gets ``dev/<device>/ack`` with
  their ids (``_ack_devices``): its agent keeps an event on disk until then and resends what is not
  acknowledged, so even a broker that loses what it had confirmed (killed before its autosave) loses no event.
* The command thread publishes queued ``cmd/<action>`` requests.

``BusClient`` is the connection half of :class:`hub.bus.writer.Bus`, which owns the queue, the statistics
and the database these methods use.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from hub.bus import commands
from hub.protocol import contract
from hub.protocol.broker import BrokerURL

log = logging.getLogger("storehub.bus")

SESSION_EXPIRY_S = 7 * 24 * 3600
V5_CONNACK_WAIT_S = 3.0


def make_client(url: BrokerURL, client_id: str, *, manual_ack: bool = False, clean: bool = False) -> mqtt.Client:
    """A paho v2 client for ``url`` (shared by the bus, provisioning checks, tests and the bench)."""
    if url.protocol == mqtt.MQTTv5:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    else:
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=clean,
            manual_ack=manual_ack,
        )
    if url.username:
        c.username_pw_set(url.username, url.password)
    if url.tls:
        ctx = ssl.create_default_context(cafile=url.ca_file) if url.ca_file else ssl.create_default_context()
        c.tls_set_context(ctx)
    c.max_queued_messages_set(0)
    return c


@dataclass
class _Msg:
    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    generation: int
    received: float = field(default_factory=time.monotonic)
    ack: tuple[str, str] | None = None  # (device, key) to acknowledge to the device once committed


class BusClient:
    """The MQTT connection of the bus (see the module's docstring); mixed into ``Bus``."""

    def _new_client(self) -> mqtt.Client:
        c = make_client(self.url, self.client_id, manual_ack=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        c.reconnect_delay_set(min_delay=0.2, max_delay=5)
        return c

    def _on_connect(self, client, userdata, flags, reason_code, properties=None):
        if reason_code.is_failure:
            if self.url.protocol == mqtt.MQTTv5 and "protocol version" in str(reason_code).lower():
                log.warning("bus: broker does not speak MQTT v5; falling back to 3.1.1 (clean_session=False)")
                self._fallback.set()
                return
            self._refused = str(reason_code)
            log.error("bus: broker refused the connection: %s", reason_code)
            return
        self._generation += 1
        self.stats.connects += 1
        log.info(
            "bus: connected to %s as %s (session present: %s)",
            self.url.redacted(),
            self.client_id,
            getattr(flags, "session_present", None),
        )
        for flt in [self._sub_filter, *self.adapters.subscriptions()]:
            if self.url.protocol == mqtt.MQTTv5:
                client.subscribe(flt, options=SubscribeOptions(qos=contract.QOS, noLocal=True))
            else:
                client.subscribe(flt, qos=contract.QOS)
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties=None):
        if any(rc.is_failure for rc in reason_codes):
            log.error("bus: subscription to %s refused: %s", self._sub_filter, reason_codes)
            return
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None):
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning("bus: disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        self._q.put(
            _Msg(
                message.topic, bytes(message.payload), message.mid, message.qos, bool(message.retain), self._generation
            )
        )

    def _ack_devices(self, batch: list[_Msg]) -> None:
        """Tell each device which of its messages in this (committed) batch the hub now holds. QoS 1 without
        waiting: an ack lost on the way only makes the agent resend, and the resend is a duplicate the hub
        acknowledges again."""
        keys: dict[str, list[str]] = {}
        for m in batch:
            if m.ack is not None:
                keys.setdefault(m.ack[0], []).append(m.ack[1])
        for device, ks in keys.items():
            topic = contract.ack_topic(self.store_id, device)
            for i in range(0, len(ks), contract.MAX_ACK_IDS):
                self.client.publish(
                    topic,
                    contract.encode(contract.make_ack(ks[i : i + contract.MAX_ACK_IDS])),
                    qos=contract.QOS,
                    retain=False,
                )
                self.stats.device_acks += 1

    def _ack(self, batch: list[_Msg]) -> None:
        gen = self._generation
        for m in batch:
            # A message from an earlier connection is redelivered by the broker; acking its old
            # packet id on the new connection could acknowledge a different message.
            if m.qos > 0 and m.generation == gen:
                self.client.ack(m.mid, m.qos)

    def _commander(self) -> None:
        while not self._stop.wait(self.command_poll_s):
            if (
                self.url.protocol == mqtt.MQTTv5
                and self.stats.connects == 0
                and not self._fallback.is_set()
                and self._refused is None
                and time.monotonic() - self._connect_started > V5_CONNACK_WAIT_S
                and self._broker_reachable()
            ):
                # Some 3.1.1-only brokers (amqtt) close a v5 CONNECT without any CONNACK.
                log.warning("bus: no CONNACK to an MQTT v5 CONNECT; trying 3.1.1")
                self._fallback.set()
            if self._fallback.is_set():
                self._fallback.clear()
                old = self.client
                old.disconnect()
                old.loop_stop()
                self.url.protocol = mqtt.MQTTv311
                self.client = self._new_client()
                self._connect()
                continue
            if not self.subscribed.is_set():
                continue
            try:
                self.publish_pending_commands()
            except Exception:
                log.exception("bus: publishing commands failed")

    def publish_pending_commands(self) -> int:
        sent = 0
        for c in commands.pending(self.db.read()):
            topic = contract.command_topic(self.store_id, c["device_id"], c["action"])
            info = self.client.publish(topic, c["payload"].encode("utf-8"), qos=contract.QOS, retain=False)
            try:
                info.wait_for_publish(timeout=5)
            except (RuntimeError, ValueError):
                return sent
            if not info.is_published():
                return sent
            with self.db.write() as conn:
                commands.mark_sent(conn, c["request_id"])
            sent += 1
            self.stats.commands_sent += 1
        return sent

    def _broker_reachable(self) -> bool:
        try:
            with socket.create_connection((self.url.host, self.url.port), timeout=1):
                return True
        except OSError:
            return False

    def _connect(self) -> None:
        self._connect_started = time.monotonic()
        kwargs = {}
        if self.url.protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.session_expiry_s
            kwargs = {"clean_start": False, "properties": props}
        self.client.connect_async(self.url.host, self.url.port, keepalive=30, **kwargs)
        self.client.loop_start()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return self.subscribed.wait(timeout)

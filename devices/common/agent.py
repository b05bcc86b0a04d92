"""The MQTT side every agent shares.

* connects with a Last Will ``offline`` (QoS 1, retained) on ``dev/<id>/status`` and, once connected, publishes
  the birth message ``online`` and the retained ``info`` document;
* every event gets a unique ``id`` (UUIDv7) and a UTC ``ts``, goes into the on-disk :class:`DiskBuffer` first
  and leaves it only when the broker acknowledged it (QoS 1), in order — so a broker outage or an agent
  restart loses nothing;
* reconnects by itself with exponential back-off (``reconnect_min_s`` doubling up to ``reconnect_max_s``);
* commands arrive on ``dev/<id>/cmd/<action>`` (QoS 1, persistent session) and are run one at a time on a
  worker thread (never on the network thread); each is answered on ``dev/<id>/result`` with
  ``{request_id, ok, error?}``. A repeated ``request_id`` gets the first answer again without re-running.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import re
import signal
import ssl
import threading
from collections import OrderedDict
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.protocol import contract
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso

from devices.common.buffer import DiskBuffer
from devices.common.config import AgentConfig

log = logging.getLogger("storehub.agent")

CommandHandler = Callable[[dict], "dict | None"]
AGENT_VERSION = "storehub-devices 0.1"
HEALTH_FIELDS = ("paper", "error", "battery_pct")
_REQUEST_ID_RE = re.compile(contract._REQUEST_ID["pattern"].strip("^$"))


class CommandError(Exception):
    """A command that cannot be carried out; its message goes into the result's ``error``."""


class DeviceAgent:
    kind = "device"
    model = "unknown"
    firmware = ""

    def __init__(self, cfg: AgentConfig, *, capabilities: list[str] | None = None):
        self.cfg = cfg
        self.capabilities = list(capabilities or [])
        self.state: dict = {}
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self._wake = threading.Event()
        self._handlers: dict[str, CommandHandler] = {}
        self._commands: queue.Queue = queue.Queue()
        self._answered: OrderedDict[str, dict] = OrderedDict()
        self._threads: list[threading.Thread] = []
        self._info_lock = threading.Lock()
        self._closed = False
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        self.buffer = DiskBuffer(cfg.buffer_path, cfg.buffer_max_events)
        self.log = logging.getLogger(f"storehub.agent.{cfg.device}")

        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.client_id or f"dev-{cfg.device}",
                                  clean_session=False, protocol=mqtt.MQTTv311)
        self.client.enable_logger(logging.getLogger("storehub.agent.mqtt"))
        self.client.will_set(self.topic("status"), "offline", qos=1, retain=True)
        if cfg.username:
            self.client.username_pw_set(cfg.username, cfg.password)
        host, port, tls = cfg.broker_host_port_tls
        if tls:
            self.client.tls_set(ca_certs=cfg.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        self.client.reconnect_delay_set(min_delay=max(1, int(cfg.reconnect_min_s)),
                                        max_delay=max(1, int(cfg.reconnect_max_s)))
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._host, self._port = host, port

    # ----------------------------------------------------------------- contract
    def topic(self, *parts: str) -> str:
        return "/".join([contract.device_root(self.cfg.store, self.cfg.device), *parts])

    def info(self) -> dict:
        """The retained ``info`` document: contract fields (``paper``, ``error`` …) plus device extras."""
        return contract.make_info(self.kind, self.model, self.firmware, self.capabilities,
                                  agent_version=AGENT_VERSION, ts=now_iso(), **self.state)

    def set_state(self, **changes) -> None:
        """Record health changes (``paper``, ``error``, ``battery_pct`` and device extras such as ``port``).

        The retained ``info`` is re-published and, for the contract's health fields, an ``evt/state`` event
        tells the hub's registry at once (``error=None`` clears an error)."""
        changes = {k: (v[:500] if isinstance(v, str) else v) for k, v in changes.items()}
        with self._info_lock:
            new = {**self.state, **changes}
            new = {k: v for k, v in new.items() if v is not None}
            if new == self.state:
                return
            health = {k: changes[k] for k in HEALTH_FIELDS if k in changes and self.state.get(k) != changes[k]}
            self.state = new
        self.log.info("state now %s", new)
        if health:
            self.publish_event("state", health)
        if self.connected.is_set():
            self.client.publish(self.topic("info"), json.dumps(self.info()), qos=1, retain=True)

    def publish_event(self, event_type: str, data: dict) -> dict:
        """Queue one event (durably) for delivery; returns the payload with its ``id`` and ``ts``.

        The payload is checked against the contract's schema here, so a bug shows in the agent's log
        rather than as a dead letter on the hub."""
        payload = contract.validate(f"evt/{event_type}", {"id": new_id(), "ts": now_iso(), **data})
        self.buffer.put(contract.event_topic(self.cfg.store, self.cfg.device, event_type), payload)
        self._wake.set()
        self.log.debug("event %s %s", event_type, payload)
        return payload

    def on_command(self, action: str, handler: CommandHandler) -> None:
        self._handlers[action] = handler

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.log.info("%s agent %s for store %s, broker %s:%d", self.kind, self.cfg.device, self.cfg.store,
                      self._host, self._port)
        self.client.connect_async(self._host, self._port, keepalive=self.cfg.keepalive)
        self.client.loop_start()
        for target, name in ((self._flush_loop, "flush"), (self._command_loop, "commands")):
            t = threading.Thread(target=target, name=f"{self.cfg.device}-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Graceful stop: publish ``offline`` ourselves (a clean disconnect does not fire the Will)."""
        if self._closed:
            return
        self._closed = True
        self.stopping.set()
        self._wake.set()
        self._commands.put(None)
        for t in self._threads:
            t.join(timeout=5)
        if self.connected.is_set():
            try:
                self.client.publish(self.topic("status"), "offline", qos=1, retain=True).wait_for_publish(3)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()
        self.close_device()
        self.buffer.close()
        self.log.info("stopped")

    def close_device(self) -> None:
        """Release the hardware (subclasses)."""

    def run(self) -> None:
        """The device loop (subclasses); must return soon after ``self.stopping`` is set."""
        self.stopping.wait()

    def run_forever(self) -> None:
        def _term(*_):
            self.stopping.set()
        signal.signal(signal.SIGTERM, _term)
        self.start()
        try:
            self.run()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # ------------------------------------------------------------ paho callbacks
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self.log.error("broker refused the connection: %s", reason_code)
            return
        self.log.info("connected to %s:%d (session present: %s)", self._host, self._port, flags.session_present)
        client.publish(self.topic("status"), "online", qos=1, retain=True)
        client.publish(self.topic("info"), json.dumps(self.info()), qos=1, retain=True)
        client.subscribe(self.topic("cmd", "+"), qos=1)
        self.connected.set()
        self._wake.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        was = self.connected.is_set()
        self.connected.clear()
        if not self.stopping.is_set() and was:
            self.log.warning("lost the broker (%s); %d event(s) buffered; reconnecting with back-off",
                             reason_code, len(self.buffer))

    def _on_message(self, client, userdata, msg):
        prefix = self.topic("cmd") + "/"
        if not msg.topic.startswith(prefix):
            return
        action = msg.topic[len(prefix):]
        if msg.retain:
            # a retained command would replay on every reconnect ("open drawer" twice): refuse it
            self.log.warning("ignoring retained command on %s", msg.topic)
            return
        try:
            body = json.loads(msg.payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        rid = body.get("request_id") if isinstance(body, dict) else None
        if not (isinstance(rid, str) and _REQUEST_ID_RE.fullmatch(rid)):
            # without a usable request_id no result can be matched to it: log it clearly and drop it
            self.log.error("dropping command on %s without a valid request_id: %r", msg.topic, msg.payload[:200])
            return
        if action not in self._handlers:
            self._answer(contract.make_result(rid, False, f"unknown command {action!r} for a {self.kind}"))
            return
        try:
            if action in contract.COMMAND_ACTIONS:
                contract.decode_command(action, msg.payload, self.cfg.device)
        except contract.ContractError as exc:
            self._answer(contract.make_result(rid, False, f"invalid command: {exc.reason}"))
            return
        self._commands.put((action, body))

    # ------------------------------------------------------------------ workers
    def _answer(self, result: dict) -> None:
        self.buffer.put(self.topic("result"), result)
        self._wake.set()

    def _command_loop(self) -> None:
        while True:
            item = self._commands.get()
            if item is None:
                return
            action, body = item
            rid = body["request_id"]
            # a redelivered command (same request_id, same body) gets the first answer again; the same
            # request_id with a different body goes to the handler, which decides (the printer refuses it)
            key = rid + ":" + hashlib.sha256(json.dumps({k: v for k, v in body.items() if k != "ts"},
                                                        sort_keys=True).encode()).hexdigest()
            if key in self._answered:
                self.log.info("command %s %s repeated: answering again without running it", action, rid)
                self._answer(self._answered[key])
                continue
            handler = self._handlers[action]
            try:
                details = handler(body) or {}
                result = contract.make_result(rid, True, **details)
            except CommandError as exc:
                result = contract.make_result(rid, False, str(exc)[:1000])
            except Exception as exc:  # noqa: BLE001 - one failed command must not stop the agent
                self.log.exception("command %s %s failed", action, rid)
                result = contract.make_result(rid, False, f"{type(exc).__name__}: {exc}"[:1000])
            self.log.info("command %s %s -> %s", action, rid,
                          "ok" if result["ok"] else f"error: {result.get('error')}")
            self._answered[key] = result
            while len(self._answered) > 1000:
                self._answered.popitem(last=False)
            self._answer(result)

    def _flush_loop(self) -> None:
        while not self.stopping.is_set():
            if not self.connected.is_set():
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            batch = self.buffer.peek(100)
            if not batch:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            sent = []
            poison = []
            for seq, topic, payload in batch:
                try:
                    info = self.client.publish(topic, json.dumps(payload, ensure_ascii=False), qos=1)
                except ValueError as exc:            # e.g. payload over the MQTT size limit: can never go
                    self.log.error("dropping buffered message %d on %s: %s", seq, topic, exc)
                    poison.append(seq)
                    continue
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    break
                sent.append((seq, info))
            self.buffer.remove(poison)
            done = []
            for seq, info in sent:
                try:
                    info.wait_for_publish(timeout=10)
                except (RuntimeError, ValueError):
                    break
                if not info.is_published():
                    break
                done.append(seq)
            self.buffer.remove(done)
            if len(done) + len(poison) < len(batch):
                self._wake.wait(0.5)
                self._wake.clear()

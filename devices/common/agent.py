"""The MQTT side every agent shares.

* connects with a Last Will ``offline`` (QoS 1, retained) on ``dev/<id>/status`` and, once connected, publishes
  the birth message ``online`` and the retained ``info`` document;
* every event gets a unique ``id`` (UUIDv7) and a UTC ``ts``, goes into the on-disk :class:`DiskBuffer` first
  and is published (QoS 1) in order; it leaves the buffer only when the HUB acknowledges it on
  ``dev/<id>/ack`` — which the hub's bus publishes after committing it — not at the broker's PUBACK, because a
  broker killed before its autosave loses what it had confirmed. Whatever the hub has not acknowledged is
  published again after every reconnect, and after ``ack_timeout_s`` without an ack (doubling up to
  ``ACK_TIMEOUT_MAX_S`` while the hub stays silent); the hub applies an event once per id, so a resend changes
  nothing. A broker outage, a broker crash or an agent restart loses nothing; command results go the same way;
* reconnects by itself with exponential back-off (``reconnect_min_s`` doubling up to ``reconnect_max_s``);
* over ``mqtts://`` trusts only the store CA it was provisioned with and checks the broker's host name
  (:mod:`hub.protocol.tls`): a broker with a certificate from any other CA (another store's hub, a public CA) gets
  no CONNECT, no credentials and no event; the refusal is logged with the reason on every attempt, and attempts
  follow the same back-off;
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
import time
from collections import OrderedDict
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.common.buffer import DiskBuffer, key_of
from devices.common.config import AgentConfig
from hub.protocol import contract, storable
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from hub.protocol.tls import BrokerTrust, describe

log = logging.getLogger("storehub.agent")

CommandHandler = Callable[[dict], "dict | None"]
AGENT_VERSION = "storehub-devices 0.1"
HEALTH_FIELDS = ("paper", "error", "battery_pct")
ACK_WINDOW = 1000  # messages published but not yet acknowledged by the hub, at most
ACK_TIMEOUT_MAX_S = 600.0  # a silent hub gets the unacknowledged window resent at most this rarely
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
        # delivery state of the flush loop: seq -> when it was published and awaits the hub's ack (in order)
        self._flow = threading.Lock()
        self._inflight: OrderedDict[int, float] = OrderedDict()
        self._sent_upto = 0  # the last seq published in this round
        self._resend = False  # set on (re)connect: resend everything not acknowledged
        self._ack_wait = cfg.ack_timeout_s
        self._closed = False
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        self.buffer = DiskBuffer(cfg.buffer_path, cfg.buffer_max_events)
        self.log = logging.getLogger(f"storehub.agent.{cfg.device}")

        # the shipped broker binds client ids to usernames: ask for the username, the session it gives anyway
        client_id = cfg.client_id or cfg.username or f"dev-{cfg.device}"
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, protocol=mqtt.MQTTv311
        )
        self.client.enable_logger(logging.getLogger("storehub.agent.mqtt"))
        self.client.will_set(self.topic("status"), "offline", qos=1, retain=True)
        if cfg.username:
            self.client.username_pw_set(cfg.username, cfg.password)
        host, port, tls = cfg.broker_host_port_tls
        self._trust: BrokerTrust | None = None
        if tls:
            self._trust = BrokerTrust(ca_file=cfg.ca_file, ca_pem=cfg.ca_pem)
            self.client.tls_set_context(self._trust.context)
        self._delay_min, self._delay_max = max(1, int(cfg.reconnect_min_s)), max(1, int(cfg.reconnect_max_s))
        self._failed_attempts = 0
        self.client.reconnect_delay_set(min_delay=self._delay_min, max_delay=self._delay_max)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._host, self._port = host, port

    # ----------------------------------------------------------------- contract
    def topic(self, *parts: str) -> str:
        return "/".join([contract.device_root(self.cfg.store, self.cfg.device), *parts])

    def info(self) -> dict:
        """The retained ``info`` document: contract fields (``paper``, ``error`` …) plus device extras."""
        return contract.make_info(
            self.kind,
            self.model,
            self.firmware,
            self.capabilities,
            agent_version=AGENT_VERSION,
            ts=now_iso(),
            **self.state,
        )

    def set_state(self, **changes) -> None:
        """Record health changes (``paper``, ``error``, ``battery_pct`` and device extras such as ``port``).

        The retained ``info`` is re-published and, for the contract's health fields, an ``evt/state`` event
        tells the hub's registry at once (``error=None`` clears an error)."""
        # a device's own text (a printer's error) may hold NUL or worse: forwarded readable, never refused
        changes = {k: (storable.scrub_text(v[:500]) if isinstance(v, str) else v) for k, v in changes.items()}
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
        # paho's own connection state, not our `connected` flag: that is set only after on_connect has published
        # the birth info, and a change made in between would otherwise never reach the retained info
        if self.client.is_connected():
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
        self.log.info(
            "%s agent %s for store %s, broker %s:%d", self.kind, self.cfg.device, self.cfg.store, self._host, self._port
        )
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
        # network thread first, then DISCONNECT from this thread: disconnecting under a running network thread
        # races paho's loop into one more pass on the closed socket, logged as an ERROR on every clean stop
        self.client.loop_stop()
        self.client.disconnect()
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
        self._failed_attempts = 0
        client.publish(self.topic("status"), "online", qos=1, retain=True)
        client.publish(self.topic("info"), json.dumps(self.info()), qos=1, retain=True)
        client.subscribe([(self.topic("cmd", "+"), 1), (self.topic("ack"), 1)])
        with self._flow:
            self._resend = True  # the broker may have lost what it confirmed (killed before its autosave)
        self.connected.set()
        self._wake.set()

    def _on_connect_fail(self, client, userdata):
        """paho could not connect (it says only that); say why, and when the next attempt comes (paho's back-off:
        ``reconnect_min_s`` doubling up to ``reconnect_max_s``, reset by a successful connection)."""
        self._failed_attempts += 1
        delay = min(self._delay_min * 2 ** min(self._failed_attempts - 1, 30), self._delay_max)
        tls_error = self._trust.take_failure() if self._trust is not None else None
        if isinstance(tls_error, ssl.SSLCertVerificationError):
            self.log.error(
                "refusing the broker at %s:%d: %s — it is not this store's hub broker (the store CA from "
                "`storehub devices provision` did not issue it for this name); nothing was sent to it, "
                "%d event(s) kept; attempt %d, trying again in about %d s",
                self._host,
                self._port,
                describe(tls_error),
                len(self.buffer),
                self._failed_attempts,
                delay,
            )
        elif tls_error is not None:
            self.log.error(
                "TLS with the broker at %s:%d failed: %s (is it the TLS listener?); %d event(s) kept; "
                "attempt %d, trying again in about %d s",
                self._host,
                self._port,
                describe(tls_error),
                len(self.buffer),
                self._failed_attempts,
                delay,
            )
        else:
            self.log.warning(
                "cannot reach the broker at %s:%d; %d event(s) kept; attempt %d, trying again in about %d s",
                self._host,
                self._port,
                len(self.buffer),
                self._failed_attempts,
                delay,
            )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        was = self.connected.is_set()
        self.connected.clear()
        if not self.stopping.is_set() and was:
            self.log.warning(
                "lost the broker (%s); %d event(s) buffered; reconnecting with back-off", reason_code, len(self.buffer)
            )

    def _on_message(self, client, userdata, msg):
        if msg.topic == self.topic("ack"):
            self._on_ack(msg.payload)
            return
        prefix = self.topic("cmd") + "/"
        if not msg.topic.startswith(prefix):
            return
        action = msg.topic[len(prefix) :]
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

    def _on_ack(self, payload: bytes) -> None:
        """The hub has committed these messages: forget them."""
        try:
            keys = contract.ack_keys(contract.decode_ack(payload, self.cfg.device))
        except contract.ContractError as exc:
            self.log.error("ignoring a bad ack from the hub: %s", exc.reason)
            return
        seqs = self.buffer.acknowledge(keys)
        with self._flow:
            for seq in seqs:
                self._inflight.pop(seq, None)
            self._ack_wait = self.cfg.ack_timeout_s
        self.log.debug("hub acknowledged %d message(s), %d still buffered", len(seqs), len(self.buffer))
        self._wake.set()

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
            key = (
                rid
                + ":"
                + hashlib.sha256(
                    json.dumps({k: v for k, v in body.items() if k != "ts"}, sort_keys=True).encode()
                ).hexdigest()
            )
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
            self.log.info("command %s %s -> %s", action, rid, "ok" if result["ok"] else f"error: {result.get('error')}")
            self._answered[key] = result
            while len(self._answered) > 1000:
                self._answered.popitem(last=False)
            self._answer(result)

    def _next_to_send(self) -> tuple[int, int]:
        """(after, room): where this round of publishing stands and how many more may be unacknowledged.
        Starts a new round from the oldest buffered message after a reconnect, or when the oldest published one
        has waited longer than the ack timeout."""
        with self._flow:
            now = time.monotonic()
            if self._resend:
                self._resend = False
                self._inflight.clear()
                self._sent_upto = 0
            elif self._inflight and now - next(iter(self._inflight.values())) > self._ack_wait:
                self.log.warning(
                    "no ack from the hub for %d message(s) within %.0f s: sending them again",
                    len(self._inflight),
                    self._ack_wait,
                )
                self._inflight.clear()
                self._sent_upto = 0
                self._ack_wait = min(self._ack_wait * 2, max(ACK_TIMEOUT_MAX_S, self.cfg.ack_timeout_s))
            return self._sent_upto, ACK_WINDOW - len(self._inflight)

    def _flush_loop(self) -> None:
        while not self.stopping.is_set():
            if not self.connected.is_set():
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            after, room = self._next_to_send()
            batch = self.buffer.peek(min(100, room), after=after) if room > 0 else []
            if not batch:
                self._wake.wait(0.5 if room <= 0 or self._inflight else 1.0)
                self._wake.clear()
                continue
            sent = []
            poison = []
            for seq, topic, payload in batch:
                with self._flow:
                    # recorded before publishing, so an ack faster than this thread finds it to remove
                    self._inflight[seq] = time.monotonic()
                    self._sent_upto = seq
                try:
                    info = self.client.publish(topic, json.dumps(payload, ensure_ascii=False), qos=1)
                except ValueError as exc:  # e.g. payload over the MQTT size limit: can never go
                    self.log.error("dropping buffered message %d on %s: %s", seq, topic, exc)
                    poison.append(seq)
                    continue
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    break
                sent.append((seq, payload, info))
            unkeyed = []
            complete = True
            for seq, payload, info in sent:
                try:
                    info.wait_for_publish(timeout=10)
                except (RuntimeError, ValueError):
                    complete = False
                    break
                if not info.is_published():
                    complete = False
                    break
                if key_of(payload) is None:  # nothing the hub could acknowledge it by: the PUBACK must do
                    unkeyed.append(seq)
            self.buffer.remove(poison + unkeyed)
            with self._flow:
                for seq in poison + unkeyed:
                    self._inflight.pop(seq, None)
                if not complete or len(sent) + len(poison) < len(batch):
                    self._resend = True  # not all went out: start again from the oldest
            if not complete or len(sent) + len(poison) < len(batch):
                self._wake.wait(0.5)
                self._wake.clear()

"""The hub's one bus process: MQTT in, batched idempotent writes out.

* One per hub (a lock file in the data directory) with a FIXED client id, a
  persistent session (MQTT v5 clean_start=False + session expiry; 3.1.1
  clean_session=False for brokers without v5) and QoS 1 subscriptions, so events
  published while the hub is down are delivered when it is back.
* Messages are PUBACKed manually, only after the batch holding them is committed:
  a crash between receipt and commit leaves the message with the broker, which
  redelivers it. Applying an event is idempotent by (device, event id).
* The writer collects whatever arrived within a few milliseconds and applies it
  in ONE ``db.write()`` transaction. If a handler fails, the batch is redone with
  a savepoint per message, so only that message is dead-lettered; a batch the
  database keeps refusing is split and a poison message dead-lettered alone.
* Every payload is validated against ``hub.protocol.contract``; rejects go to the
  dead letters with the reason. Nothing a device sends can stop the bus.
* A small command thread publishes queued ``cmd/<action>`` requests; another runs
  WAL checkpoints so commits never pay for them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import signal
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from hub.kernel import settings
from hub.protocol.timeutil import iso, now_iso, parse_iso
from hub.bus import commands, deadletters, handlers, registry
from hub.protocol import contract
from hub.bus.adapters import Adapters
from hub.bus.handlers import DeviceEvent

log = logging.getLogger("storehub.bus")

SESSION_EXPIRY_S = 7 * 24 * 3600
V5_CONNACK_WAIT_S = 3.0
CHECKPOINT_EVERY_S = 1.0
PRUNE_EVERY_S = 600.0
POISON_ATTEMPTS = 5


@dataclass
class BrokerURL:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    protocol: int = mqtt.MQTTv5

    @classmethod
    def parse(cls, url: str) -> "BrokerURL":
        u = urlparse(url if "://" in url else f"mqtt://{url}")
        if u.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"unsupported broker URL scheme {u.scheme!r} (use mqtt:// or mqtts://)")
        tls = u.scheme in ("mqtts", "ssl")
        q = parse_qs(u.query)
        proto = {"5": mqtt.MQTTv5, "311": mqtt.MQTTv311, "3.1.1": mqtt.MQTTv311}[(q.get("protocol") or ["5"])[0]]
        return cls(host=u.hostname or "127.0.0.1", port=u.port or (8883 if tls else 1883),
                   username=unquote(u.username) if u.username else None,
                   password=unquote(u.password) if u.password else None,
                   tls=tls, ca_file=(q.get("ca") or [None])[0], protocol=proto)

    def redacted(self) -> str:
        auth = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{auth}{self.host}:{self.port}"


def make_client(url: BrokerURL, client_id: str, *, manual_ack: bool = False, clean: bool = False) -> mqtt.Client:
    """A paho v2 client for ``url`` (shared by the bus, provisioning checks, tests and the bench)."""
    if url.protocol == mqtt.MQTTv5:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                        manual_ack=manual_ack)
    else:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                        clean_session=clean, manual_ack=manual_ack)
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


@dataclass
class BusStats:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    commands_sent: int = 0
    connects: int = 0


class Bus:
    def __init__(self, db, mqtt_url: str, *, store_id: str | None = None, client_id: str | None = None,
                 batch_ms: float = 3.0, max_batch: int = 2000, silence_check_s: float = 10.0,
                 command_poll_s: float = 0.2, session_expiry_s: int = SESSION_EXPIRY_S,
                 on_commit: Callable[[list[_Msg]], None] | None = None, adapters: "Adapters | None" = None):
        self.db = db
        self.adapters = adapters or Adapters()
        self.url = BrokerURL.parse(mqtt_url)
        conn = db.read()
        self.store_id = store_id or settings.get(conn, "store_id")
        self.client_id = client_id or f"storehub-hub-{self.store_id}"
        self.batch_s = batch_ms / 1000.0
        self.max_batch = max_batch
        self.silence_check_s = silence_check_s
        self.command_poll_s = command_poll_s
        self.session_expiry_s = session_expiry_s
        self.on_commit = on_commit
        self.stats = BusStats()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._fallback = threading.Event()
        self._connect_started = time.monotonic()
        self._refused: str | None = None  # the broker's reason when it answered a CONNECT with a refusal
        self._q: queue.Queue[_Msg] = queue.Queue()
        self._generation = 0
        self._threads: list[threading.Thread] = []
        self._sub_filter = contract.hub_subscription(self.store_id)
        self.client = self._new_client()

    # ------------------------------------------------------------------ MQTT side
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
        log.info("bus: connected to %s as %s (session present: %s)", self.url.redacted(), self.client_id,
                 getattr(flags, "session_present", None))
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
        self._q.put(_Msg(message.topic, bytes(message.payload), message.mid, message.qos, bool(message.retain),
                         self._generation))

    def _ack(self, batch: list[_Msg]) -> None:
        gen = self._generation
        for m in batch:
            # A message from an earlier connection is redelivered by the broker; acking its old
            # packet id on the new connection could acknowledge a different message.
            if m.qos > 0 and m.generation == gen:
                self.client.ack(m.mid, m.qos)

    # ------------------------------------------------------------------ applying
    def _decode(self, m: _Msg):
        """Validate outside the write transaction. Returns (kind, topic, data) or raises ContractError."""
        if self.adapters.esphome and not m.topic.startswith(contract.ROOT + "/"):
            adapted = self.adapters.translate(self.store_id, m.topic, m.payload, contract.utc_ts())
            if adapted is not None:
                return adapted
        t = contract.parse_topic(m.topic, self.store_id)
        if t.channel == "status":
            return t, contract.decode_status(m.payload, t.device_id)
        if t.channel == "info":
            return t, contract.decode_info(m.payload, t.device_id)
        if t.channel == "evt":
            return t, contract.decode_event(t.name, m.payload, t.device_id)
        if t.channel == "result":
            return t, contract.decode_result(m.payload, t.device_id)
        return t, None  # cmd: the hub's own commands (echoed when the broker has no no-local option)

    def apply_batch(self, batch: list[_Msg]) -> None:
        """Apply a batch in ONE transaction.

        Fast path: no savepoints. If any handler fails, the whole transaction is rolled back and
        the batch is applied again with a savepoint around each message, so only the failing
        message is dead-lettered and every other one is applied (once)."""
        decoded = []
        for m in batch:
            try:
                decoded.append((m, *self._decode(m), None))
            except contract.ContractError as exc:
                decoded.append((m, None, None, exc))
        now = now_iso()
        try:
            counts = self._apply_decoded(decoded, now, isolate=False)
        except _Isolate:
            counts = self._apply_decoded(decoded, now, isolate=True)
        self.stats.applied += counts[0]
        self.stats.duplicates += counts[1]
        self.stats.dead_lettered += counts[2]
        self.stats.batches += 1

    def _apply_decoded(self, decoded, now: str, *, isolate: bool) -> tuple[int, int, int]:
        applied = dups = dead = 0
        with self.db.write() as conn:
            activity: dict[str, registry.Activity] = {}
            for m, topic, data, err in decoded:
                if err is not None:
                    deadletters.record(conn, m.topic, m.payload, err.reason, device_id=err.device_id, now=now)
                    dead += 1
                    continue
                if topic.channel == "cmd":
                    continue
                if not isolate:
                    try:
                        outcome = self._apply_one(conn, m, topic, data, now, activity)
                    except Exception as exc:
                        raise _Isolate() from exc  # rolls back the transaction; retried with savepoints
                else:
                    conn.execute("SAVEPOINT bus_msg")
                    try:
                        outcome = self._apply_one(conn, m, topic, data, now, activity)
                        conn.execute("RELEASE bus_msg")
                    except Exception as exc:
                        conn.execute("ROLLBACK TO bus_msg")
                        conn.execute("RELEASE bus_msg")
                        if isinstance(exc, (contract.ContractError, handlers.Reject)):
                            reason = exc.reason
                        else:  # a bug in a handler must not stop the bus or lose the others
                            log.error("bus: handler failed for %s: %r", m.topic, exc)
                            reason = f"handler error: {type(exc).__name__}: {exc}"[:500]
                        deadletters.record(conn, m.topic, m.payload, reason, device_id=topic.device_id, now=now)
                        dead += 1
                        continue
                if outcome == "duplicate":
                    dups += 1
                else:
                    applied += 1
            registry.touch_many(conn, activity, now)
        return applied, dups, dead

    def _apply_one(self, conn, m: _Msg, topic: contract.Topic, data, now: str, activity) -> str:
        dev = topic.device_id
        # A retained status/info replayed on (re)subscribe, or an `offline` Will published by the broker,
        # says nothing about the device being alive now: it must not refresh last_seen or clear silence.
        seen = not m.retain and not (topic.channel == "status" and data == "offline")
        if not seen:
            if topic.channel == "status":
                registry.set_status(conn, dev, data, now, seen=False)
            elif topic.channel == "info":
                registry.apply_info(conn, dev, data, now, seen=False)
            if topic.channel in ("status", "info"):
                return "applied"
        act = activity.get(dev)
        if act is None:
            act = activity[dev] = registry.Activity()
            registry.ensure(conn, dev, now)
        act.messages += 1
        if topic.channel == "status":
            registry.set_status(conn, dev, data, now)
            return "applied"
        if topic.channel == "info":
            registry.apply_info(conn, dev, data, now)
            return "applied"
        if topic.channel == "result":
            commands.apply_result(conn, dev, data, now)
            return "applied"
        # Devices may send any UTC offset (+08:00, +0000, nanoseconds); stored times are one UTC form,
        # so handlers can order them (shelf readings compare ts) and reports agree.
        data["ts"] = iso(parse_iso(data["ts"]))
        cur = conn.execute(
            "INSERT OR IGNORE INTO device_events_processed(device_id, event_id, event_type, ts, received_at)"
            " VALUES (?,?,?,?,?)", (dev, data["id"], topic.name, data["ts"], now))
        if cur.rowcount == 0:
            act.duplicates += 1
            return "duplicate"
        handlers.dispatch(conn, DeviceEvent(self.store_id, dev, topic.name, data["id"], data["ts"], data, m.topic, now))
        act.events += 1
        act.types[topic.name] += 1
        return "applied"

    # ------------------------------------------------------------------ threads
    def _writer(self) -> None:
        # Commits must not pay for WAL checkpoints (an fsync of the main file): the checkpointer
        # thread runs them beside the writer instead.
        self.db.conn.execute("PRAGMA wal_autocheckpoint=0")
        last_silence = time.monotonic()
        last_prune = time.monotonic() - PRUNE_EVERY_S + 30.0  # first prune 30 s after start
        while not self._stop.is_set():
            try:
                first = self._q.get(timeout=0.1)
            except queue.Empty:
                first = None
            if first is not None:
                batch = [first]
                deadline = time.monotonic() + self.batch_s
                while len(batch) < self.max_batch:
                    try:
                        batch.append(self._q.get_nowait())
                        continue
                    except queue.Empty:
                        pass
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        batch.append(self._q.get(timeout=left))
                    except queue.Empty:
                        break
                self.stats.received += len(batch)
                self._commit_with_retry(batch)
            if time.monotonic() - last_silence >= self.silence_check_s:
                last_silence = time.monotonic()
                try:
                    with self.db.write() as conn:
                        registry.check_silence(conn, now_iso())
                except Exception:
                    log.exception("bus: silence check failed")
            if time.monotonic() - last_prune >= PRUNE_EVERY_S:
                last_prune = time.monotonic()
                try:
                    with self.db.write() as conn:
                        registry.prune(conn, now_iso())
                except Exception:
                    log.exception("bus: pruning old event ids failed")

    def _commit_with_retry(self, batch: list[_Msg]) -> None:
        """Commit a batch, then ack it. Never acks what is not committed.

        A batch the database keeps refusing is retried with back-off (locked, disk full: nothing
        is lost, the broker keeps the messages). After a few failures it is split into single
        messages, so one message that can never be applied (a poison message) is dead-lettered
        on its own and cannot hold the others back."""
        delay, attempts = 0.05, 0
        while True:
            try:
                self.apply_batch(batch)
                break
            except Exception as exc:
                attempts += 1
                log.exception("bus: batch of %d not committed (attempt %d)", len(batch), attempts)
                if attempts >= POISON_ATTEMPTS:
                    if len(batch) > 1:
                        for m in batch:
                            self._commit_with_retry([m])
                        return
                    if self._dead_letter_poison(batch[0], exc):
                        break
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 2.0)
        self._ack(batch)
        if self.on_commit is not None:
            self.on_commit(batch)

    def _dead_letter_poison(self, m: _Msg, exc: Exception) -> bool:
        try:
            dev = None
            try:
                dev = contract.parse_topic(m.topic).device_id
            except contract.ContractError:
                pass
            with self.db.write() as conn:
                deadletters.record(conn, m.topic, m.payload, f"could not be applied: {type(exc).__name__}: {exc}"[:500],
                                   device_id=dev, now=now_iso())
            self.stats.dead_lettered += 1
            return True
        except Exception:
            log.exception("bus: could not even dead-letter %s; will retry", m.topic)
            return False

    def _checkpointer(self) -> None:
        conn = self.db.conn  # this thread's own connection
        while not self._stop.wait(CHECKPOINT_EVERY_S):
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except Exception:
                log.exception("bus: WAL checkpoint failed")

    def _commander(self) -> None:
        while not self._stop.wait(self.command_poll_s):
            if (self.url.protocol == mqtt.MQTTv5 and self.stats.connects == 0 and not self._fallback.is_set()
                    and self._refused is None
                    and time.monotonic() - self._connect_started > V5_CONNACK_WAIT_S and self._broker_reachable()):
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

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Bus":
        loaded = handlers.load_declared()
        log.info("bus: device event handlers %s", loaded)
        self._connect()
        for target in (self._writer, self._commander, self._checkpointer):
            t = threading.Thread(target=target, name=f"bus-{target.__name__.strip('_')}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _broker_reachable(self) -> bool:
        import socket

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

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        # Drain: whatever arrived but was not committed is simply not acked -> redelivered later.
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()

    def pending(self) -> int:
        return self._q.qsize()


class _Isolate(Exception):
    """A handler failed on the fast path: redo the batch with a savepoint per message."""


class BusLockError(RuntimeError):
    pass


def acquire_lock(data_dir: Path):
    """One bus per hub: an exclusive lock on ``<data_dir>/bus.lock`` held for the life of the process."""
    data_dir.mkdir(parents=True, exist_ok=True)
    f = open(data_dir / "bus.lock", "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise BusLockError(f"another bus process already runs for {data_dir}") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def run(data_dir: Path, mqtt_url: str, *, client_id: str | None = None, advertise: str | None = None,
        api_port: int = 8000, api_tls: bool = False) -> int:
    """``storehub bus``: run until SIGTERM/SIGINT."""
    from hub.store import open_db

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg, db = open_db(data_dir)
    lock = acquire_lock(cfg.data_dir)
    adapters = Adapters.load(cfg.data_dir / "mqtt" / "adapters.json")
    if adapters.esphome:
        log.info("bus: ESPHome adapters for %s", ", ".join(f"{a.prefix} -> {a.device}" for a in adapters.esphome))
    bus = Bus(db, mqtt_url, client_id=client_id, adapters=adapters)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    bus.start()
    log.info("bus: store %s, broker %s, data %s", bus.store_id, bus.url.redacted(), cfg.data_dir)
    advertiser = None
    if advertise:
        from hub.bus.discovery import Advertiser

        try:
            advertiser = Advertiser(store_id=bus.store_id, address=advertise, api_port=api_port,
                                    mqtt_port=bus.url.port, tls=api_tls, mqtt_tls=bus.url.tls)
            log.info("bus: advertising the hub API :%d and broker :%d on %s (mDNS)", api_port, bus.url.port, advertise)
        except Exception:
            log.exception("bus: mDNS advertising on %s failed; continuing without it", advertise)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        if advertiser is not None:
            advertiser.close()
        bus.stop()
        db.close()
        lock.close()
    return 0

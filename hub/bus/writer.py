"""The bus's batch writer: device messages in, idempotent writes out, in as few transactions as possible.

* The writer collects whatever arrived within a few milliseconds and applies it in ONE ``db.write()``
  transaction. If a handler fails, the batch is redone with a savepoint per message, so only that message is
  dead-lettered; a batch the database keeps refusing is split and a poison message dead-lettered alone.
  Applying an event is idempotent by (device, event id); a batch is acked only once committed — to the broker
  (PUBACK) and to each device (``dev/<device>/ack`` with the committed event ids, so its agent may forget them).
* Every payload is validated against ``hub.protocol.contract`` (schema, storable text, device times within
  ``ts_window``); rejects go to the dead letters with the reason. Nothing a device sends can stop the bus.
* Another thread runs WAL checkpoints so commits never pay for them.

:class:`Bus` is the one bus of a hub: this writer plus its MQTT session (:class:`hub.bus.client.BusClient`).
``hub.bus.runner`` runs it as the ``storehub bus`` process.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from hub.bus import commands, deadletters, handlers, registry
from hub.bus.adapters import Adapters
from hub.bus.client import SESSION_EXPIRY_S, BusClient, _Msg
from hub.bus.handlers import DeviceEvent
from hub.kernel import settings
from hub.protocol import contract
from hub.protocol.broker import BrokerURL
from hub.protocol.timeutil import iso, now_iso, parse_iso

log = logging.getLogger("storehub.bus")

CHECKPOINT_EVERY_S = 1.0
PRUNE_EVERY_S = 600.0
POISON_ATTEMPTS = 5


@dataclass
class BusStats:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    commands_sent: int = 0
    connects: int = 0
    device_acks: int = 0


class Bus(BusClient):
    def __init__(
        self,
        db,
        mqtt_url: str,
        *,
        store_id: str | None = None,
        client_id: str | None = None,
        batch_ms: float = 3.0,
        max_batch: int = 2000,
        silence_check_s: float = 10.0,
        command_poll_s: float = 0.2,
        session_expiry_s: int = SESSION_EXPIRY_S,
        on_commit: Callable[[list[_Msg]], None] | None = None,
        adapters: Adapters | None = None,
        ts_window: contract.TimeWindow = contract.DEFAULT_TS_WINDOW,
    ):
        self.db = db
        self.adapters = adapters or Adapters()
        self.url = BrokerURL.parse(mqtt_url)
        conn = db.read()
        self.store_id = store_id or settings.get(conn, "store_id")
        # A broker that binds client ids to usernames (the shipped Mosquitto: use_username_as_clientid) gives the
        # hub its username as client id whatever it asks for, so ask for that: the session is the same either way.
        self.client_id = client_id or self.url.username or f"storehub-hub-{self.store_id}"
        self.ts_window = ts_window
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
            return t, contract.decode_event(t.name, m.payload, t.device_id, ts_window=self.ts_window)
        if t.channel == "result":
            return t, contract.decode_result(m.payload, t.device_id)
        return t, None  # cmd, ack: the hub's own messages (echoed when the broker has no no-local option)

    def _ack_of_rejected(self, m: _Msg) -> tuple[str, str] | None:
        """(device, ack key) of a message refused by the contract: its device is told the hub has it (as a dead
        letter), or its agent would resend it forever."""
        if not m.topic.startswith(contract.ROOT + "/"):
            return None
        try:
            t = contract.parse_topic(m.topic, self.store_id)
        except contract.ContractError:
            return None
        key = contract.ack_key(t.channel, m.payload)
        return (t.device_id, key) if key else None

    def apply_batch(self, batch: list[_Msg]) -> None:
        """Apply a batch in ONE transaction.

        Fast path: no savepoints. If any handler fails, the whole transaction is rolled back and
        the batch is applied again with a savepoint around each message, so only the failing
        message is dead-lettered and every other one is applied (once)."""
        decoded = []
        for m in batch:
            try:
                topic, data = self._decode(m)
            except contract.ContractError as exc:
                decoded.append((m, None, None, exc))
                m.ack = self._ack_of_rejected(m)
                continue
            decoded.append((m, topic, data, None))
            if topic.channel == "evt" and m.topic.startswith(contract.ROOT + "/"):  # not an adapter's reading
                m.ack = (topic.device_id, data["id"])
            elif topic.channel == "result":
                m.ack = (topic.device_id, "result:" + data["request_id"])
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
                if topic.channel in contract.HUB_CHANNELS:
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
            " VALUES (?,?,?,?,?)",
            (dev, data["id"], topic.name, data["ts"], now),
        )
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
        """Commit a batch, then ack it — to each device, then to the broker. Never acks what is not committed.

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
        self._ack_devices(batch)
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
                deadletters.record(
                    conn,
                    m.topic,
                    m.payload,
                    f"could not be applied: {type(exc).__name__}: {exc}"[:500],
                    device_id=dev,
                    now=now_iso(),
                )
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

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Bus:
        loaded = handlers.load_declared()
        log.info("bus: device event handlers %s", loaded)
        self._connect()
        for target in (self._writer, self._commander, self._checkpointer):
            t = threading.Thread(target=target, name=f"bus-{target.__name__.strip('_')}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

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

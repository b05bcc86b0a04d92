"""``storehub agent rfid``: a fixed reader bridged to the hub's bus.

A source produces raw reads; the agent folds them per EPC × antenna and, every
``batch_ms`` (default 500 ms), publishes one ``evt/tags`` event per 2,000
folded reads through the shared device agent (durable buffer, QoS 1,
reconnects). A reader reporting 1,000 raw reads/s of 300 tags thus sends the
hub a couple of events a second, not a thousand messages.

Sources (``--source``):

``llrp``          an LLRP reader over TCP 5084 (``-o host=...``; our own LLRP client, no sllurp),
                  reconnecting with back-off.
``zebra-mqtt``    a Zebra FX/ATR reader's IoT Connector publishing to an MQTT topic
                  (``-o topic=...``, ``-o mgmt_topic=...`` for heartbeats).
``impinj-mqtt``   an Impinj R700 publishing to its ``eventTopic``.
``impinj-stream`` an Impinj R700's HTTP event stream (``-o url=http://reader/api/v1/data/stream``).

Vendor heartbeats update the agent's retained ``info`` (the hub's device registry).
``cmd/start_inventory`` and ``cmd/stop_inventory`` start and stop the source.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from devices.common.agent import CommandError, DeviceAgent
from devices.common.config import AgentConfig
from devices.rfid.llrp import LlrpSource
from devices.rfid.source import Source
from hub.protocol import rfid_formats
from hub.protocol.broker import BrokerURL
from hub.protocol.rfid_formats import TagRead

log = logging.getLogger("storehub.agent.rfid")

SOURCES = ("llrp", "zebra-mqtt", "impinj-mqtt", "impinj-stream")
MAX_READS_PER_EVENT = 2000


class Folder:
    """Thread-safe fold of raw reads into one read per EPC × antenna until drained."""

    def __init__(self):
        self._lock = threading.Lock()
        self._reads: list[TagRead] = []
        self.raw = 0
        self.errors = 0

    def add(self, reads: list[TagRead]) -> None:
        with self._lock:
            self._reads.extend(reads)
            self.raw += len(reads)

    def drain(self) -> list[dict]:
        with self._lock:
            reads, self._reads = self._reads, []
        return rfid_formats.aggregate(reads) if reads else []


class RfidAgent(DeviceAgent):
    kind = "rfid"
    model = "fixed RFID reader"
    firmware = ""

    def __init__(self, cfg: AgentConfig, source: Source, *, batch_ms: int = 500):
        super().__init__(cfg, capabilities=["tags", "start_inventory", "stop_inventory"])
        self.source = source
        self.batch_s = batch_ms / 1000
        self.folder = Folder()
        self.model = source.model
        self._skew_lock = threading.Lock()
        source.bind(self._reads, self._heartbeat, self._source_error)
        self.on_command("start_inventory", self._cmd_start)
        self.on_command("stop_inventory", self._cmd_stop)

    def _reads(self, reads: list[TagRead]) -> None:
        """Raw reads from the source: folded for the next batch, and their times checked against this host's
        clock. A reader whose clock is far off is reported (``clock_skew_ms`` in ``evt/state``: the hub flags
        the device and raises ``clock_skew``) — its reads keep the reader's times, which are then known to be
        wrong, instead of being silently sorted among other readers' reads."""
        self.folder.add(reads)
        skew = rfid_formats.clock_skew_ms(reads, int(time.time() * 1000))
        with self._skew_lock:
            old = self.state.get("clock_skew_ms")
            tolerance = rfid_formats.CLOCK_SKEW_TOLERANCE_MS
            if (old is None) == (skew is None) and (old is None or abs(old - skew) <= tolerance):
                return  # no news: right, or off by about as much as already reported
            if skew is not None:
                log.warning("reader clock is %+.0f s off this host's clock: reads carry wrong times", skew / 1000)
            self.set_state(clock_skew_ms=skew)  # the retained info
            self.publish_event("state", {"clock_skew_ms": skew})  # the registry, at once (null: right again)

    def _heartbeat(self, hb: rfid_formats.Heartbeat) -> None:
        """A reader heartbeat (or antenna event) → the retained info and, when the radio or an antenna changed,
        an ``evt/state`` so the hub's registry has it at once (a disconnected antenna is an alert there)."""
        h = rfid_formats.heartbeat_health(hb)
        extras = {"reader_heartbeat": h.get("ts")}
        if "temperature_c" in h:
            extras["reader_temperature_c"] = h["temperature_c"]
        health = {}
        if "radio" in h and h["radio"] != self.state.get("radio"):
            health["radio"] = h["radio"]
        if "antennas" in h:  # an LLRP antenna event names one port: merge into what we know
            antennas = {**self.state.get("antennas", {}), **h["antennas"]}
            if antennas != self.state.get("antennas"):
                health["antennas"] = dict(sorted(antennas.items(), key=lambda kv: int(kv[0])))
        self.set_state(error=None, **extras, **health)
        if health:
            self.publish_event("state", health)

    def _source_error(self, message: str | None) -> None:
        self.set_state(error=message)

    def _cmd_start(self, cmd: dict) -> dict:
        try:
            self.source.start_inventory()
        except Exception as exc:  # noqa: BLE001 - reported to the hub as the command's error
            raise CommandError(f"cannot start inventory: {exc}") from exc
        return {"inventory": "started"}

    def _cmd_stop(self, cmd: dict) -> dict:
        self.source.stop_inventory()
        return {"inventory": "stopped"}

    def publish_folded(self) -> int:
        reads = self.folder.drain()
        for i in range(0, len(reads), MAX_READS_PER_EVENT):
            self.publish_event("tags", {"reads": reads[i : i + MAX_READS_PER_EVENT]})
        return len(reads)

    def run(self) -> None:
        self.source.start()
        try:
            while not self.stopping.wait(self.batch_s):
                try:
                    self.publish_folded()
                except ValueError as exc:  # a read the contract refuses: log it, never stop the loop
                    log.error("folded reads not published: %s", exc)
        finally:
            self.source.stop()
            self.publish_folded()


class VendorMqttSource(Source):
    """A reader's own JSON events on a broker topic (Zebra IoT Connector, Impinj IoT interface)."""

    def __init__(self, fmt: str, *, broker: str, topic: str, mgmt_topic: str | None = None, reader: str | None = None):
        if fmt not in ("zebra", "impinj"):
            raise ValueError("vendor MQTT format is zebra or impinj")
        self.fmt, self.broker, self.topic, self.mgmt_topic, self.reader = fmt, broker, topic, mgmt_topic, reader
        self.model = {"zebra": "Zebra FX/ATR (IoT Connector)", "impinj": "Impinj R700 (IoT interface)"}[fmt]
        self.client = None
        self.paused = False
        self.bad = 0

    def start(self) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        url = BrokerURL.parse(self.broker)
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"rfid-bridge-{self.reader or self.topic}"[:60],
            protocol=mqtt.MQTTv311,
        )
        if url.username:
            c.username_pw_set(url.username, url.password)
        topics = [self.topic] + ([self.mgmt_topic] if self.mgmt_topic else [])

        def on_connect(client, userdata, flags, reason_code, properties=None):
            for t in topics:
                client.subscribe(t, qos=1)

        def on_message(client, userdata, msg):
            parsed = rfid_formats.parse(self.fmt, msg.payload, self.reader)
            if parsed.errors:
                self.bad += len(parsed.errors)
                log.warning("%s: %d bad items: %s", msg.topic, len(parsed.errors), parsed.errors[:2])
            for hb in parsed.heartbeats:
                self.heartbeat(hb)
            if parsed.reads and not self.paused:
                self.emit(parsed.reads)

        c.on_connect = on_connect
        c.on_message = on_message
        c.reconnect_delay_set(1, 30)
        c.connect_async(url.host, url.port, keepalive=15)
        c.loop_start()
        self.client = c

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None

    def start_inventory(self) -> None:
        self.paused = False

    def stop_inventory(self) -> None:
        self.paused = True


class ImpinjStreamSource(Source):
    """The R700's HTTP event stream: one JSON object per line, blank keep-alives; reconnects with back-off."""

    model = "Impinj R700 (HTTP stream)"

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None):
        self.url, self.auth = url, (username, password) if username else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.paused = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="impinj-stream", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import requests

        delay = 1.0
        while not self._stop.is_set():
            try:
                with requests.get(self.url, stream=True, timeout=(5, 30), auth=self.auth) as r:
                    r.raise_for_status()
                    self.error(None)
                    delay = 1.0
                    for line in r.iter_lines():
                        if self._stop.is_set():
                            return
                        if not line:
                            continue  # keep-alive
                        parsed = rfid_formats.parse_impinj(line)
                        if parsed.reads and not self.paused:
                            self.emit(parsed.reads)
                if self._stop.wait(1.0):  # the reader ended the stream: reconnect, but never spin
                    return
            except Exception as exc:  # noqa: BLE001 - any network failure: report, back off, retry
                self.error(f"stream: {exc}"[:300])
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 60)

    def stop(self) -> None:
        self._stop.set()

    def start_inventory(self) -> None:
        self.paused = False

    def stop_inventory(self) -> None:
        self.paused = True


def make_source(name: str, opts: dict, cfg: AgentConfig) -> Source:
    if name == "llrp":
        if "host" not in opts:
            raise ValueError("llrp needs -o host=<the reader's address>")
        if "tx_power_dbm" in opts:
            raise ValueError(
                "the LLRP source leaves transmit power to the reader's own configuration; drop tx_power_dbm"
            )
        ants = opts.get("antennas", 0)
        if isinstance(ants, (int, str)):
            ants = [a for a in str(ants).split(",") if a.strip()]
        try:
            ants = [int(a) for a in ants]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"antennas: a number or a list of numbers, not {opts.get('antennas')!r}") from exc
        return LlrpSource(
            str(opts["host"]),
            port=int(opts.get("port", 5084)),
            antennas=ants,
            report_ms=int(opts.get("report_ms", 1000)),
            report_every_n_tags=int(opts.get("report_every_n_tags", 200)),
            keepalive_ms=int(opts.get("keepalive_ms", 10_000)),
        )
    if name in ("zebra-mqtt", "impinj-mqtt"):
        if "topic" not in opts:
            raise ValueError(f"{name} needs -o topic=<the reader's tag event topic>")
        return VendorMqttSource(
            name.split("-")[0],
            broker=opts.get("reader_broker") or cfg.broker or "mqtt://127.0.0.1:1883",
            topic=opts["topic"],
            mgmt_topic=opts.get("mgmt_topic"),
            reader=cfg.device,
        )
    if name == "impinj-stream":
        if "url" not in opts:
            raise ValueError("impinj-stream needs -o url=http://<reader>/api/v1/data/stream")
        return ImpinjStreamSource(opts["url"], username=opts.get("reader_user"), password=opts.get("reader_password"))
    raise ValueError(f"unknown RFID source {name!r}; one of {', '.join(SOURCES)}")


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()

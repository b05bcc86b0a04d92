"""Device-bus benchmark: MQTT publish → committed in the hub database.

* events_per_s — the real `storehub bus` process draining a 20,000-event backlog queued for its
  persistent session in a Mosquitto running the project's config (first to last commit): the
  bus's own sustained ingest rate.
* end_to_end_events_per_s — 20,000 events published by one Python device client while the bus
  runs (publisher, broker and bus share the machine), first publish to last commit.
* p50_ms / p99_ms — 200 events/s for 10 s from a separate publisher process into a bus;
  latency = commit time − publish time (both CLOCK_MONOTONIC, system-wide).
* bus_rss_mb — resident memory of the `storehub bus` process after the burst.
* amqtt_events_per_s vs mosquitto — the same burst (5,000 events) through the demo's embedded
  amqtt broker and through Mosquitto.

Runs in well under 2 minutes; the last line printed is one JSON object.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from hub.bus.mosquitto import Mosquitto, port_open  # noqa: E402
from hub.bus.writer import Bus  # noqa: E402
from hub.protocol import contract  # noqa: E402
from hub.store import initialise, open_db  # noqa: E402

STORE = "bench-store"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_db(d: Path):
    _cfg, db = open_db(d)
    initialise(db, store_id=STORE, store_name="Bench", currency="CNY", language="en")
    return db


def publisher(port: int, device: str = "bench-scanner") -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{device}", protocol=mqtt.MQTTv311)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def count(db) -> int:
    return db.read().execute("SELECT COUNT(*) FROM device_events_processed").fetchone()[0]


def burst(db, port: int, n: int, device: str, timeout: float = 90.0) -> float:
    """Publish n events and wait until all are committed; returns events/s."""
    base = count(db)
    c = publisher(port, device)
    topic = contract.event_topic(STORE, device, "scan")
    payloads = [contract.encode(contract.make_event("scan", code=f"{i:013d}")) for i in range(n)]
    t0 = time.perf_counter()
    infos = [c.publish(topic, p, qos=1) for p in payloads]
    end = time.monotonic() + timeout
    while count(db) - base < n:
        if time.monotonic() > end:
            raise RuntimeError(f"only {count(db) - base} of {n} committed")
        time.sleep(0.01)
    elapsed = time.perf_counter() - t0
    for i in infos:
        i.wait_for_publish(5)
    c.disconnect()
    c.loop_stop()
    return n / elapsed


def backlog_drain(data_dir: Path, db, port: int, n: int) -> tuple[float, float, float]:
    """Queue n events for the hub's offline session, then start `storehub bus` and time the drain
    (first to last commit): the bus's own sustained ingest rate. Returns (events/s, bus RSS MB)."""
    c = publisher(port, "backlog-scanner")
    topic = contract.event_topic(STORE, "backlog-scanner", "scan")
    infos = [c.publish(topic, contract.encode(contract.make_event("scan", code=f"B{i}")), qos=1) for i in range(n)]
    for i in infos:
        i.wait_for_publish(30)
    c.disconnect()
    c.loop_stop()
    base = count(db)
    p = start_bus_process(data_dir, f"mqtt://127.0.0.1:{port}")
    try:
        end = time.monotonic() + 90
        while count(db) == base:
            if time.monotonic() > end:
                raise RuntimeError("bus committed nothing")
            time.sleep(0.002)
        t0, c0, cpu0 = time.perf_counter(), count(db), cpu_s(p.pid)
        while count(db) - base < n:
            if time.monotonic() > end:
                raise RuntimeError(f"only {count(db) - base} of {n} committed")
            time.sleep(0.005)
        done = n - (c0 - base)
        rate = done / (time.perf_counter() - t0)
        return rate, rss_mb(p.pid), (cpu_s(p.pid) - cpu0) / done * 1e6
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)


def cpu_s(pid: int) -> float:
    """user + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_bus_process(data_dir: Path, url: str) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "bus", "--data-dir", str(data_dir), "--mqtt", url],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return p


def wait_subscribed(db, port: int, device: str = "warmup") -> None:
    """Publish probes until one is committed (the bus is subscribed)."""
    c = publisher(port, device)
    topic = contract.event_topic(STORE, device, "scan")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        c.publish(topic, contract.encode(contract.make_event("scan", code="probe")), qos=1).wait_for_publish(5)
        time.sleep(0.3)
        if db.read().execute("SELECT COUNT(*) FROM device_scans WHERE device_id = ?", (device,)).fetchone()[0]:
            break
    c.disconnect()
    c.loop_stop()


PACED_PUBLISHER = (
    """
import sys, time
sys.path.insert(0, sys.argv[4])
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from hub.protocol import contract
port, rate, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dev-latency-scanner", protocol=mqtt.MQTTv311)
c.connect("127.0.0.1", port)
c.loop_start()
topic = contract.event_topic("%s", "latency-scanner", "scan")
n = int(rate * seconds)
t0 = time.monotonic()
for i in range(n):
    target = t0 + i / rate
    while (d := target - time.monotonic()) > 0:
        time.sleep(d)
    # t_pub: CLOCK_MONOTONIC is system-wide, so the bus process can subtract it (extra fields are allowed)
    ev = contract.make_event("scan", code=f"L{i}", t_pub=time.monotonic())
    c.publish(topic, contract.encode(ev), qos=1)
time.sleep(1)
c.disconnect()
c.loop_stop()
"""
    % STORE
)


def latency(db, port: int, rate: int = 200, seconds: float = 10.0) -> tuple[float, float]:
    """Events paced at `rate`/s by a separate publisher process; latency = commit − publish (monotonic)."""
    lat: list[float] = []

    def on_commit(batch):
        now = time.monotonic()
        for m in batch:
            try:
                lat.append((now - json.loads(m.payload)["t_pub"]) * 1000)
            except (ValueError, KeyError, TypeError):
                continue

    bus = Bus(db, f"mqtt://127.0.0.1:{port}", on_commit=on_commit).start()
    assert bus.wait_ready(15)
    n = int(rate * seconds)
    pub = subprocess.run(
        [sys.executable, "-c", PACED_PUBLISHER, str(port), str(rate), str(seconds), str(ROOT)], timeout=seconds + 60
    )
    assert pub.returncode == 0
    end = time.monotonic() + 20
    while len(lat) < n and time.monotonic() < end:
        time.sleep(0.05)
    bus.stop()
    lat.sort()
    LAT_EXTRA["p95_ms"] = round(lat[int(len(lat) * 0.95)], 2)
    LAT_EXTRA["within_20ms_pct"] = round(100 * sum(1 for x in lat if x < 20) / len(lat), 2)
    LAT_EXTRA["latency_events"] = len(lat)
    return statistics.median(lat), lat[min(len(lat) - 1, int(len(lat) * 0.99))]


LAT_EXTRA: dict = {}


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="storehub-bench-bus-"))
    out: dict = {}
    broker = Mosquitto(free_port(), tmp / "mosquitto").start()
    try:
        # 1. sustained ingest of the real bus process: a 20,000-event backlog drained
        d1 = tmp / "hub1"
        db1 = new_db(d1)
        p = start_bus_process(d1, f"mqtt://127.0.0.1:{broker.port}")
        try:
            wait_subscribed(db1, broker.port)  # creates the hub's persistent session
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        rate, rss, cpu_us = backlog_drain(d1, db1, broker.port, 20_000)
        out["events_per_s"], out["bus_rss_mb"] = round(rate), round(rss, 1)
        # CPU the bus spent per event: its capacity on one free core is 1e6 / this.
        out["bus_cpu_us_per_event"] = round(cpu_us, 1)
        out["bus_capacity_events_per_s_one_core"] = round(1e6 / cpu_us) if cpu_us else None
        # 1b. end to end with one Python device client publishing at the same time (both on this box)
        p = start_bus_process(d1, f"mqtt://127.0.0.1:{broker.port}")
        try:
            wait_subscribed(db1, broker.port)
            out["end_to_end_events_per_s"] = round(burst(db1, broker.port, 20_000, "burst-scanner"))
            out["mosquitto_events_per_s_5k"] = round(burst(db1, broker.port, 5_000, "cmp-scanner"))
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        # 2. latency at 200 events/s
        db2 = new_db(tmp / "hub2")
        p50, p99 = latency(db2, broker.port)
        out["p50_ms"], out["p99_ms"] = round(p50, 2), round(p99, 2)
        out.update(LAT_EXTRA)
    finally:
        broker.stop()
    # 3. the demo's embedded amqtt broker, same 5,000-event burst
    aport = free_port()
    ab = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "broker", "--port", str(aport)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        end = time.monotonic() + 20
        while not port_open(aport) and time.monotonic() < end:
            time.sleep(0.1)
        d3 = tmp / "hub3"
        db3 = new_db(d3)
        p = start_bus_process(d3, f"mqtt://127.0.0.1:{aport}?protocol=311")
        try:
            wait_subscribed(db3, aport)
            out["amqtt_events_per_s_5k"] = round(burst(db3, aport, 5_000, "amqtt-scanner", timeout=60))
        except RuntimeError as exc:
            out["amqtt_error"] = str(exc)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
    finally:
        ab.send_signal(signal.SIGTERM)
        try:
            ab.wait(timeout=10)
        except subprocess.TimeoutExpired:
            ab.kill()
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    out["cpus"] = os.cpu_count()
    out["targets"] = {"events_per_s": ">= 3000", "p99_ms": "< 20"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

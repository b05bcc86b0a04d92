"""Delivery through a real Mosquitto running the project's own config: bursts arrive whole,
events published while the hub is away arrive after, a broker restart loses nothing,
and redelivery never double-counts."""

from __future__ import annotations

import time

import pytest

from hub.bus.mosquitto import Mosquitto
from hub.protocol import contract
from tests.support.bus import STORE, Device, make_hub_db, start_bus, wait_until
from tests.support.common import free_port

pytestmark = pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(free_port(), tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def db(data_dir):
    d = make_hub_db(data_dir)
    yield d
    d.close()


def _count(db, sql, *args):
    row = db.read().execute(sql, args).fetchone()
    return row[0] if row else None


def test_burst_of_20000_events_arrives_whole(broker, db):
    bus = start_bus(db, broker.port)
    try:
        dev = Device("scanner-1", broker.port)
        topic = contract.event_topic(STORE, "scanner-1", "scan")
        ids = []
        infos = []
        for i in range(20_000):
            ev = contract.make_event("scan", code=f"{i:013d}", symbology="ean13")
            ids.append(ev["id"])
            infos.append(dev.publish(topic, contract.encode(ev)))
        for info in infos:
            info.wait_for_publish(30)
        wait_until(lambda: _count(db, "SELECT COUNT(*) FROM device_scans") >= 20_000, 90, 0.2)
        assert _count(db, "SELECT COUNT(*) FROM device_scans") == 20_000
        assert _count(db, "SELECT COUNT(DISTINCT event_id) FROM device_scans") == 20_000
        assert _count(db, "SELECT events_total FROM devices WHERE id = 'scanner-1'") == 20_000
        assert _count(db, "SELECT COUNT(*) FROM dead_letters") == 0
        assert bus.stats.batches < 20_000 / 5, "writes were not batched"
        dev.close()
    finally:
        bus.stop()


def test_events_published_while_hub_is_down_arrive_after(broker, db):
    bus = start_bus(db, broker.port)
    bus.stop()  # the persistent session stays on the broker
    dev = Device("scale-1", broker.port)
    sent = [dev.event("weight", grams=500 + i, stable=True) for i in range(50)]
    for _ev in sent:
        pass
    dev.close()
    bus = start_bus(db, broker.port)
    try:
        wait_until(lambda: _count(db, "SELECT COUNT(*) FROM device_events_processed WHERE device_id='scale-1'") == 50)
        assert _count(db, "SELECT grams FROM scale_weights WHERE device_id='scale-1'") == 549
    finally:
        bus.stop()


def test_broker_restart_loses_no_qos1_event(broker, db):
    bus = start_bus(db, broker.port)
    bus.stop()
    dev = Device("scanner-2", broker.port)
    infos = [
        dev.publish(
            contract.event_topic(STORE, "scanner-2", "scan"), contract.encode(contract.make_event("scan", code=f"R{i}"))
        )
        for i in range(300)
    ]
    for info in infos:
        info.wait_for_publish(10)
    dev.close()
    broker.restart()  # queued for the hub's offline session: must come back from persistence
    bus = start_bus(db, broker.port)
    try:
        wait_until(lambda: _count(db, "SELECT COUNT(*) FROM device_scans WHERE device_id='scanner-2'") == 300)
        # and while the hub is connected, a restart under it: it reconnects and keeps receiving
        broker.restart()
        dev = Device("scanner-2", broker.port)
        for i in range(100):
            dev.event("scan", code=f"S{i}")
        wait_until(lambda: _count(db, "SELECT COUNT(*) FROM device_scans WHERE device_id='scanner-2'") == 400, 30)
        assert _count(db, "SELECT COUNT(DISTINCT code) FROM device_scans") == 400
        assert bus.stats.connects >= 2
        dev.close()
    finally:
        bus.stop()


def test_redelivered_event_is_applied_once(broker, db):
    bus = start_bus(db, broker.port)
    try:
        dev = Device("scanner-3", broker.port)
        ev = contract.make_event("scan", code="4006381333931")
        for _ in range(3):
            dev.publish(contract.event_topic(STORE, "scanner-3", "scan"), contract.encode(ev)).wait_for_publish(5)
        wait_until(lambda: _count(db, "SELECT events_duplicate FROM devices WHERE id='scanner-3'") == 2)
        assert _count(db, "SELECT COUNT(*) FROM device_scans WHERE device_id='scanner-3'") == 1
        assert _count(db, "SELECT events_total FROM devices WHERE id='scanner-3'") == 1
        dev.close()
    finally:
        bus.stop()


def test_embedded_amqtt_broker_for_the_demo(tmp_path, db):
    """`storehub broker` (amqtt, MQTT 3.1.1): the bus falls back from v5 and still gets every event."""
    import os
    import signal
    import subprocess

    from hub.bus.demo import components
    from hub.demo.context import DemoContext
    from tests.support.common import ROOT

    port = free_port()
    comp = components(DemoContext(data_dir=tmp_path, store_id=STORE, hub_port=free_port(), mqtt_port=port))[0]
    assert comp.wait_port == port
    p = subprocess.Popen(comp.argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        from hub.bus.mosquitto import port_open

        wait_until(lambda: port_open(port), 20)
        bus = start_bus(db, port)
        try:
            assert bus.url.protocol == 4  # MQTTv311 after the fallback
            dev = Device("scanner-am", port)
            for i in range(200):
                dev.event("scan", code=f"AM{i}")
            dev.flush()
            wait_until(lambda: _count(db, "SELECT COUNT(*) FROM device_scans WHERE device_id='scanner-am'") == 200, 30)
            dev.close()
        finally:
            bus.stop()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=15)


def _slow_subscriber_receives(tmp_path, conf_text: str, n: int) -> int:
    """A persistent, manually-acking subscriber that acks nothing until a burst of n is published."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "variant.conf"
    src.write_text(conf_text)
    broker = Mosquitto(free_port(), tmp_path / "variant-broker", source=src).start()
    got = []
    try:
        sub = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="slow-sub",
            protocol=mqtt.MQTTv311,
            clean_session=False,
            manual_ack=True,
        )
        sub.on_message = lambda c, u, m: got.append(m)
        sub.connect("127.0.0.1", broker.port)
        sub.subscribe(f"storehub/{STORE}/dev/+/evt/+", qos=1)
        sub.loop_start()
        time.sleep(0.3)
        dev = Device("burst-dev", broker.port)
        for i in range(n):
            dev.event("scan", code=f"Q{i}")
        dev.flush()  # every publish acknowledged by the broker
        acked, last_progress = 0, time.monotonic()
        while time.monotonic() - last_progress < 2.0 and acked < n:  # until nothing more arrives
            for m in got[acked:]:
                sub.ack(m.mid, m.qos)
            if len(got) > acked:
                acked, last_progress = len(got), time.monotonic()
            time.sleep(0.02)
        time.sleep(0.5)
        sub.disconnect()
        sub.loop_stop()
        dev.close()
        return len({m.payload for m in got})
    finally:
        broker.stop()


def test_the_shipped_queue_settings_are_what_prevents_loss(tmp_path):
    """Same broker config but Mosquitto's defaults for queues/inflight: a burst to a subscriber that is
    busy committing loses messages although every publish was acknowledged. The shipped values do not."""
    import re

    from hub.bus.mosquitto import PRODUCTION_CONF

    shipped = PRODUCTION_CONF.read_text()
    defaults = re.sub(r"(?m)^(max_queued_messages|max_queued_bytes|max_inflight_messages) .*$", "", shipped)
    n = 4000
    assert _slow_subscriber_receives(tmp_path / "a", defaults, n) < n
    assert _slow_subscriber_receives(tmp_path / "b", shipped, n) == n

"""Issue 11, hole 3: delivery is end to end. An agent keeps each event on disk until the HUB acknowledges it
(``dev/<device>/ack``, published by the bus after commit), not until the broker's PUBACK: the provisioned
Mosquitto (the shipped config: autosave every 30 s) is killed with SIGKILL while the hub is down, so it loses
every event it had confirmed — and still every event the agent produced reaches the hub exactly once."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.common.config import load
from devices.scanner.agent import ScannerAgent
from hub.bus.mosquitto import Mosquitto
from hub.bus.provision import provision
from hub.protocol import contract
from tests.support.bus import STORE, make_hub_db, start_bus, wait_until
from tests.support.common import free_port

pytestmark = pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")


class Confirmed:
    """Which of the agent's events the broker has PUBACKed (wraps the agent's paho client)."""

    def __init__(self, client: mqtt.Client):
        self.lock = threading.Lock()
        self.event_mids: set[int] = set()
        self.acked: set[int] = set()
        real = client.publish

        def publish(topic, payload=None, qos=0, retain=False, properties=None):
            info = real(topic, payload, qos, retain, properties)
            if "/evt/" in topic:
                with self.lock:
                    self.event_mids.add(info.mid)
            return info

        def on_publish(client, userdata, mid, reason_code=None, properties=None):
            with self.lock:
                self.acked.add(mid)

        client.publish = publish
        client.on_publish = on_publish

    def all_confirmed(self, n: int) -> bool:
        with self.lock:
            return len(self.event_mids) >= n and self.event_mids <= self.acked


def _count(db, sql, *a):
    return db.read().execute(sql, a).fetchone()[0]


@pytest.mark.parametrize("hub_session_saved", [True, False], ids=["hub-session-saved", "hub-session-lost-too"])
def test_broker_killed_while_the_hub_is_down_loses_no_confirmed_event(tmp_path, data_dir, hub_session_saved):
    db = make_hub_db(data_dir)
    out = tmp_path / "mqtt"
    dev_cfg = provision(device_id="scanner-1", kind="scanner", store_id=STORE, out=out).config_path
    hub = json.loads((out / "hub-mqtt.json").read_text())
    broker = Mosquitto(free_port(), tmp_path / "broker", password_file=out / "passwd", acl_file=out / "acl").start()
    bus = start_bus(db, broker.port, user=hub["username"], password=hub["password"])  # the hub's session exists
    bus.stop()  # ...and the hub goes down
    if hub_session_saved:
        broker.restart()  # SIGTERM saves the hub's session; without it even the session dies with the kill
    cfg = load(
        dev_cfg,
        broker=f"mqtt://127.0.0.1:{broker.port}",
        state_dir=tmp_path / "agent",
        reconnect_min_s=1,
        reconnect_max_s=1,
        ack_timeout_s=1.0,
        options={"mode": "serial", "port": "/dev/null"},
    )
    agent = ScannerAgent(cfg)
    confirmed = Confirmed(agent.client)
    agent.start()
    try:
        assert agent.connected.wait(10)
        n = 400
        produced = [agent.handle_code(f"K{i:04d}")["id"] for i in range(n)]
        wait_until(lambda: confirmed.all_confirmed(n), 30)  # the broker PUBACKed every one of them
        broker.kill()  # a power cut: nothing saved since the last autosave
        broker.start()
        bus = start_bus(db, broker.port, user=hub["username"], password=hub["password"])
        wait_until(lambda: _count(db, "SELECT COUNT(*) FROM device_scans WHERE device_id = 'scanner-1'") >= n, 60)
        wait_until(lambda: len(agent.buffer) == 0, 30)  # the hub acknowledged all: the agent forgot them
        assert _count(db, "SELECT COUNT(*) FROM device_scans WHERE device_id = 'scanner-1'") == n
        assert _count(db, "SELECT COUNT(DISTINCT code) FROM device_scans WHERE device_id = 'scanner-1'") == n
        ids = {
            r[0]
            for r in db.read().execute(
                "SELECT event_id FROM device_events_processed WHERE device_id = 'scanner-1' AND event_type = 'scan'"
            )
        }
        assert ids == set(produced)
        assert _count(db, "SELECT events_total FROM devices WHERE id = 'scanner-1'") == n  # applied once each
        assert bus.stats.device_acks >= 1
    finally:
        agent.stop()
        bus.stop()
        broker.stop()
        db.close()


def test_only_the_hub_writes_a_devices_ack_and_only_that_device_reads_it(tmp_path, data_dir):
    db = make_hub_db(data_dir)
    out = tmp_path / "mqtt"
    creds = {
        d: json.loads(provision(device_id=d, kind="scanner", store_id=STORE, out=out).config_path.read_text())
        for d in ("scanner-a", "scanner-b")
    }
    hub = json.loads((out / "hub-mqtt.json").read_text())
    broker = Mosquitto(free_port(), tmp_path / "broker", password_file=out / "passwd", acl_file=out / "acl").start()
    bus = start_bus(db, broker.port, user=hub["username"], password=hub["password"])
    got: dict[str, list] = {"scanner-a": [], "scanner-b": []}
    clients = {}
    try:
        for d in got:
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=d, protocol=mqtt.MQTTv311, clean_session=True)
            c.username_pw_set(d, creds[d]["mqtt"]["password"])
            c.on_message = lambda cl, u, m, d=d: got[d].append((m.topic, json.loads(m.payload)))
            subscribed = threading.Event()
            c.on_subscribe = lambda *a, ev=subscribed: ev.set()
            c.connect("127.0.0.1", broker.port)
            c.loop_start()
            c.subscribe(f"storehub/{STORE}/dev/+/ack", qos=1)  # tries to read every device's acks
            assert subscribed.wait(5)
            clients[d] = c
        # scanner-a forges an ack for scanner-b (the broker drops it, and closes a's 3.1.1 connection)
        clients["scanner-a"].publish(
            contract.ack_topic(STORE, "scanner-b"), contract.encode(contract.make_ack(["forged"])), qos=1
        )
        ev = contract.make_event("scan", code="B1")
        clients["scanner-b"].publish(contract.event_topic(STORE, "scanner-b", "scan"), contract.encode(ev), qos=1)
        wait_until(lambda: got["scanner-b"], 15)
        wait_until(lambda: _count(db, "SELECT COUNT(*) FROM device_scans WHERE device_id = 'scanner-b'") == 1)
        ((topic, ack),) = got["scanner-b"]
        assert topic == contract.ack_topic(STORE, "scanner-b") and ack["ids"] == [ev["id"]]
        contract.decode_ack(contract.encode(ack))
        assert got["scanner-a"] == []
    finally:
        for c in clients.values():
            c.disconnect()
            c.loop_stop()
        bus.stop()
        broker.stop()
        db.close()

"""Issue 11, hole 2: on the provisioned Mosquitto (the shipped config), a device's credentials cannot take over
the hub's MQTT identity — client ids are bound to usernames (``use_username_as_clientid``), so a scanner that
connects with the hub's client id and a clean session neither wipes the events queued for the hub nor knocks the
hub's bus off."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.bus.mosquitto import Mosquitto, render
from hub.bus.provision import provision
from tests.support.bus import STORE, Device, make_hub_db, start_bus, wait_until
from tests.support.common import free_port

pytestmark = pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")


def _scans(db, device):
    return db.read().execute("SELECT COUNT(*) FROM device_scans WHERE device_id = ?", (device,)).fetchone()[0]


class Attacker:
    """A client with a device's credentials posing as the hub: its client id, a clean session, auto-reconnect."""

    def __init__(self, port: int, client_id: str, username: str, password: str, protocol=mqtt.MQTTv311):
        kw = {"clean_session": True} if protocol == mqtt.MQTTv311 else {}
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, **kw)
        self.c.username_pw_set(username, password)
        self.c.reconnect_delay_set(0.05, 0.1)
        self.connects = 0
        self.refused = None
        self.cond = threading.Condition()
        self.c.on_connect = self._on_connect
        self.c.connect("127.0.0.1", port, keepalive=10, **({"clean_start": True} if protocol == mqtt.MQTTv5 else {}))
        self.c.loop_start()

    def _on_connect(self, client, userdata, flags, rc, props=None):
        with self.cond:
            if rc.is_failure:
                self.refused = rc
            else:
                self.connects += 1
            self.cond.notify_all()

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def test_shipped_config_binds_client_ids_to_usernames_on_every_listener(tmp_path):
    text = render(
        1,
        tmp_path,
        password_file=tmp_path / "passwd",
        acl_file=tmp_path / "acl",
        tls_port=2,
        tls_files={"cafile": tmp_path / "ca", "certfile": tmp_path / "crt", "keyfile": tmp_path / "key"},
    )
    lines = [ln.strip() for ln in text.splitlines()]
    for port in ("1", "2"):
        at = lines.index(f"listener {port} 127.0.0.1")
        block = lines[
            at + 1 : next((i for i in range(at + 1, len(lines)) if lines[i].startswith("listener")), len(lines))
        ]
        assert "use_username_as_clientid true" in block, block


def test_a_device_cannot_take_over_the_hubs_session(tmp_path, data_dir):
    db = make_hub_db(data_dir)
    out = tmp_path / "mqtt"
    creds = {}
    for d in ("scanner-a", "scanner-b"):
        creds[d] = json.loads(provision(device_id=d, kind="scanner", store_id=STORE, out=out).config_path.read_text())
    hub = json.loads((out / "hub-mqtt.json").read_text())
    broker = Mosquitto(free_port(), tmp_path / "broker", password_file=out / "passwd", acl_file=out / "acl").start()
    bus = start_bus(db, broker.port, user=hub["username"], password=hub["password"])
    hub_client_id = bus.client_id
    bus.stop()  # the hub is down: the broker queues its events
    attackers = []
    try:
        assert creds["scanner-a"]["mqtt"]["client_id"] == "scanner-a"  # agents ask for their username
        dev = Device("scanner-b", broker.port, username="scanner-b", password=creds["scanner-b"]["mqtt"]["password"])
        n = 300
        for i in range(n):
            dev.event("scan", code=f"Q{i}")
        dev.flush()  # every event PUBACKed: queued for the hub's session
        # the attack while the hub is away: scanner-a's password, the hub's client id, a clean session (3.1.1
        # clean_session and v5 clean_start), which on an unbound broker discards the hub's session and its queue
        for proto in (mqtt.MQTTv311, mqtt.MQTTv5):
            a = Attacker(broker.port, hub_client_id, "scanner-a", creds["scanner-a"]["mqtt"]["password"], proto)
            attackers.append(a)
            with a.cond:
                assert a.cond.wait_for(lambda: a.connects or a.refused, 10) and a.refused is None
            a.close()
        bus = start_bus(db, broker.port, user=hub["username"], password=hub["password"])
        wait_until(lambda: _scans(db, "scanner-b") == n, 30)
        # and while the hub is up: an attacker reconnecting with the hub's client id must not knock it off
        a = Attacker(broker.port, hub_client_id, "scanner-a", creds["scanner-a"]["mqtt"]["password"])
        attackers.append(a)
        for want in range(1, 6):
            with a.cond:
                assert a.cond.wait_for(lambda: a.connects >= want, 10)
            a.c.reconnect()  # reconnect with the hub's id again
        dev.event("scan", code="AFTER")
        dev.flush()
        wait_until(lambda: _scans(db, "scanner-b") == n + 1, 30)
        assert bus.stats.connects == 1, f"the hub's bus was knocked off {bus.stats.connects - 1} time(s)"
        assert bus.connected.is_set()
        dev.close()
    finally:
        for a in attackers:
            a.close()
        bus.stop()
        broker.stop()
        db.close()


def test_the_embedded_demo_broker_binds_client_ids_to_usernames_too(tmp_path, data_dir):
    """amqtt keeps no queue for an offline session here, so the attack shows as the take-over: a client posing
    with the hub's client id would knock the connected hub off (amqtt: "already connected, performing take-over")."""
    import os
    import subprocess
    import sys

    from hub.bus.mosquitto import port_open
    from hub.bus.writer import Bus
    from tests.support.common import ROOT

    db = make_hub_db(data_dir)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "broker", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bus = None
    attackers = []
    try:
        wait_until(lambda: port_open(port), 30)
        bus = Bus(db, f"mqtt://storehub-hub-test-store:demo@127.0.0.1:{port}?protocol=311").start()
        assert bus.wait_ready(15)
        dev = Device("scanner-b", port, username="scanner-b", password="demo")
        a = Attacker(port, bus.client_id, "scanner-a", "demo")
        attackers.append(a)
        for want in range(1, 4):
            with a.cond:
                assert a.cond.wait_for(lambda: a.connects >= want, 10) and a.refused is None
            a.c.reconnect()
        dev.event("scan", code="AFTER")
        dev.flush()
        wait_until(lambda: _scans(db, "scanner-b") == 1, 30)
        assert bus.stats.connects == 1, f"the hub's bus was knocked off {bus.stats.connects - 1} time(s)"
        dev.close()
    finally:
        for a in attackers:
            a.close()
        if bus is not None:
            bus.stop()
        proc.terminate()
        proc.wait(timeout=15)
        db.close()

"""Broker accounts and ACLs written by `storehub devices provision`, enforced by a real Mosquitto
running the project's config; Last Will marks a killed device offline; the real `storehub bus` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from hub.bus.mosquitto import Mosquitto
from hub.bus.provision import pbkdf2_sha512_hash, provision, verify_pbkdf2_sha512
from hub.protocol import contract
from tests.support.bus import STORE, Device, make_hub_db, start_bus, wait_until
from tests.support.common import ROOT, free_port

pytestmark = pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")


@pytest.fixture
def db(data_dir):
    d = make_hub_db(data_dir)
    yield d
    d.close()


def _secured_broker(tmp_path, devices, *, use_tool=True):
    out = tmp_path / "mqtt"
    provs = {d: provision(device_id=d, kind=k, store_id=STORE, out=out, use_tool=use_tool) for d, k in devices}
    hub = json.loads((out / "hub-mqtt.json").read_text())
    broker = Mosquitto(free_port(), tmp_path / "broker", password_file=out / "passwd", acl_file=out / "acl").start()
    creds = {d: json.loads(p.config_path.read_text())["mqtt"] for d, p in provs.items()}
    return broker, hub, creds


def _scans(db, device):
    return db.read().execute("SELECT COUNT(*) FROM device_scans WHERE device_id = ?", (device,)).fetchone()[0]


def test_acl_refuses_a_device_publishing_as_another(tmp_path, db):
    broker, hub, creds = _secured_broker(tmp_path, [("scanner-a", "scanner"), ("scanner-b", "scanner")])
    bus = start_bus(db, broker.port, user=hub["username"], password=hub["password"])
    try:
        a = Device("scanner-a", broker.port, username="scanner-a", password=creds["scanner-a"]["password"])
        assert a.connected
        # A publishes under B's topic: the broker accepts the PUBLISH but drops it (ACL).
        forged = contract.make_event("scan", code="FORGED")
        # (Mosquitto 2.0.11 logs "Denied PUBLISH" and then drops the 3.1.1 connection.)
        info = a.publish(contract.event_topic(STORE, "scanner-b", "scan"), contract.encode(forged))
        try:
            info.wait_for_publish(5)
        except RuntimeError:
            pass
        a.c.disconnect()
        a.c.loop_stop()
        # ...while under its own topic it arrives (proves the account and channel work).
        a = Device("scanner-a", broker.port, username="scanner-a", password=creds["scanner-a"]["password"])
        a.event("scan", code="GENUINE")
        a.flush()
        wait_until(lambda: _scans(db, "scanner-a") == 1)
        import time

        time.sleep(0.5)
        assert _scans(db, "scanner-b") == 0
        assert db.read().execute("SELECT COUNT(*) FROM device_scans WHERE code = 'FORGED'").fetchone()[0] == 0
        a.close()
        # wrong password and anonymous are refused at connect
        bad = Device("scanner-b", broker.port, username="scanner-b", password="wrong", will=False)
        assert bad.refused is not None
        anon = Device("scanner-c", broker.port, will=False)
        assert anon.refused is not None
    finally:
        bus.stop()
        broker.stop()


def test_acl_lets_a_device_read_only_its_own_commands(tmp_path, db):
    broker, hub, creds = _secured_broker(tmp_path, [("printer-1", "printer"), ("printer-2", "printer")])
    got = {"printer-1": [], "printer-2": []}
    devs = {}
    for d in got:
        dev = Device(d, broker.port, username=d, password=creds[d]["password"])
        dev.c.on_message = lambda c, u, m, d=d: got[d].append(m.topic)
        dev.c.subscribe(f"storehub/{STORE}/dev/+/cmd/+", qos=1)  # tries to read everyone's commands
        devs[d] = dev
    bus = start_bus(db, broker.port, user=hub["username"], password=hub["password"], command_poll_s=0.05)
    try:
        from hub.bus import commands

        with db.write() as conn:
            rid = commands.send_command(
                conn, "printer-1", "print", {"document": {"type": "text", "text": "hi"}}, actor="test"
            )
        wait_until(lambda: got["printer-1"])
        import time

        time.sleep(0.5)
        assert got["printer-1"] == [contract.command_topic(STORE, "printer-1", "print")]
        assert got["printer-2"] == []
        assert commands.get(db.read(), rid)["status"] == "sent"
    finally:
        bus.stop()
        for d in devs.values():
            d.close()
        broker.stop()


def test_python_written_pbkdf2_hash_is_accepted_by_mosquitto(tmp_path, db):
    h = pbkdf2_sha512_hash("s3cret", salt=b"0123456789ab")
    assert h.startswith("$7$101$") and verify_pbkdf2_sha512("s3cret", h) and not verify_pbkdf2_sha512("x", h)
    broker, hub, creds = _secured_broker(tmp_path, [("scale-9", "scale")], use_tool=False)
    try:
        assert "$7$" in (tmp_path / "mqtt" / "passwd").read_text()
        ok = Device("scale-9", broker.port, username="scale-9", password=creds["scale-9"]["password"])
        assert ok.connected and ok.refused is None
        ok.close()
        bad = Device("scale-9", broker.port, username="scale-9", password="nope", will=False)
        assert bad.refused is not None
    finally:
        broker.stop()


def test_reprovisioning_keeps_the_password_unless_rotated(tmp_path):
    out = tmp_path / "mqtt"
    p1 = provision(device_id="shelf-1", kind="shelf", store_id=STORE, out=out)
    pw1 = json.loads(p1.config_path.read_text())["mqtt"]["password"]
    p2 = provision(device_id="shelf-1", kind="shelf", store_id=STORE, out=out)
    assert json.loads(p2.config_path.read_text())["mqtt"]["password"] == pw1 and not p2.new_password
    p3 = provision(device_id="shelf-1", kind="shelf", store_id=STORE, out=out, rotate=True)
    assert json.loads(p3.config_path.read_text())["mqtt"]["password"] != pw1
    cfg = json.loads(p3.config_path.read_text())
    assert cfg["topics"]["commands"] == f"storehub/{STORE}/dev/shelf-1/cmd/+"
    assert oct(p3.config_path.stat().st_mode & 0o777) == "0o600"
    acl = (out / "acl").read_text()
    assert (
        f"pattern write storehub/{STORE}/dev/%u/evt/+" in acl and f"pattern read storehub/{STORE}/dev/%u/cmd/+" in acl
    )
    with pytest.raises(ValueError):
        provision(device_id="Bad_Id", kind="shelf", store_id=STORE, out=out)


WILL_CLIENT = textwrap.dedent("""
    import sys, time
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    port, topic = int(sys.argv[1]), sys.argv[2]
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dev-lwt-1", protocol=mqtt.MQTTv311)
    c.will_set(topic, b"offline", qos=1, retain=True)
    c.connect("127.0.0.1", port, keepalive=2)
    c.loop_start()
    c.publish(topic, b"online", qos=1, retain=True).wait_for_publish(5)
    print("up", flush=True)
    while True:
        time.sleep(1)
""")


def test_last_will_marks_a_killed_device_offline(tmp_path, db):
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    bus = start_bus(db, broker.port)
    try:
        topic = contract.status_topic(STORE, "lwt-1")
        p = subprocess.Popen([sys.executable, "-c", WILL_CLIENT, str(broker.port), topic], stdout=subprocess.PIPE)
        assert p.stdout.readline().strip() == b"up"
        conn = db.read()
        wait_until(lambda: (conn.execute("SELECT online FROM devices WHERE id='lwt-1'").fetchone() or [0])[0] == 1)
        os.kill(p.pid, signal.SIGKILL)  # no DISCONNECT: the broker must publish the will
        p.wait()
        wait_until(lambda: conn.execute("SELECT online FROM devices WHERE id='lwt-1'").fetchone()[0] == 0, 15)
        alert = conn.execute("SELECT kind FROM alerts WHERE subject='lwt-1' AND cleared_at IS NULL").fetchone()
        assert alert["kind"] == "device_offline"
        kinds = [r[0] for r in conn.execute("SELECT payload FROM outbox WHERE kind='device.status' ORDER BY seq")]
        assert [json.loads(k)["status"] for k in kinds] == ["online", "offline"]
    finally:
        bus.stop()
        broker.stop()


def test_storehub_bus_subprocess_applies_events_and_holds_the_lock(tmp_path, db, data_dir):
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "bus",
        "--data-dir",
        str(data_dir),
        "--mqtt",
        f"mqtt://127.0.0.1:{broker.port}",
    ]
    p = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: (data_dir / "bus.lock").exists() and (data_dir / "bus.lock").read_text().strip(), 20)
        second = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, timeout=60)
        assert second.returncode != 0 and b"another bus process" in second.stderr
        dev = Device("scanner-9", broker.port)
        import time

        deadline = time.monotonic() + 30
        while _scans(db, "scanner-9") == 0 and time.monotonic() < deadline:
            dev.event("scan", code="9780201379624")  # until the bus has subscribed
            dev.flush()
            time.sleep(0.5)
        assert _scans(db, "scanner-9") >= 1
        dev.close()
    finally:
        p.send_signal(signal.SIGTERM)
        out = p.communicate(timeout=30)[0]
        broker.stop()
    assert p.returncode == 0, out.decode()[-2000:]


def test_bus_with_wrong_credentials_is_refused_and_says_so(tmp_path, db):
    broker, hub, creds = _secured_broker(tmp_path, [("scanner-z", "scanner")])
    from hub.bus.writer import Bus

    bus = Bus(db, f"mqtt://{hub['username']}:wrong@127.0.0.1:{broker.port}").start()
    try:
        assert not bus.wait_ready(4)
        assert bus._refused and ("not authorized" in bus._refused.lower() or "password" in bus._refused.lower())
        assert bus.url.protocol == 5  # a refusal is not mistaken for a broker without MQTT v5
    finally:
        bus.stop()
        broker.stop()

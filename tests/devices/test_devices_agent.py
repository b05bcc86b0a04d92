"""The agent base on real Mosquitto brokers: birth/LWT, the on-disk buffer while the broker is away (private
broker stopped and started), order and uniqueness of what arrives, survival across an agent restart,
command validation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices.common.buffer import DiskBuffer
from devices.common.config import AgentConfig, load
from devices.scanner.agent import ScannerAgent
from devices.sim.serial_scanner import SerialScannerSim
from hub.protocol import contract
from tests.support.devices import SHARED_BROKER, PrivateMosquitto, Watcher, unique_store

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository


def test_disk_buffer_is_bounded_and_ordered(tmp_path):
    b = DiskBuffer(tmp_path / "b.sqlite", max_events=5)
    for i in range(8):
        b.put("t", {"n": i})
    assert len(b) == 5 and b.dropped == 3
    assert [p["n"] for _s, _t, p in b.peek(10)] == [3, 4, 5, 6, 7]
    b.remove([s for s, _t, _p in b.peek(2)])
    b.close()
    b = DiskBuffer(tmp_path / "b.sqlite", max_events=5)  # on disk: survives a restart
    assert [p["n"] for _s, _t, p in b.peek(10)] == [5, 6, 7] and b.dropped == 3
    b.close()


def test_config_file_cli_overrides_and_provisioned_format(tmp_path):
    f = tmp_path / "scale.toml"
    f.write_text(
        'store = "s1"\ndevice = "scale-1"\nbroker = "mqtt://10.0.0.2:1883"\n[options]\nport = "/dev/ttyUSB0"\n'
    )
    cfg = load(f, device="scale-2", options={"port": None, "protocol": "mt-sics"}, discover=False)
    assert (cfg.store, cfg.device, cfg.broker) == ("s1", "scale-2", "mqtt://10.0.0.2:1883")
    assert cfg.options == {"port": "/dev/ttyUSB0", "protocol": "mt-sics"}
    prov = contract.device_config(
        store_id="s1",
        device_id="printer-1",
        kind="printer",
        broker_url="mqtts://hub.local:8883",
        username="printer-1",
        password="pw",
    )
    p = tmp_path / "printer-1.json"
    p.write_text(json.dumps(prov))
    cfg = load(p, discover=False)
    assert (cfg.device, cfg.username, cfg.password, cfg.client_id) == ("printer-1", "printer-1", "pw", "printer-1")
    assert cfg.broker_host_port_tls == ("hub.local", 8883, True)
    with pytest.raises(ValueError, match="device"):
        AgentConfig(store="s1", device="Bad_Id")
    with pytest.raises(ValueError, match="unknown setting"):
        (tmp_path / "x.json").write_text('{"store": "s", "device": "d", "brokr": "x"}')
        load(tmp_path / "x.json", discover=False)


def test_agent_finds_the_broker_by_mdns():
    from hub.bus.discovery import Advertiser

    adv = Advertiser(store_id="mdns-store", address="127.0.0.1", api_port=18001, mqtt_port=18831)
    try:
        cfg = load(None, store="mdns-store", device="scale-1", options={"mdns_interface": "127.0.0.1"})
    finally:
        adv.close()
    assert cfg.broker == "mqtt://127.0.0.1:18831"


@pytest.mark.mqtt
def test_killed_agent_is_marked_offline_by_its_will(tmp_path):
    store = unique_store()
    w = Watcher(*SHARED_BROKER, store)
    with SerialScannerSim() as sim:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub.cli",
                "agent",
                "scanner",
                "--store",
                store,
                "--device",
                "scanner-9",
                "--broker",
                "mqtt://127.0.0.1:1883",
                "--state-dir",
                str(tmp_path),
                "--port",
                sim.path,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            w.status("scanner-9", "online", timeout=20)
            info = json.loads(w.wait_for(lambda t, p: t.endswith("scanner-9/info"))[1])
            contract.decode_info(json.dumps(info))
            # the birth and info go out at connect, before the serial port is open; opening it flushes its
            # input (pyserial), so scan only once the agent says it holds the port (info gains "port")
            w.wait_for(lambda t, p: t.endswith("scanner-9/info") and b'"port"' in p)
            sim.scan("]E05901234123457")
            assert w.wait_events("scanner-9", "scan", 1)[0]["code"] == "]E05901234123457"
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            w.status("scanner-9", "offline", timeout=10)
            # the status is retained: a newcomer sees 'offline' at once
            w2 = Watcher(*SHARED_BROKER, store)
            _t, p = w2.wait_for(lambda t, p: t.endswith("scanner-9/status"))
            assert p == b"offline"
            w2.close()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            w.close()


@pytest.mark.mqtt
def test_events_buffered_on_disk_while_the_broker_is_away(tmp_path):
    broker = PrivateMosquitto(tmp_path / "broker")
    broker.start()
    store = unique_store()
    w = Watcher("127.0.0.1", broker.port, store, persistent=True)

    def make_agent():
        cfg = AgentConfig(
            store=store,
            device="scanner-1",
            broker=broker.url,
            state_dir=tmp_path / "state",
            reconnect_max_s=2,
            keepalive=5,
            options={"mode": "serial", "port": "/dev/null"},
        )
        a = ScannerAgent(cfg)
        a.start()
        return a

    agent = make_agent()
    try:
        assert agent.connected.wait(10)
        agent.handle_code("BEFORE-0")
        w.wait_events("scanner-1", "scan", 1)
        broker.stop()
        end = time.monotonic() + 10
        while agent.connected.is_set() and time.monotonic() < end:
            time.sleep(0.05)
        assert not agent.connected.is_set()
        sent = [agent.handle_code(f"AWAY-{i:03d}")["id"] for i in range(40)]
        assert len(agent.buffer) == 41  # BEFORE-0 too: the broker has it, the hub has not confirmed it
        # the agent process stops (power cut, update) while the broker is still away
        agent.stop()
        agent = make_agent()
        more = [agent.handle_code(f"AWAY-{i:03d}")["id"] for i in range(40, 60)]
        broker.start()
        end = time.monotonic() + 30
        while time.monotonic() < end:
            # QoS 1 is at-least-once: the broker may redeliver to the watcher after its restart (same id);
            # the hub applies events idempotently by id, so count distinct ids
            got = list({g["id"]: g for g in w.events("scanner-1", "scan")}.values())
            if len(got) >= 61:
                break
            time.sleep(0.05)
        codes = [g["code"] for g in got]
        assert codes == ["BEFORE-0"] + [f"AWAY-{i:03d}" for i in range(60)]  # all, once, in order
        assert [g["id"] for g in got[1:]] == sent + more
        for g in got:
            contract.validate("evt/scan", g)
        # the agent forgets them only when the hub says it has committed them (the watcher plays the hub here)
        assert len(agent.buffer) == 61
        w.client.publish(
            contract.ack_topic(store, "scanner-1"), contract.encode(contract.make_ack([g["id"] for g in got])), qos=1
        )
        end = time.monotonic() + 10
        while len(agent.buffer) and time.monotonic() < end:
            time.sleep(0.05)
        assert len(agent.buffer) == 0
        w.status("scanner-1", "online")
    finally:
        agent.stop()
        w.close()
        broker.stop()


@pytest.mark.mqtt
def test_bad_commands_get_clear_results(tmp_path):
    store = unique_store()
    w = Watcher(*SHARED_BROKER, store)
    cfg = AgentConfig(
        store=store,
        device="scanner-1",
        broker="mqtt://127.0.0.1:1883",
        state_dir=tmp_path,
        options={"mode": "serial", "port": "/dev/null"},
    )
    agent = ScannerAgent(cfg)
    agent.start()
    try:
        w.status("scanner-1", "online")
        res = w.command("scanner-1", "print", {"document": {"type": "text", "lines": ["x"]}})
        assert res["ok"] is False and "unknown command" in res["error"]
        topic = f"storehub/{store}/dev/scanner-1/cmd/beep"
        w.client.publish(topic, b"{not json", qos=1)  # no request_id: logged and dropped
        w.client.publish(topic, json.dumps({"request_id": "r-1", "ts": "yesterday"}), qos=1)
        res = w.result("scanner-1", "r-1")
        assert res["ok"] is False
        assert agent.connected.is_set()
    finally:
        agent.stop()
        w.close()


@pytest.mark.parametrize("name", ["scale", "printer", "scanner-wedge", "scanner-serial"])
def test_example_agent_configs_load_and_build_their_agent(tmp_path, name):
    from devices.printer.agent import PrinterAgent
    from devices.scale.agent import ScaleAgent

    path = Path(ROOT) / "firmware_configs" / "agents" / f"{name}.toml"
    cfg = load(path, state_dir=tmp_path, discover=False)
    cls = {"scale": ScaleAgent, "printer": PrinterAgent}.get(name.split("-")[0], ScannerAgent)
    agent = cls(cfg)  # validates the options; no connection is made before start()
    assert agent.kind == name.split("-")[0]
    assert agent.info()["kind"] == agent.kind
    agent.buffer.close()

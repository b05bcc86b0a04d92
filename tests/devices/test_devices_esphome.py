"""The ESP32 + HX711 shelf sensor: ``esphome config`` validates the firmware config (in CI it must run), its
topics are the contract's, and the simulator that publishes like it produces contract-valid payloads."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from devices.sim.shelf import ShelfSensorSim
from hub.protocol import contract
from tests.support.devices import SHARED_BROKER, Watcher, unique_store

ROOT = Path(__file__).resolve().parents[2]
ESPHOME = ROOT / ".venv-esphome" / "bin" / "esphome"
CONFIG = ROOT / "firmware_configs" / "esphome" / "shelf-sensor.yaml"


def _esphome_config(*subs: str) -> str:
    if not ESPHOME.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{ESPHOME} missing: scripts/bootstrap dev installs it and CI must validate the config")
        pytest.skip("ESPHome venv absent (run scripts/bootstrap dev)")
    args = [str(ESPHOME)]
    for s in subs:
        args += ["-s", *s.split("=", 1)]
    r = subprocess.run(args + ["config", str(CONFIG)], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Configuration is valid!" in r.stdout + r.stderr
    return r.stdout


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor(
    "!", lambda loader, suffix, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
)


def test_esphome_config_validates_and_speaks_our_topics():
    out = _esphome_config("store_id=store-042", "device_id=shelf-b02-03")
    body = out[out.index("esphome:") :] if "esphome:" in out else out
    cfg = yaml.load(body.split("INFO Configuration is valid!")[0], Loader=_Loader)
    m = cfg["mqtt"]
    status = contract.status_topic("store-042", "shelf-b02-03")
    assert m["birth_message"] == {"topic": status, "payload": "online", "qos": 1, "retain": True}
    assert m["will_message"] == {"topic": status, "payload": "offline", "qos": 1, "retain": True}
    assert m["topic_prefix"] == contract.device_root("store-042", "shelf-b02-03")
    subs = {t["topic"] for t in m["on_json_message"]}
    assert subs == {
        contract.command_topic("store-042", "shelf-b02-03", "tare"),
        contract.command_topic("store-042", "shelf-b02-03", "calibrate"),
    }
    assert contract.event_topic("store-042", "shelf-b02-03", "shelf") in out
    assert contract.info_topic("store-042", "shelf-b02-03") in out
    assert "calibrate_linear" in out
    assert m["discovery"] is False


@pytest.mark.mqtt
def test_shelf_simulator_payloads_follow_the_contract():
    store = unique_store()
    w = Watcher(*SHARED_BROKER, store)
    sim = ShelfSensorSim(store, "shelf-a01-01", *SHARED_BROKER).start()
    try:
        w.status("shelf-a01-01", "online")
        info = w.wait_for(lambda t, p: t.endswith("/info"))[1]
        assert contract.decode_info(info)["kind"] == "shelf"
        sim.load(5150.4)
        sim.load(5152.0)  # below report_delta_g: no event (like the firmware's delta filter)
        sim.load(4120.0)
        ev = w.wait_events("shelf-a01-01", "shelf", 2)
        time.sleep(0.2)
        assert [e["grams"] for e in w.events("shelf-a01-01", "shelf")] == [5150, 4120]
        for e in ev:
            contract.decode_event("shelf", json.dumps(e))
        assert ev[0]["id"] != ev[1]["id"] and ev[0]["id"].startswith("shelf-a01-01-")
        res = w.command("shelf-a01-01", "tare")
        assert res["ok"] is True
        contract.decode_result(json.dumps(res))
        assert w.wait_events("shelf-a01-01", "shelf", 3)[2]["grams"] == 0
        sim.load(4120.0 + 1000)
        res = w.command("shelf-a01-01", "calibrate", {"known_grams": 1010})
        assert res["ok"] is True
        assert w.wait_events("shelf-a01-01", "shelf", 5)[-1]["grams"] == 1010
    finally:
        sim.crash()
        w.status("shelf-a01-01", "offline")  # the Will: the sensor vanished without a goodbye
        w.close()

"""Finding the hub: `storehub devices discover` browses every interface by default, and an agent without a
configured broker keeps looking for its hub (saying so) instead of quietly trying 127.0.0.1."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

from devices.common.config import load
from hub.bus.discovery import Advertiser
from hub.protocol.discovery import discover
from tests.support.common import ROOT


def test_discover_without_an_interface_browses_all_interfaces():
    adv = Advertiser(store_id="all-ifaces-store", address="127.0.0.1", api_port=18002, mqtt_port=18832)
    try:
        found = discover(2.5, store_id="all-ifaces-store")  # no interface: zeroconf got None and raised
    finally:
        adv.close()
    assert {f.service: f.url for f in found} == {"hub": "http://127.0.0.1:18002", "mqtt": "mqtt://127.0.0.1:18832"}


def test_devices_discover_command_runs_without_interface():
    r = subprocess.run(
        [sys.executable, "-P", "-m", "hub.cli", "devices", "discover", "--timeout", "0.5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr


def test_agent_keeps_looking_for_its_hub_and_says_so(caplog):
    caplog.set_level(logging.INFO, logger="devices.common.config")
    out: dict = {}

    def start_agent_config():
        out["cfg"] = load(
            None,
            store="late-hub-store",
            device="scale-9",
            options={
                "mdns_interface": "127.0.0.1",
                "mdns_timeout_s": 0.5,
                "mdns_retry_min_s": 0.2,
                "mdns_retry_max_s": 0.5,
            },
        )

    t = threading.Thread(target=start_agent_config, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sum("looking again" in r.getMessage() for r in caplog.records) < 2:
        time.sleep(0.1)
    # no hub yet: the agent has not settled for a guessed address, and it said what it is doing
    assert "cfg" not in out and t.is_alive()
    misses = [r for r in caplog.records if "looking again" in r.getMessage()]
    assert len(misses) >= 2 and misses[0].levelno == logging.WARNING
    assert "late-hub-store" in misses[0].getMessage()
    adv = Advertiser(store_id="late-hub-store", address="127.0.0.1", api_port=18003, mqtt_port=18833)
    try:
        t.join(30)
    finally:
        adv.close()
    assert not t.is_alive()
    assert out["cfg"].broker == "mqtt://127.0.0.1:18833"

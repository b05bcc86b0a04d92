"""Helpers for the device-bus tests: a Mosquitto from the project's config, a hub bus, device clients."""

from __future__ import annotations

import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.bus.writer import Bus
from hub.protocol import contract
from hub.store import initialise, open_db

STORE = "test-store"


def wait_until(fn, timeout: float = 20.0, interval: float = 0.02):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout}s (last value {v!r})")
        time.sleep(interval)


def make_hub_db(data_dir: Path):
    _cfg, db = open_db(data_dir)
    initialise(db, store_id=STORE, store_name="Bus Test Store", currency="CNY", language="en")
    return db


def start_bus(db, port: int, *, user: str | None = None, password: str | None = None, **kw) -> Bus:
    auth = f"{user}:{password}@" if user else ""
    bus = Bus(db, f"mqtt://{auth}127.0.0.1:{port}", **kw).start()
    assert bus.wait_ready(15), "bus did not subscribe"
    return bus


class Device:
    """A device-side MQTT client speaking the contract (paho, like the agents)."""

    def __init__(
        self,
        device_id: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        will: bool = True,
        client_id: str | None = None,
    ):
        self.device_id = device_id
        self.c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"dev-{device_id}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        self.c.max_inflight_messages_set(1000)
        self.c.max_queued_messages_set(0)
        if username:
            self.c.username_pw_set(username, password)
        if will:
            self.c.will_set(contract.status_topic(STORE, device_id), b"offline", qos=1, retain=True)
        self.refused = None
        self.connected = False
        self._infos: list = []
        self.c.on_connect = self._on_connect
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        wait_until(lambda: self.connected or self.refused is not None, 10)

    def _on_connect(self, client, userdata, flags, rc, props=None):
        if rc.is_failure:
            self.refused = rc
        else:
            self.connected = True

    def online(self):
        return self.publish(contract.status_topic(STORE, self.device_id), b"online", retain=True)

    def info(self, kind: str, **extra):
        return self.publish(
            contract.info_topic(STORE, self.device_id),
            contract.encode(contract.make_info(kind, "Model X", "1.0", ["test"], **extra)),
            retain=True,
        )

    def event(self, event_type: str, **fields) -> dict:
        ev = contract.make_event(event_type, **fields)
        self.publish(contract.event_topic(STORE, self.device_id, event_type), contract.encode(ev))
        return ev

    def publish(self, topic: str, payload: bytes, retain: bool = False, qos: int = 1):
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        self._infos.append(info)
        return info

    def flush(self, timeout: float = 30.0):
        for info in self._infos:
            info.wait_for_publish(timeout)
        self._infos.clear()

    def close(self):
        self.flush()
        self.c.disconnect()
        self.c.loop_stop()

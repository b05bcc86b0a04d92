"""Helpers for the device tests: a private Mosquitto that can be stopped and started, and an MQTT watcher."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
SHARED_BROKER = ("127.0.0.1", 1883)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, up: bool = True, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if (s.connect_ex(("127.0.0.1", port)) == 0) == up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not come {'up' if up else 'down'}")


def unique_store() -> str:
    return "t-" + uuid.uuid4().hex[:10]


class PrivateMosquitto:
    """A Mosquitto of our own on a free port (in-memory: a restart forgets sessions unless persistence)."""

    def __init__(self, workdir: Path, persistence: bool = True):
        self.port = free_port()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf = self.workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "max_queued_messages 100000",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "log_dest none",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to 'mosquitto', which cannot write in a private tmp dir
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port, True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None
        wait_port(self.port, False)


class Watcher:
    """Subscribes to a store's topics and records (topic, payload, retain) in arrival order."""

    def __init__(self, host: str, port: int, store: str, persistent: bool = False):
        self.messages: list[tuple[str, bytes, bool]] = []
        self.cond = threading.Condition()
        self.store = store
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="watch-" + uuid.uuid4().hex[:8], clean_session=not persistent
        )
        self.client.reconnect_delay_set(1, 2)
        self.client.on_message = self._on_message
        self._subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect(host, port)
        self.client.subscribe(f"storehub/{store}/#", qos=1)
        self.client.loop_start()
        assert self._subscribed.wait(5)

    def _on_message(self, client, userdata, msg):
        with self.cond:
            self.messages.append((msg.topic, msg.payload, msg.retain))
            self.cond.notify_all()

    def wait_for(self, pred, timeout: float = 10.0):
        """Wait until pred(topic, payload) is true for some message; returns (topic, payload)."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, p, _r in self.messages:
                    if pred(t, p):
                        return t, p
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching message; got {[(t, p[:160]) for t, p, _ in self.messages][-6:]}")
                self.cond.wait(left)

    def events(self, device: str, etype: str) -> list[dict]:
        topic = f"storehub/{self.store}/dev/{device}/evt/{etype}"
        with self.cond:
            return [json.loads(p) for t, p, _ in self.messages if t == topic]

    def wait_events(self, device: str, etype: str, n: int, timeout: float = 10.0) -> list[dict]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ev = self.events(device, etype)
            if len(ev) >= n:
                return ev
            time.sleep(0.05)
        raise TimeoutError(f"wanted {n} {etype} events from {device}, got {self.events(device, etype)}")

    def status(self, device: str, value: str, timeout: float = 10.0):
        topic = f"storehub/{self.store}/dev/{device}/status"
        # the LAST status seen must be this value
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.cond:
                seen = [p for t, p, _ in self.messages if t == topic]
            if seen and seen[-1] == value.encode():
                return
            time.sleep(0.05)
        raise TimeoutError(f"{device} status never became {value}: {seen if 'seen' in dir() else None}")

    def command(self, device: str, action: str, body: dict | None = None, timeout: float = 10.0) -> dict:
        """Send a command (QoS 1) and wait for its result."""
        from hub.protocol import contract

        rid = (body or {}).get("request_id") or uuid.uuid4().hex
        payload = contract.make_command(action, rid, **{k: v for k, v in (body or {}).items() if k != "request_id"})
        self.client.publish(f"storehub/{self.store}/dev/{device}/cmd/{action}", json.dumps(payload), qos=1)
        return self.result(device, rid, timeout)

    def result(self, device: str, rid: str, timeout: float = 10.0) -> dict:
        topic = f"storehub/{self.store}/dev/{device}/result"
        _t, p = self.wait_for(lambda t, p: t == topic and json.loads(p).get("request_id") == rid, timeout)
        return json.loads(p)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

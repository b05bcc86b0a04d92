"""Shelf sensors publishing exactly as ``firmware_configs/esphome/shelf-sensor.yaml`` does on a real ESP32:
birth ``online`` / Will ``offline`` (QoS 1, retained), a retained ``info``, ``evt/shelf`` {id, ts, grams}
when the net weight moves by ``report_delta_g`` or more (event id ``<device>-<boot id hex6>-<seq>``, ``ts``
to the second with ``Z``), and ``cmd/tare`` / ``cmd/calibrate`` answered on ``result``. Like the firmware,
it does not buffer while the broker is away."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)


def _ts() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ShelfSensorSim:
    def __init__(
        self,
        store: str,
        device: str,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        report_delta_g: int = 5,
        firmware: str = "storehub-shelf 1.0",
    ):
        self.store, self.device = store, device
        self.prefix = f"storehub/{store}/dev/{device}"
        self.report_delta_g = report_delta_g
        self.firmware = firmware
        self.boot_id = random.getrandbits(24)
        self.seq = 0
        self.calibrated_g = 0.0  # what calibrate_linear gives
        self.tare_offset_g = 0.0
        self.cal_scale = 1.0
        self.last_sent: float | None = None
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{device}")
        self.client.will_set(f"{self.prefix}/status", "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.reconnect_delay_set(1, 30)
        self.host, self.port = host, port

    def start(self) -> ShelfSensorSim:
        self.client.connect_async(self.host, self.port, keepalive=15)
        self.client.loop_start()
        return self

    def stop(self, clean: bool = True) -> None:
        if clean and self.connected.is_set():
            self.client.publish(f"{self.prefix}/status", "offline", qos=1, retain=True).wait_for_publish(3)
        self.client.disconnect()
        self.client.loop_stop()

    def crash(self) -> None:
        """Vanish like a sensor losing power: the socket closes without DISCONNECT, so the Will fires."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    def _on_connect(self, client, userdata, flags, rc, props):
        if rc.is_failure:
            log.error("%s: broker refused: %s", self.device, rc)
            return
        client.publish(f"{self.prefix}/status", "online", qos=1, retain=True)
        client.publish(
            f"{self.prefix}/info",
            json.dumps(
                {
                    "kind": "shelf",
                    "model": "esp32-hx711",
                    "firmware": self.firmware,
                    "capabilities": ["shelf", "tare", "calibrate"],
                }
            ),
            qos=1,
            retain=True,
        )
        client.subscribe([(f"{self.prefix}/cmd/tare", 1), (f"{self.prefix}/cmd/calibrate", 1)])
        self.connected.set()

    @property
    def net_g(self) -> int:
        return round((self.calibrated_g - self.tare_offset_g) * self.cal_scale)

    def load(self, calibrated_grams: float) -> None:
        """The load cell now reads this (after calibrate_linear); publishes if it moved enough."""
        self.calibrated_g = calibrated_grams
        self.update()

    def update(self) -> None:
        net = self.net_g
        if self.last_sent is not None and abs(net - self.last_sent) < self.report_delta_g:
            return
        self.last_sent = net
        self.seq += 1
        payload = {"id": f"{self.device}-{self.boot_id:06x}-{self.seq}", "ts": _ts(), "grams": int(net)}
        self.client.publish(f"{self.prefix}/evt/shelf", json.dumps(payload, separators=(",", ":")), qos=1)

    def _on_message(self, client, userdata, msg):
        try:
            body = json.loads(msg.payload)
        except ValueError:
            log.warning("%s: ignoring non-JSON command", self.device)  # ESPHome drops it too
            return
        if not isinstance(body, dict):
            return
        result = {"request_id": body.get("request_id"), "ts": _ts()}
        if msg.topic.endswith("/cmd/tare"):
            self.tare_offset_g = self.calibrated_g
            result["ok"] = True
        else:
            known = body.get("known_grams") or 0
            net = self.calibrated_g - self.tare_offset_g
            if known > 0 and net > 1.0:
                self.cal_scale = known / net
                result["ok"] = True
            else:
                result["ok"] = False
                result["error"] = "put the known weight on the tared shelf first"
        client.publish(f"{self.prefix}/result", json.dumps(result), qos=1)
        self.update()


def run(store: str, devices: list[str], broker: str, interval: float) -> None:
    u = urlparse(broker if "://" in broker else "mqtt://" + broker)
    sims = [ShelfSensorSim(store, d, u.hostname or "127.0.0.1", u.port or 1883).start() for d in devices]
    print(f"{len(sims)} shelf sensor(s) publishing to {broker}: {', '.join(devices)}", flush=True)
    stock = {s.device: random.randint(8, 20) * 500.0 for s in sims}
    try:
        while True:
            for s in sims:
                if stock[s.device] <= 0 or random.random() < 0.05:
                    stock[s.device] = random.randint(10, 20) * 500.0  # restocked
                elif random.random() < 0.4:
                    stock[s.device] -= 500.0  # a customer takes one
                s.load(stock[s.device] + random.uniform(-1.5, 1.5))
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        for s in sims:
            s.stop()

"""Adapters: devices that speak their own MQTT format, translated onto the topic contract by the bus.

ESPHome (stock firmware, no StoreHub lambdas) publishes ``<prefix>/status`` (``online``/``offline``, its birth
and Last Will, retained) and ``<prefix>/sensor/<object_id>/state`` (the value as plain text, e.g. ``1234.5``),
where ``prefix`` is the ``mqtt: topic_prefix`` — by default the node name. An adapter maps one such device to a
StoreHub device id: its status becomes the device's ``status``, and the state of the configured weight sensor
becomes an ``evt/shelf`` ``{id, ts, grams}`` (a fresh id per message: the readings are absolute, so a
redelivered one changes nothing). Other sensors of the node are ignored; a state that is not a number
(``nan``, ``unknown``) is rejected with the reason like any bad payload.

Configured in ``<data-dir>/mqtt/adapters.json``::

    {"esphome": [{"device": "shelf-b02", "prefix": "shelf-b02", "weight_sensor": "shelf_weight"}]}

``prefix`` defaults to the device id, which the broker ACL allows (``pattern write %u/#``: a device may
publish under its own name). Pure: no MQTT client, no database.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from hub.protocol import contract

OBJECT_ID_RE = re.compile(r"[a-z0-9_]{1,64}")


@dataclass(frozen=True)
class EsphomeAdapter:
    device: str
    prefix: str
    weight_sensor: str

    def __post_init__(self):
        if not contract.DEVICE_ID_RE.fullmatch(self.device):
            raise ValueError(f"esphome adapter: bad device id {self.device!r}")
        if not self.prefix or any(c in self.prefix for c in "+#") or self.prefix.startswith(contract.ROOT + "/"):
            raise ValueError(f"esphome adapter: bad topic prefix {self.prefix!r}")
        if not OBJECT_ID_RE.fullmatch(self.weight_sensor):
            raise ValueError(f"esphome adapter: bad sensor object id {self.weight_sensor!r}")

    def subscriptions(self) -> list[str]:
        return [f"{self.prefix}/status", f"{self.prefix}/sensor/{self.weight_sensor}/state"]

    def translate(self, store_id: str, topic: str, payload: bytes, ts: str) -> tuple[contract.Topic, object] | None:
        """``(contract topic, validated data)`` for a message of this device, None when it is not ours;
        ContractError (the dead-letter reason) when it is ours but bad."""
        if topic == f"{self.prefix}/status":
            return (contract.Topic(store_id, self.device, "status"), contract.decode_status(payload, self.device))
        if topic == f"{self.prefix}/sensor/{self.weight_sensor}/state":
            text = payload.decode("utf-8", "replace").strip()
            try:
                grams = float(text)
            except ValueError:
                raise contract.ContractError(f"esphome state {text[:40]!r} is not a number", self.device) from None
            if not math.isfinite(grams):
                raise contract.ContractError(f"esphome state {text[:40]!r} is not a number", self.device)
            data = {"id": f"esphome-{uuid.uuid4()}", "ts": ts, "grams": round(grams, 1)}
            return contract.Topic(store_id, self.device, "evt", "shelf"), contract.validate(
                "evt/shelf", data, self.device
            )
        return None


class Adapters:
    def __init__(self, esphome: list[EsphomeAdapter] | None = None):
        self.esphome = list(esphome or [])
        prefixes = [a.prefix for a in self.esphome]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("esphome adapters: two devices share a topic prefix")
        self._by_topic = {t: a for a in self.esphome for t in a.subscriptions()}

    def subscriptions(self) -> list[str]:
        return list(self._by_topic)

    def translate(self, store_id: str, topic: str, payload: bytes, ts: str):
        a = self._by_topic.get(topic)
        return None if a is None else a.translate(store_id, topic, payload, ts)

    @classmethod
    def from_config(cls, data: dict) -> Adapters:
        out = []
        for i, e in enumerate(data.get("esphome") or []):
            if not isinstance(e, dict) or "device" not in e:
                raise ValueError(f"esphome adapter #{i}: needs at least a device id")
            out.append(
                EsphomeAdapter(e["device"], e.get("prefix") or e["device"], e.get("weight_sensor", "shelf_weight"))
            )
        return cls(out)

    @classmethod
    def load(cls, path: Path) -> Adapters:
        return cls.from_config(json.loads(Path(path).read_text())) if Path(path).exists() else cls()

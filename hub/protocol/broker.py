"""How the hub and its device agents address the MQTT broker: ``mqtt://`` / ``mqtts://`` URLs.

``mqtt[s]://[user[:password]@]host[:port][?protocol=5|311|3.1.1][&ca=/path/ca.pem]`` (``tcp://`` and ``ssl://``
are accepted too). The default port is 1883, or 8883 with TLS; the default protocol MQTT 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

# The protocol level byte of CONNECT (MQTT 3.1.1 and 5.0, §3.1.2.2); paho-mqtt's MQTTv311 and MQTTv5 are these.
MQTT_V311 = 4
MQTT_V5 = 5


@dataclass
class BrokerURL:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    protocol: int = MQTT_V5

    @classmethod
    def parse(cls, url: str) -> BrokerURL:
        u = urlparse(url if "://" in url else f"mqtt://{url}")
        if u.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"unsupported broker URL scheme {u.scheme!r} (use mqtt:// or mqtts://)")
        tls = u.scheme in ("mqtts", "ssl")
        q = parse_qs(u.query)
        proto = {"5": MQTT_V5, "311": MQTT_V311, "3.1.1": MQTT_V311}[(q.get("protocol") or ["5"])[0]]
        return cls(
            host=u.hostname or "127.0.0.1",
            port=u.port or (8883 if tls else 1883),
            username=unquote(u.username) if u.username else None,
            password=unquote(u.password) if u.password else None,
            tls=tls,
            ca_file=q["ca"][0] if q.get("ca") else None,
            protocol=proto,
        )

    def redacted(self) -> str:
        auth = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{auth}{self.host}:{self.port}"

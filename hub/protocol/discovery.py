"""Finding the hub on the LAN (mDNS / DNS-SD): what the hub advertises and how an agent browses for it.

Services (TXT keys kept short): ``_storehub._tcp`` — the hub API — and ``_mqtt._tcp`` — the broker, each with
``store`` (store id), ``api`` (API version) and ``tls`` (``1``/``0``). The hub advertises them
(``hub.bus.discovery.Advertiser``); an agent without a configured broker calls :func:`discover`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from zeroconf import InterfaceChoice, IPVersion, ServiceBrowser, ServiceListener, Zeroconf

HUB_TYPE = "_storehub._tcp.local."
MQTT_TYPE = "_mqtt._tcp.local."
API_VERSION = "1"


def txt(store_id: str, tls: bool) -> dict[str, str]:
    """The TXT record of an advertised service."""
    return {"store": store_id, "api": API_VERSION, "tls": "1" if tls else "0"}


@dataclass
class Found:
    service: str  # "hub" or "mqtt"
    name: str
    address: str
    port: int | None  # zeroconf's ServiceInfo.port (None until an SRV record was seen)
    store_id: str | None
    api: str | None
    tls: bool

    @property
    def url(self) -> str:
        if self.service == "mqtt":
            return f"{'mqtts' if self.tls else 'mqtt'}://{self.address}:{self.port}"
        return f"{'https' if self.tls else 'http'}://{self.address}:{self.port}"


def _decode(props: Mapping[bytes, bytes | None] | Mapping[str, str | None]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in props.items()
        if v is not None
    }


def discover(timeout: float = 3.0, *, store_id: str | None = None, interface: str | None = None) -> list[Found]:
    """Browse for StoreHub hubs and brokers for ``timeout`` seconds (optionally one store only).

    Without ``interface`` it browses on every IPv4 interface: an installer running ``storehub devices discover``
    does not know yet which one reaches the hub (zeroconf takes a list or an ``InterfaceChoice``, never None)."""
    zc = Zeroconf(interfaces=[interface] if interface else InterfaceChoice.All, ip_version=IPVersion.V4Only)
    found: dict[str, Found] = {}

    class _L(ServiceListener):
        def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            info = zc.get_service_info(type_, name, timeout=2000)
            if info is None or not info.parsed_addresses():
                return
            props = _decode(info.properties)
            found[name] = Found(
                "mqtt" if type_ == MQTT_TYPE else "hub",
                name,
                info.parsed_addresses()[0],
                info.port,
                props.get("store"),
                props.get("api"),
                props.get("tls") == "1",
            )

        update_service = add_service

        def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            found.pop(name, None)

    try:
        browser = ServiceBrowser(zc, [HUB_TYPE, MQTT_TYPE], _L())
        time.sleep(timeout)
        browser.cancel()
    finally:
        zc.close()
    out = list(found.values())
    if store_id:
        out = [f for f in out if f.store_id == store_id]
    return sorted(out, key=lambda f: (f.service, f.name))

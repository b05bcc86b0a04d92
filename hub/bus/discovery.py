"""Zero-configuration discovery: the hub advertises its API and broker over mDNS;
agents without a configured broker find them with ``discover()``.

Services (TXT keys kept short): ``_storehub._tcp`` — the hub API — and ``_mqtt._tcp``
— the broker, each with ``store`` (store id), ``api`` (API version) and ``tls``
(``1``/``0``). Advertising binds the configured LAN interface only (all interfaces
duplicate packets on hosts with containers)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceListener, Zeroconf

HUB_TYPE = "_storehub._tcp.local."
MQTT_TYPE = "_mqtt._tcp.local."
API_VERSION = "1"


def _txt(store_id: str, tls: bool) -> dict[str, str]:
    return {"store": store_id, "api": API_VERSION, "tls": "1" if tls else "0"}


def service_infos(*, store_id: str, address: str, api_port: int, mqtt_port: int | None, tls: bool = False,
                  mqtt_tls: bool = False, hostname: str | None = None) -> list[ServiceInfo]:
    """The ServiceInfos the hub registers (one for the API, one for the broker if any)."""
    host = (hostname or socket.gethostname().split(".")[0] or "storehub") + ".local."
    packed = [socket.inet_aton(address)]
    name = f"StoreHub {store_id}"
    infos = [ServiceInfo(HUB_TYPE, f"{name}.{HUB_TYPE}", addresses=packed, port=api_port,
                         properties=_txt(store_id, tls), server=host)]
    if mqtt_port:
        infos.append(ServiceInfo(MQTT_TYPE, f"{name} broker.{MQTT_TYPE}", addresses=packed, port=mqtt_port,
                                 properties=_txt(store_id, mqtt_tls), server=host))
    return infos


class Advertiser:
    """Registers the hub's services on one interface; ``close()`` unregisters them."""

    def __init__(self, *, store_id: str, address: str, api_port: int, mqtt_port: int | None = None,
                 tls: bool = False, mqtt_tls: bool = False):
        self.address = address
        self.zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
        self.infos = service_infos(store_id=store_id, address=address, api_port=api_port, mqtt_port=mqtt_port,
                                   tls=tls, mqtt_tls=mqtt_tls)
        for info in self.infos:
            self.zc.register_service(info, allow_name_change=True)

    def close(self) -> None:
        try:
            self.zc.unregister_all_services()
        finally:
            self.zc.close()


@dataclass
class Found:
    service: str       # "hub" or "mqtt"
    name: str
    address: str
    port: int
    store_id: str | None
    api: str | None
    tls: bool

    @property
    def url(self) -> str:
        if self.service == "mqtt":
            return f"{'mqtts' if self.tls else 'mqtt'}://{self.address}:{self.port}"
        return f"{'https' if self.tls else 'http'}://{self.address}:{self.port}"


def _decode(props: dict) -> dict[str, str]:
    return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in props.items() if v is not None}


def discover(timeout: float = 3.0, *, store_id: str | None = None, interface: str | None = None) -> list[Found]:
    """Browse for StoreHub hubs and brokers for ``timeout`` seconds (optionally one store only)."""
    zc = Zeroconf(interfaces=[interface] if interface else None, ip_version=IPVersion.V4Only)
    found: dict[str, Found] = {}

    class _L(ServiceListener):
        def add_service(self, zc_, type_, name):
            info = zc_.get_service_info(type_, name, timeout=2000)
            if info is None or not info.parsed_addresses():
                return
            props = _decode(info.properties)
            found[name] = Found("mqtt" if type_ == MQTT_TYPE else "hub", name, info.parsed_addresses()[0],
                                info.port, props.get("store"), props.get("api"), props.get("tls") == "1")

        update_service = add_service

        def remove_service(self, zc_, type_, name):
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

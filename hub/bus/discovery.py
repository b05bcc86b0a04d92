"""Zero-configuration discovery: the hub advertises its API and broker over mDNS;
agents without a configured broker find them with ``hub.protocol.discovery.discover()`` (the service
types and TXT keys are part of the device protocol, so an agent browses without importing the hub).

Services (TXT keys kept short): ``_storehub._tcp`` — the hub API — and ``_mqtt._tcp``
— the broker, each with ``store`` (store id), ``api`` (API version) and ``tls``
(``1``/``0``). Advertising binds the configured LAN interface only (all interfaces
duplicate packets on hosts with containers)."""

from __future__ import annotations

import socket

from zeroconf import IPVersion, ServiceInfo, Zeroconf

from hub.protocol.discovery import HUB_TYPE, MQTT_TYPE, txt


def service_infos(
    *,
    store_id: str,
    address: str,
    api_port: int,
    mqtt_port: int | None,
    tls: bool = False,
    mqtt_tls: bool = False,
    hostname: str | None = None,
) -> list[ServiceInfo]:
    """The ServiceInfos the hub registers (one for the API, one for the broker if any)."""
    host = (hostname or socket.gethostname().split(".")[0] or "storehub") + ".local."
    packed = [socket.inet_aton(address)]
    name = f"StoreHub {store_id}"
    infos = [
        ServiceInfo(
            HUB_TYPE, f"{name}.{HUB_TYPE}", addresses=packed, port=api_port, properties=txt(store_id, tls), server=host
        )
    ]
    if mqtt_port:
        infos.append(
            ServiceInfo(
                MQTT_TYPE,
                f"{name} broker.{MQTT_TYPE}",
                addresses=packed,
                port=mqtt_port,
                properties=txt(store_id, mqtt_tls),
                server=host,
            )
        )
    return infos


class Advertiser:
    """Registers the hub's services on one interface; ``close()`` unregisters them."""

    def __init__(
        self,
        *,
        store_id: str,
        address: str,
        api_port: int,
        mqtt_port: int | None = None,
        tls: bool = False,
        mqtt_tls: bool = False,
    ):
        self.address = address
        self.zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
        self.infos = service_infos(
            store_id=store_id, address=address, api_port=api_port, mqtt_port=mqtt_port, tls=tls, mqtt_tls=mqtt_tls
        )
        for info in self.infos:
            self.zc.register_service(info, allow_name_change=True)

    def close(self) -> None:
        try:
            self.zc.unregister_all_services()
        finally:
            self.zc.close()

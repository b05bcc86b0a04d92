"""mDNS: the hub's API and broker advertised with TXT (store, api, tls) and found by discover()."""

from __future__ import annotations

import socket

from hub.bus.discovery import Advertiser, service_infos
from hub.protocol.discovery import HUB_TYPE, MQTT_TYPE, discover


def test_service_infos_carry_store_api_and_tls():
    hub, broker = service_infos(
        store_id="sh-001",
        address="192.168.1.20",
        api_port=8443,
        mqtt_port=8883,
        tls=True,
        mqtt_tls=True,
        hostname="hub1",
    )
    assert hub.type == HUB_TYPE and broker.type == MQTT_TYPE
    assert hub.port == 8443 and broker.port == 8883
    assert hub.addresses == [socket.inet_aton("192.168.1.20")]
    assert hub.properties == {b"store": b"sh-001", b"api": b"1", b"tls": b"1"}
    assert hub.server == "hub1.local."
    assert len(service_infos(store_id="x", address="10.0.0.1", api_port=80, mqtt_port=None)) == 1


def test_advertise_and_browse_round_trip_on_loopback():
    adv = Advertiser(store_id="loop-store", address="127.0.0.1", api_port=18000, mqtt_port=18830)
    try:
        found = discover(2.5, store_id="loop-store", interface="127.0.0.1")
    finally:
        adv.close()
    by = {f.service: f for f in found}
    assert by["hub"].url == "http://127.0.0.1:18000" and by["hub"].api == "1"
    assert by["mqtt"].url == "mqtt://127.0.0.1:18830" and by["mqtt"].tls is False
    assert discover(0.5, store_id="no-such-store", interface="127.0.0.1") == []

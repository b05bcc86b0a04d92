"""Configured adapters: a stock ESPHome node (its own topics, plain-text states) on the project's Mosquitto
with provisioned accounts and ACLs, translated by the bus onto the contract."""

from __future__ import annotations

import json
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.bus.adapters import Adapters, EsphomeAdapter
from hub.bus.mosquitto import Mosquitto
from hub.bus.provision import provision
from hub.protocol import contract
from tests.support.bus import STORE, make_hub_db, start_bus, wait_until
from tests.support.common import free_port

pytestmark = pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")


def test_translation_is_pure_and_strict():
    a = Adapters.from_config(
        {
            "esphome": [
                {"device": "shelf-b02"},
                {"device": "shelf-b03", "prefix": "aisle3-node", "weight_sensor": "load"},
            ]
        }
    )
    assert sorted(a.subscriptions()) == [
        "aisle3-node/sensor/load/state",
        "aisle3-node/status",
        "shelf-b02/sensor/shelf_weight/state",
        "shelf-b02/status",
    ]
    t, data = a.translate(STORE, "aisle3-node/sensor/load/state", b"1234.56", "2026-01-02T03:04:05.000Z")
    assert (t.device_id, t.channel, t.name) == ("shelf-b03", "evt", "shelf") and data["grams"] == 1234.6
    t, data = a.translate(STORE, "shelf-b02/status", b"offline", "2026-01-02T03:04:05.000Z")
    assert (t.device_id, t.channel, data) == ("shelf-b02", "status", "offline")
    assert a.translate(STORE, "shelf-b02/sensor/temperature/state", b"21", "2026-01-02T03:04:05.000Z") is None
    for bad in (b"nan", b"unknown", b"", b"inf"):
        with pytest.raises(contract.ContractError) as e:
            a.translate(STORE, "shelf-b02/sensor/shelf_weight/state", bad, "2026-01-02T03:04:05.000Z")
        assert e.value.device_id == "shelf-b02"
    for cfg in (
        {"esphome": [{"device": "Bad Id"}]},
        {"esphome": [{"device": "a", "prefix": "x/#"}]},
        {"esphome": [{"device": "a", "prefix": "storehub/s/dev/a"}]},
        {"esphome": [{"device": "a", "prefix": "p"}, {"device": "b", "prefix": "p"}]},
    ):
        with pytest.raises(ValueError):
            Adapters.from_config(cfg)
    with pytest.raises(ValueError):
        EsphomeAdapter("a", "a", "Bad Sensor")


def test_stock_esphome_node_reaches_the_registry_through_the_acl(tmp_path, data_dir):
    db = make_hub_db(data_dir)
    out = tmp_path / "mqtt"
    node = provision(device_id="shelf-b02", kind="shelf", store_id=STORE, out=out)
    other = provision(device_id="shelf-b03", kind="shelf", store_id=STORE, out=out)
    with pytest.raises(ValueError):
        provision(device_id="storehub", kind="shelf", store_id=STORE, out=out)  # could write storehub/#
    hub = json.loads((out / "hub-mqtt.json").read_text())
    broker = Mosquitto(free_port(), tmp_path / "broker", password_file=out / "passwd", acl_file=out / "acl").start()
    adapters = Adapters.from_config({"esphome": [{"device": "shelf-b02"}, {"device": "shelf-b03"}]})
    bus = start_bus(db, broker.port, user=hub["username"], password=hub["password"], adapters=adapters)
    clients = []

    def esphome(dev, cfg):
        # what ESPHome's mqtt component does with topic_prefix = node name: Will and birth on <prefix>/status
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{dev}-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv311)
        c.username_pw_set(dev, json.loads(cfg.config_path.read_text())["mqtt"]["password"])
        c.will_set(f"{dev}/status", b"offline", qos=1, retain=True)
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        clients.append(c)
        return c

    def row(dev):
        return db.read().execute("SELECT online FROM devices WHERE id = ?", (dev,)).fetchone()

    try:
        c = esphome("shelf-b02", node)
        c.publish("shelf-b02/status", b"online", qos=1, retain=True).wait_for_publish(5)
        c.publish("shelf-b02/sensor/shelf_weight/state", b"1520.4", qos=1).wait_for_publish(5)
        c.publish("shelf-b02/sensor/shelf_weight/state", b"nan", qos=1).wait_for_publish(5)
        wait_until(lambda: (row("shelf-b02") or [0])[0] == 1)
        wait_until(lambda: db.read().execute("SELECT grams FROM shelf_readings WHERE device_id='shelf-b02'").fetchone())
        assert db.read().execute("SELECT grams FROM shelf_readings WHERE device_id='shelf-b02'").fetchone()[0] == 1520.4
        dl = wait_until(lambda: db.read().execute("SELECT topic, device_id, reason FROM dead_letters").fetchall())
        assert [tuple(r) for r in dl] == [
            ("shelf-b02/sensor/shelf_weight/state", "shelf-b02", "esphome state 'nan' is not a number")
        ]
        # another node cannot speak for shelf-b02 (the ACL lets a node write only under its own name) ...
        o = esphome("shelf-b03", other)
        try:
            o.publish("shelf-b02/sensor/shelf_weight/state", b"1.0", qos=1).wait_for_publish(5)
        except RuntimeError:
            pass
        # ... while under its own name it can; when it dies, its Will marks it offline
        o2 = esphome("shelf-b03", other)
        o2.publish("shelf-b03/status", b"online", qos=1, retain=True).wait_for_publish(5)
        o2.publish("shelf-b03/sensor/shelf_weight/state", b"80", qos=1).wait_for_publish(5)
        wait_until(lambda: db.read().execute("SELECT 1 FROM shelf_readings WHERE device_id='shelf-b03'").fetchone())
        assert db.read().execute("SELECT grams FROM shelf_readings WHERE device_id='shelf-b02'").fetchone()[0] == 1520.4
        o2._sock.close()  # killed: no DISCONNECT, the broker sends the Will
        wait_until(lambda: row("shelf-b03")[0] == 0)
    finally:
        for c in clients:
            c.loop_stop()
        bus.stop()
        broker.stop()
        db.close()

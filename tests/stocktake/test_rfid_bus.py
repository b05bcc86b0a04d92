"""RFID through the real bus: a real Mosquitto, the hub's bus process, the simulated reader and the Zebra bridge."""

from __future__ import annotations

import json
import threading

import pytest

from devices.common.config import AgentConfig
from devices.rfid.agent import RfidAgent, VendorMqttSource
from devices.sim import rfid as simrfid
from hub.bus.mosquitto import Mosquitto
from hub.inventory import catalog, locations
from hub.protocol import contract, epc
from hub.stocktake import sessions, sweeps, variance
from tests.support.bus import STORE, Device, make_hub_db, start_bus, wait_until
from tests.support.common import free_port

pytestmark = [pytest.mark.mqtt, pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")]


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(free_port(), tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def hub(data_dir):
    db = make_hub_db(data_dir)
    gtins = simrfid.synthetic_gtins(40)
    with db.write() as conn:
        store = locations.get_by_code(conn, "STORE")
        area = locations.create(conn, code="APPAREL", name="Apparel", kind="area", parent_id=store["id"], actor="t")
        bins = [
            locations.create(conn, code=f"R{i}", name=f"Rack {i}", kind="bin", parent_id=area["id"], actor="t")
            for i in range(1, 5)
        ]
        for i, g in enumerate(gtins):
            catalog.create_item(
                conn,
                {
                    "sku": f"TEE-{i}",
                    "name_en": f"T-shirt {i}",
                    "unit": "each",
                    "price_minor": 9900,
                    "cost_minor": 4000,
                    "gtins": [g],
                },
                actor="t",
            )
    yield db, area, bins, gtins
    db.close()


def _open(db, area, bins, reader):
    with db.write() as conn:
        s, _ = sessions.create(conn, name="Apparel sweep", actor="t", min_reads=2, rssi_floor_dbm=-65)
        for i, b in enumerate(bins):
            sweeps.set_antenna(conn, reader=reader, antenna=i + 1, location_id=b["id"], actor="t")
        sweeps.start_sweep(conn, s["id"], reader=reader, location_id=area["id"], actor="t")
    return s["id"]


def _q(db, sql, *args):
    return db.read().execute(sql, args).fetchone()


def test_simulated_reader_sweep_lands_in_the_session_exactly(broker, hub):
    db, area, bins, gtins = hub
    sid = _open(db, area, bins, "sim-rfid-1")
    bus = start_bus(db, broker.port)
    try:
        zones = simrfid.demo_store(gtins, zones=4, tags=400)
        n = simrfid.run(
            broker=f"mqtt://127.0.0.1:{broker.port}",
            store=STORE,
            reader="sim-rfid-1",
            fmt="storehub",
            zones=zones,
            rate=2000,
            duration_s=2.5,
            dwell_s=0.5,
        )
        assert n > 3000
        wait_until(lambda: (_q(db, "SELECT SUM(reads) FROM count_rfid_tags WHERE session_id=?", sid)[0] or 0) >= n, 30)
        assert _q(db, "SELECT SUM(reads) FROM count_rfid_tags WHERE session_id=?", sid)[0] == n  # none lost, none twice
        assert _q(db, "SELECT COUNT(*) FROM dead_letters")[0] == 0
        rep = variance.report(db.read(), sid)
        assert rep["rfid"]["cases_pallets"] >= 4 and rep["rfid"]["undecodable"] == 1
        assert rep["rfid"]["counted_tags"] > 300
        # stray reads from the next zone are weak: they never decide a tag's zone
        wrong = _q(
            db, "SELECT COUNT(*) FROM count_rfid_tags WHERE session_id=? AND kind='item' AND peak_rssi < -65", sid
        )[0]
        assert wrong == 0 or rep["rfid"]["filtered_weak_or_few"] >= wrong
        dev = _q(db, "SELECT kind, online FROM devices WHERE id='sim-rfid-1'")
        assert dev is not None and dev[0] == "rfid"
    finally:
        bus.stop()


def test_tags_without_an_open_sweep_are_dead_lettered(broker, hub):
    db, *_ = hub
    bus = start_bus(db, broker.port)
    try:
        dev = Device("fx-9", broker.port)
        e = epc.encode_sgtin96(hub[3][0], 1, company_prefix_digits=7)
        ev = contract.make_event(
            "tags",
            reads=[
                {
                    "epc": e,
                    "antenna": 1,
                    "rssi_dbm": -50,
                    "count": 3,
                    "first_seen": "2026-03-28T07:20:13.028Z",
                    "last_seen": "2026-03-28T07:20:13.528Z",
                }
            ],
        )
        dev.publish(contract.event_topic(STORE, "fx-9", "tags"), contract.encode(ev)).wait_for_publish(10)
        wait_until(lambda: _q(db, "SELECT COUNT(*) FROM dead_letters")[0] >= 1, 15)
        assert "no open RFID sweep" in _q(db, "SELECT reason FROM dead_letters")[0]
        assert _q(db, "SELECT COUNT(*) FROM count_rfid_tags")[0] == 0
        dev.close()
    finally:
        bus.stop()


def test_zebra_reader_bridged_by_the_agent(broker, hub, tmp_path):
    """A Zebra FX reader publishes its own JSON (protocols.md) on its topic; ``agent rfid --source zebra-mqtt``
    turns it into evt/tags; heartbeats reach the device registry through the agent's info."""
    db, area, bins, gtins = hub
    sid = _open(db, area, bins, "fx9600-1")
    bus = start_bus(db, broker.port)
    url = f"mqtt://127.0.0.1:{broker.port}"
    cfg = AgentConfig(store=STORE, device="fx9600-1", broker=url, state_dir=tmp_path / "agent")
    src = VendorMqttSource(
        "zebra", broker=url, topic="zebra/fx9600-1/data", mgmt_topic="zebra/fx9600-1/mgmt", reader="fx9600-1"
    )
    agent = RfidAgent(cfg, src, batch_ms=200)
    agent.start()
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    reader = Device("zebra-fx9600-1-raw", broker.port, will=False, client_id="zebra-fx9600-1")
    try:
        wait_until(lambda: src.client is not None and src.client.is_connected(), 15)
        wait_until(lambda: agent.connected.is_set(), 15)
        import time

        time.sleep(0.3)  # the bridge's subscription is in place
        epcs = [epc.encode_sgtin96(gtins[i], 7, company_prefix_digits=7) for i in range(5)]
        for k in range(4):
            batch = [
                {
                    "data": {
                        "antenna": 2,
                        "channel": 866.3,
                        "eventNum": 100 + k * 5 + i,
                        "format": "epc",
                        "idHex": e.lower(),
                        "peakRssi": -52 + i,
                        "phase": -170.48,
                        "reads": 1,
                    },
                    "timestamp": f"2026-03-28T07:20:1{k}.028+0000",
                    "type": "CUSTOM",
                }
                for i, e in enumerate(epcs)
            ]
            for obj in batch:  # MQTT: one object per message
                reader.publish("zebra/fx9600-1/data", json.dumps(obj).encode()).wait_for_publish(5)
        reader.publish("zebra/fx9600-1/data", b'{"data": {"idHex": ').wait_for_publish(5)  # malformed: skipped
        hb = {
            "type": "heartbeat",
            "timestamp": "2026-03-28T07:21:00.000+0000",
            "data": {"system": {"temperature": 43, "cpu": {"system": 9}}},
        }
        reader.publish("zebra/fx9600-1/mgmt", json.dumps(hb).encode()).wait_for_publish(5)
        wait_until(lambda: (_q(db, "SELECT SUM(reads) FROM count_rfid_tags WHERE session_id=?", sid)[0] or 0) >= 20, 20)
        rows = (
            db.read()
            .execute(
                "SELECT epc, reads, peak_rssi, zone_location_id FROM count_rfid_tags WHERE session_id=? ORDER BY epc",
                (sid,),
            )
            .fetchall()
        )
        assert len(rows) == 5 and all(r[1] == 4 for r in rows)
        assert {r[3] for r in rows} == {bins[1]["id"]}  # antenna 2 → rack 2
        assert src.bad == 1
        wait_until(
            lambda: "reader_temperature_c" in (_q(db, "SELECT info FROM devices WHERE id='fx9600-1'")[0] or ""), 15
        )
        info = json.loads(_q(db, "SELECT info FROM devices WHERE id='fx9600-1'")[0])
        assert info["reader_temperature_c"] == 43 and info["kind"] == "rfid"
    finally:
        reader.close()
        agent.stopping.set()
        runner.join(5)
        agent.stop()
        bus.stop()

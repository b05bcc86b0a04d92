"""A fixed reader's health reaches the device registry through the real bus: the radio status and antenna
connection states of its heartbeats (a disconnected antenna is an alert), and a reader clock far from the hub's
(flagged as clock skew with an alert instead of reads silently misordered)."""

from __future__ import annotations

import threading
import time

import pytest

from devices.common.config import AgentConfig
from devices.rfid.agent import RfidAgent
from devices.rfid.source import Source
from hub.bus import alerts, registry
from hub.bus.mosquitto import Mosquitto
from hub.protocol import contract, rfid_formats
from hub.protocol.rfid_formats import TagRead
from tests.support.bus import STORE, Device, make_hub_db, start_bus, wait_until
from tests.support.common import free_port

EPC = "3034257BF7194E4000001A85"


def _device(db, device_id: str) -> dict | None:
    return next((d for d in registry.list_devices(db.read(), limit=500)[0] if d["id"] == device_id), None)


def _open(db, kind: str, subject: str) -> list[dict]:
    return [a for a in alerts.open_for(db.read(), subject) if a["kind"] == kind]


def test_rfid_agent_turns_a_zebra_heartbeat_into_a_state_event(tmp_path):
    cfg = AgentConfig(store=STORE, device="reader-1", broker="mqtt://127.0.0.1:1", state_dir=tmp_path)
    agent = RfidAgent(cfg, Source())
    try:
        hb = rfid_formats.parse_zebra(
            '{"type":"heartbeat","timestamp":"2026-03-28T07:21:00.000+0000","data":'
            '{"radioConnection":"connected",'
            '"antennas":{"1":"connected","2":"disconnected"}}}'
        )
        agent._heartbeat(hb.heartbeats[0])
        agent._heartbeat(rfid_formats.Heartbeat(None, 0, {"antennas": {"2": "connected"}}))  # LLRP AntennaEvent
        states = [p for _s, t, p in agent.buffer.peek(10) if t.endswith("/evt/state")]
        assert [{k: v for k, v in s.items() if k in ("radio", "antennas")} for s in states] == [
            {"radio": "connected", "antennas": {"1": "connected", "2": "disconnected"}},
            {"antennas": {"1": "connected", "2": "connected"}},
        ]
        for s in states:
            contract.validate("evt/state", s)
        assert agent.info()["antennas"] == {"1": "connected", "2": "connected"}
    finally:
        agent.buffer.close()


@pytest.fixture
def bus_and_db(tmp_path, data_dir):
    if not Mosquitto.available():
        pytest.skip("mosquitto not installed")
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    db = make_hub_db(data_dir)
    bus = start_bus(db, broker.port)
    try:
        yield broker, db
    finally:
        bus.stop()
        db.close()
        broker.stop()


def test_heartbeat_radio_and_antennas_reach_the_registry_and_raise_an_alert(bus_and_db):
    broker, db = bus_and_db
    dev = Device("reader-1", broker.port)
    dev.online()
    dev.info("rfid", radio="connected", antennas={"1": "connected", "2": "connected"})
    dev.flush()
    wait_until(lambda: (_device(db, "reader-1") or {}).get("antennas") == {"1": "connected", "2": "connected"})
    assert registry.get(db.read(), "reader-1")["radio"] == "connected"
    assert _open(db, "antenna_disconnected", "reader-1") == []
    dev.event("state", radio="disconnected", antennas={"1": "connected", "2": "disconnected"})
    dev.flush()
    wait_until(lambda: _open(db, "antenna_disconnected", "reader-1"))
    d = registry.get(db.read(), "reader-1")
    assert (d["radio"], d["antennas"]) == ("disconnected", {"1": "connected", "2": "disconnected"})
    (a,) = _open(db, "antenna_disconnected", "reader-1")
    assert a["details"] == {"ports": ["2"]} and "antenna 2" in a["message"]
    dev.event("state", antennas={"1": "connected", "2": "connected"})
    dev.flush()
    wait_until(lambda: not _open(db, "antenna_disconnected", "reader-1"))
    health = [r[0] for r in db.read().execute("SELECT payload FROM outbox WHERE kind = 'device.health'")]
    assert any('"antennas"' in h for h in health) and any('"radio"' in h for h in health)
    dev.close()


def test_reads_stamped_by_a_skewed_reader_clock_flag_the_reader(bus_and_db, tmp_path):
    broker, db = bus_and_db
    source = Source()
    agent = RfidAgent(
        AgentConfig(
            store=STORE, device="reader-2", broker=f"mqtt://127.0.0.1:{broker.port}", state_dir=tmp_path / "agent"
        ),
        source,
        batch_ms=100,
    )
    agent.start()
    t = threading.Thread(target=agent.run, daemon=True)
    t.start()
    try:
        now_ms = int(time.time() * 1000)
        behind = now_ms - 2 * 3600_000  # the reader's clock is 2 h slow
        source.emit([TagRead(EPC, 1, -50.0, 3, behind - 500, behind)])
        wait_until(lambda: _open(db, "clock_skew", "reader-2"), 30)
        skew = _device(db, "reader-2")["clock_skew_ms"]
        assert -2 * 3600_000 - 60_000 < skew < -2 * 3600_000 + 60_000
        assert "behind" in _open(db, "clock_skew", "reader-2")[0]["message"]
        # the reads are still delivered, with the reader's own times (flagged, not re-stamped)
        wait_until(
            lambda: (
                db.read().execute("SELECT COUNT(*) FROM dead_letters WHERE device_id = 'reader-2'").fetchone()[0]
                or db.read()
                .execute(
                    "SELECT COUNT(*) FROM device_events_processed WHERE device_id = 'reader-2' AND event_type = 'tags'"
                )
                .fetchone()[0]
            )
        )
        source.emit([TagRead(EPC, 1, -50.0, 1, int(time.time() * 1000), int(time.time() * 1000))])
        wait_until(lambda: not _open(db, "clock_skew", "reader-2"), 30)
        assert _device(db, "reader-2")["clock_skew_ms"] is None
    finally:
        agent.stopping.set()
        t.join(5)
        agent.stop()


def test_a_reader_clock_ahead_or_behind_is_skew_a_slow_report_is_not():
    now = int(time.time() * 1000)
    assert rfid_formats.clock_skew_ms([TagRead(EPC, 1, None, 1, now, now + 600_000)], now) == 600_000
    assert rfid_formats.clock_skew_ms([TagRead(EPC, 1, None, 1, now - 90_000, now - 90_000)], now) == -90_000
    assert rfid_formats.clock_skew_ms([TagRead(EPC, 1, None, 1, now - 60_000, now - 2_000)], now) is None

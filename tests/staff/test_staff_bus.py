"""Clock-in by a scanner agent over Mosquitto, end to end: the real scanner agent reads a badge from a serial
scanner (simulated pty) and publishes ``evt/scan``; the hub's bus, through a Mosquitto running the project's
config, applies it once and the staff handler clocks the badge's owner in, then out. A badge of nobody, a
disabled person's badge and a badge at a device that is not a clock point clock nobody; nothing is lost."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from devices.common.config import AgentConfig
from devices.scanner.agent import ScannerAgent
from devices.sim.serial_scanner import SerialScannerSim
from hub.auth import users
from hub.bus import deadletters, registry
from hub.bus.mosquitto import Mosquitto
from hub.kernel import settings
from hub.kernel.config import HubConfig
from tests.support.bus import STORE, Device, make_hub_db, start_bus, wait_until
from tests.support.common import free_port

pytestmark = [pytest.mark.mqtt, pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")]


def punches(db):
    return [
        dict(r)
        for r in db.read().execute(
            "SELECT p.action, p.counted, p.device_id, u.username FROM staff_punches p"
            " JOIN users u ON u.id = p.user_id ORDER BY p.at, p.rowid"
        )
    ]


def test_badge_scans_clock_in_and_out_through_the_agent_and_the_bus(tmp_path, data_dir: Path):
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    db = make_hub_db(data_dir)
    key = HubConfig(data_dir=data_dir).secret_key()
    with db.write() as c:
        users.create(c, username="li", role="associate", pin="4444", badge="LI-0042", secret_key=key)
        users.create(c, username="gone", role="associate", pin="5555", badge="GONE-1", secret_key=key)
        c.execute("UPDATE users SET active = 0 WHERE username = 'gone'")
        settings.put(c, "staff.clock_devices", {"clock-1": "toggle"})
    bus = start_bus(db, broker.port)
    url = f"mqtt://127.0.0.1:{broker.port}"
    other = None
    with SerialScannerSim() as scanner:
        agent = ScannerAgent(
            AgentConfig(
                store=STORE,
                device="clock-1",
                broker=url,
                state_dir=tmp_path / "agents",
                options={"mode": "serial", "port": scanner.path},
            )
        )
        t = threading.Thread(target=agent.run, daemon=True)
        agent.start()
        t.start()
        try:
            wait_until(
                lambda: (
                    '"port"'
                    in (db.read().execute("SELECT info FROM devices WHERE id = 'clock-1'").fetchone() or [""])[0]
                    or ""
                ),
                20,
            )
            scanner.scan("SHB-LI-0042")
            wait_until(lambda: len(punches(db)) == 1)
            scanner.scan("SHB-LI-0042")  # the same badge again within a minute: kept, not a clock-out
            wait_until(lambda: len(punches(db)) == 2)
            assert [(p["action"], p["counted"]) for p in punches(db)] == [("in", 1), ("in", 0)]
            state = db.read().execute("SELECT COUNT(*) FROM staff_sessions WHERE ended_at IS NULL").fetchone()[0]
            assert state == 1
            scanner.scan("SHB-NOBODY-9")
            scanner.scan("SHB-GONE-1")
            wait_until(lambda: db.read().execute("SELECT COUNT(*) FROM staff_clock_refusals").fetchone()[0] == 2)
            reasons = [r[0] for r in db.read().execute("SELECT reason FROM staff_clock_refusals ORDER BY at, rowid")]
            assert reasons == ["unknown_badge", "user_disabled"]
            # every scan is kept by the bus, once
            wait_until(lambda: registry.get(db.read(), "clock-1").get("event_counts", {}).get("scan", 0) == 4)
            assert db.read().execute("SELECT COUNT(*) FROM device_scans WHERE device_id = 'clock-1'").fetchone()[0] == 4

            # a minute later (the device's time says so) the badge clocks out: an event from a device
            other = Device("clock-1b", broker.port)
            with db.write() as c:
                settings.put(c, "staff.clock_devices", {"clock-1": "toggle", "clock-1b": "toggle"})
                c.execute("UPDATE staff_punches SET at = strftime('%Y-%m-%dT%H:%M:%fZ', at, '-2 minutes')")
                c.execute(
                    "UPDATE staff_sessions SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', started_at, '-2 minutes')"
                )
            ev = other.event("scan", code="SHB-LI-0042", symbology="code128")
            other.flush()
            wait_until(lambda: len(punches(db)) == 3)
            assert punches(db)[-1]["action"] == "out" and punches(db)[-1]["device_id"] == "clock-1b"
            other.event(
                "scan", event_id=ev["id"], code="SHB-LI-0042", symbology="code128"
            )  # a redelivery: applied once
            other.event("scan", code="SHB-LI-0042", symbology="code128")
            other.flush()
            wait_until(lambda: len(punches(db)) == 4)
            assert [(p["action"], p["counted"]) for p in punches(db)][2:] == [("out", 1), ("out", 0)]
            # a badge at a scanner that is no clock point is only a scan
            with db.write() as c:
                settings.put(c, "staff.clock_devices", {"clock-1": "toggle"})
            other.event("scan", code="SHB-LI-0042", symbology="code128")
            other.flush()
            wait_until(lambda: registry.get(db.read(), "clock-1b").get("event_counts", {}).get("scan", 0) == 3)
            assert len(punches(db)) == 4
            worked = db.read().execute("SELECT started_at, ended_at FROM staff_sessions").fetchall()
            assert len(worked) == 1 and worked[0][1] is not None
            assert deadletters.list_dead_letters(db.read())[1] == 0
        finally:
            if other is not None:
                other.close()
            agent.stop()
            t.join(5)
            bus.stop()
            db.close()
            broker.stop()

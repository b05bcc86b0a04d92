"""End to end: the real agents and simulators against the hub's own bus process, through a Mosquitto running
the project's config. Every payload the device side sends is accepted (no dead letters), the registry sees
each device with its kind and health, and a print command queued by hub code is printed once and answered."""

from __future__ import annotations

import threading

import pytest

from devices.common.config import AgentConfig
from devices.printer.agent import PrinterAgent
from devices.scale.agent import ScaleAgent
from devices.scanner.agent import ScannerAgent
from devices.sim.printer import PrinterSim
from devices.sim.scale import ScaleSim
from devices.sim.serial_scanner import SerialScannerSim
from devices.sim.shelf import ShelfSensorSim
from hub.bus import commands, deadletters, registry
from hub.bus.mosquitto import Mosquitto
from tests.support.bus import STORE, make_hub_db, start_bus, wait_until
from tests.support.common import free_port

pytestmark = [pytest.mark.mqtt, pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")]


def _run(agent):
    t = threading.Thread(target=agent.run, daemon=True)
    agent.start()
    t.start()
    return agent, t


def test_agents_and_simulators_against_the_hub_bus(tmp_path, data_dir):
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    db = make_hub_db(data_dir)
    bus = start_bus(db, broker.port)
    url = f"mqtt://127.0.0.1:{broker.port}"

    def cfg(device, **options):
        return AgentConfig(store=STORE, device=device, broker=url, state_dir=tmp_path / "agents", options=options)

    running = []
    with ScaleSim("toledo-8217") as scale, PrinterSim(render_png=False) as printer, SerialScannerSim() as scanner:
        try:
            scale.place(1234)
            running.append(_run(ScaleAgent(cfg("scale-1", port=scale.path, poll_s=0.05))))
            running.append(_run(PrinterAgent(cfg("printer-1", connection=printer.url, status_every=0))))
            running.append(_run(ScannerAgent(cfg("scanner-1", mode="serial", port=scanner.path))))
            shelf = ShelfSensorSim(STORE, "shelf-a01-01", "127.0.0.1", broker.port).start()
            wait_until(
                lambda: db.read().execute("SELECT COUNT(*) FROM devices WHERE online = 1").fetchone()[0] == 4, 20
            )
            kinds = {d["id"]: d["kind"] for d in registry.list_devices(db.read())[0]}
            assert kinds == {
                "scale-1": "scale",
                "printer-1": "printer",
                "scanner-1": "scanner",
                "shelf-a01-01": "shelf",
            }

            # the scanner agent holds its port (opening it flushes input) once its info names the port
            wait_until(
                lambda: (
                    '"port"'
                    in (db.read().execute("SELECT info FROM devices WHERE id = 'scanner-1'").fetchone()[0] or "")
                ),
                20,
            )
            scanner.scan("]E05901234123457")
            shelf.load(3000.0)
            wait_until(lambda: registry.get(db.read(), "scale-1").get("event_counts", {}).get("weight", 0) >= 1)
            wait_until(lambda: registry.get(db.read(), "scanner-1").get("event_counts", {}).get("scan", 0) == 1)
            wait_until(lambda: registry.get(db.read(), "shelf-a01-01").get("event_counts", {}).get("shelf", 0) == 1)

            doc = {"type": "pack_label", "order_id": "ord-1", "order_code": "SHO-1001", "customer": "Wang Fang"}
            with db.write() as c:
                rid = commands.send_command(c, "printer-1", "print", {"document": doc}, actor="test")
            wait_until(lambda: (commands.get(db.read(), rid).get("result") or {}).get("ok") is True, 20)
            job = printer.wait_for_jobs(1)[0]
            assert job["barcodes"] == [{"symbology": "code128", "value": "SHO-1001"}]

            printer.state.paper = "out"
            with db.write() as c:
                rid2 = commands.send_command(c, "printer-1", "print", {"document": doc}, actor="test")
            wait_until(lambda: commands.get(db.read(), rid2).get("result") is not None, 20)
            assert "paper out" in commands.get(db.read(), rid2)["result"]["error"]
            wait_until(lambda: registry.get(db.read(), "printer-1")["paper"] == "out", 20)
            assert len(printer.jobs) == 1

            rows, total = deadletters.list_dead_letters(db.read())
            assert total == 0, rows  # every payload from the device side met the contract
        finally:
            for agent, t in running:
                agent.stop()
                t.join(5)
            shelf.crash()
            wait_until(lambda: not registry.get(db.read(), "shelf-a01-01")["online"], 20)
            bus.stop()
            db.close()
            broker.stop()

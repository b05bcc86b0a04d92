"""`/api/v1/health` reports the bus (its heartbeat: up, down, not configured), and `storehub serve` started from a
folder holding a `hub/` directory still runs its bus child (children start with `python -P`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from hub.bus.mosquitto import Mosquitto
from hub.kernel import heartbeat
from tests.support.bus import make_hub_db, wait_until
from tests.support.common import free_port


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_health_says_not_configured_without_a_bus(client):
    bus = client.get("/api/v1/health").get_json()["bus"]
    assert bus == {"status": "not_configured", "last_seen": None}


def test_health_follows_the_bus_heartbeat(app, client, hubctx):
    app.extensions["storehub"].config.mqtt_url = "mqtt://127.0.0.1:1883"  # a hub that runs a bus
    assert client.get("/api/v1/health").get_json()["bus"]["status"] == "down"  # expected, never seen
    now = datetime.now(UTC)
    with hubctx.db.write() as conn:
        heartbeat.beat(conn, heartbeat.BUS, started_at=_iso(now), now=_iso(now), details={"broker_connected": True})
    bus = client.get("/api/v1/health").get_json()["bus"]
    assert bus == {"status": "up", "last_seen": _iso(now), "broker_connected": True}
    with hubctx.db.write() as conn:  # the bus died a minute ago
        heartbeat.beat(conn, heartbeat.BUS, started_at=_iso(now), now=_iso(now - timedelta(seconds=60)))
    assert client.get("/api/v1/health").get_json()["bus"]["status"] == "down"
    with hubctx.db.write() as conn:
        heartbeat.beat(conn, heartbeat.BUS, started_at=_iso(now))
        heartbeat.stopped(conn, heartbeat.BUS)  # a clean stop: down at once
    assert client.get("/api/v1/health").get_json()["bus"]["status"] == "down"


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as r:
            return json.loads(r.read())
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")
def test_serve_from_a_folder_with_a_hub_directory_runs_its_bus(tmp_path, data_dir):
    make_hub_db(data_dir).close()
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    decoy = tmp_path / "work"
    (decoy / "hub").mkdir(parents=True)
    # someone's own project folder with a hub/ package: importing it instead of StoreHub kills the child
    (decoy / "hub" / "__init__.py").write_text("raise SystemExit('decoy hub package imported')\n")
    (decoy / "hub" / "cli.py").write_text("raise SystemExit('decoy hub.cli imported')\n")
    port = free_port()
    log = open(tmp_path / "serve.log", "w+")
    p = subprocess.Popen(
        [
            sys.executable,
            "-P",
            "-m",
            "hub.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--mqtt",
            f"mqtt://127.0.0.1:{broker.port}",
        ],
        cwd=decoy,
        # the services process layout (a single web worker would run the bus as a thread: test_bus_serve.py)
        env={**os.environ, "STOREHUB_SERVICES": "process"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: (_health(port) or {}).get("bus", {}).get("status") == "up", 60, 0.5)
        assert _health(port)["bus"]["broker_connected"] in (True, False)
        # without a running bus (stopped on purpose: serve does not restart a bus that exited 0), health says so
        # while the web keeps answering
        (bus,) = [c for c in _children(p.pid) if " bus " in _cmdline(c)]
        os.kill(bus, signal.SIGTERM)
        wait_until(lambda: (_health(port) or {}).get("bus", {}).get("status") == "down", 30, 0.5)
        assert _health(port)["status"] == "ok"
    finally:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
        broker.stop()
    log.seek(0)
    assert "decoy" not in log.read()

"""`storehub serve --mqtt URL` runs exactly one bus process beside gunicorn (not in the workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from hub.bus.mosquitto import Mosquitto
from tests.support.bus import Device, make_hub_db, wait_until
from tests.support.common import ROOT, free_port

pytestmark = pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")


def _children(pid: int) -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == pid:
                out.append(int(p))
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_serve_spawns_one_bus_process(tmp_path, data_dir):
    db = make_hub_db(data_dir)
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    port = free_port()
    p = subprocess.Popen(
        [
            sys.executable,
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
            "2",
            "--mqtt",
            f"mqtt://127.0.0.1:{broker.port}",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:

        def buses():
            return [c for c in _children(p.pid) if " bus " in _cmdline(c)]

        wait_until(lambda: len(buses()) == 1 and len(_children(p.pid)) >= 3, 30)
        time.sleep(1.0)
        assert len(buses()) == 1
        workers = [c for c in _children(p.pid) if c not in buses()]
        assert all(not [g for g in _children(w) if " bus " in _cmdline(g)] for w in workers)
        dev = Device("scanner-s", broker.port)
        conn = db.read()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            dev.event("scan", code="12345670")
            dev.flush()
            time.sleep(0.5)
            if conn.execute("SELECT COUNT(*) FROM device_scans").fetchone()[0]:
                break
        assert conn.execute("SELECT COUNT(*) FROM device_scans").fetchone()[0] >= 1
        # the bus crashes: `storehub serve` (its parent, the gunicorn master) starts a new one and it carries on
        (crashed,) = buses()
        os.kill(crashed, signal.SIGKILL)
        wait_until(lambda: (lambda b: len(b) == 1 and b[0] != crashed)(buses()), 20)
        before = conn.execute("SELECT COUNT(*) FROM device_scans").fetchone()[0]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            dev.event("scan", code="96385074")
            dev.flush()
            time.sleep(0.5)
            if conn.execute("SELECT COUNT(*) FROM device_scans").fetchone()[0] > before:
                break
        assert conn.execute("SELECT COUNT(*) FROM device_scans").fetchone()[0] > before
        dev.close()
        (bus_pid,) = buses()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        broker.stop()
        db.close()
    wait_until(
        lambda: (
            not os.path.exists(f"/proc/{bus_pid}")
            or "zombie" in open(f"/proc/{bus_pid}/status").read()
            or "(Z)" in open(f"/proc/{bus_pid}/status").read()
        ),
        15,
    )

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


def _scans(conn) -> int:
    return conn.execute("SELECT COUNT(*) FROM device_scans").fetchone()[0]


def _scan_until_counted(dev: Device, conn, code: str, before: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dev.event("scan", code=code)
        dev.flush()
        time.sleep(0.5)
        if _scans(conn) > before:
            return True
    return False


def _health(port: int) -> dict:
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as r:
            return json.loads(r.read())
    except OSError:
        return {}


def test_one_web_worker_runs_the_bus_as_a_thread_and_a_new_worker_brings_it_back(tmp_path, data_dir):
    """A small box's layout (one web worker): no services process — the bus is a supervised thread of the worker;
    a worker killed outright (its bus with it) is replaced by gunicorn and the new worker's bus takes the
    one-bus lock, beats and applies device events again."""
    db = make_hub_db(data_dir)
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "STOREHUB_SERVICES"}
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
            "1",
            "--mqtt",
            f"mqtt://127.0.0.1:{broker.port}",
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
    )
    dev = None
    try:
        wait_until(lambda: _health(port).get("bus", {}).get("status") == "up", 60, 0.5)
        wait_until(lambda: not [c for c in _children(p.pid) if "resume-payments" in _cmdline(c)], 30)
        (worker,) = _children(p.pid)  # the web worker only: no bus process beside it
        assert " bus" not in _cmdline(worker) and "sync run" not in _cmdline(worker)
        assert "MALLOC_ARENA_MAX=2" in open(f"/proc/{worker}/environ", "rb").read().decode(errors="replace")
        dev = Device("scanner-w", broker.port)
        conn = db.read()
        assert _scan_until_counted(dev, conn, "12345670", 0)
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: (lambda c: len(c) == 1 and c[0] != worker)(_children(p.pid)), 30)
        before = _scans(conn)
        assert _scan_until_counted(dev, conn, "96385074", before, 45)
        wait_until(lambda: _health(port).get("bus", {}).get("status") == "up", 30, 0.5)
    finally:
        if dev is not None:
            dev.close()
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        broker.stop()
    # the worker stopped its bus on the way out: the heartbeat says stopped, health would say down at once
    from hub.kernel import heartbeat

    assert heartbeat.status(db.read(), heartbeat.BUS, expected=True)["status"] == "down"
    db.close()

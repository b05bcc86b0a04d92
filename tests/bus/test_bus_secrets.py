"""Issue 11, hole 7: the broker password never appears on a command line (``ps`` shows /proc/<pid>/cmdline to
every user). ``storehub serve`` given the hub's URL (here in its environment) starts the bus supervisor and the
bus with the URL in their environment only; a URL without password takes it from the credentials file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from hub.bus.mosquitto import Mosquitto
from hub.bus.provision import provision
from tests.support.bus import STORE, Device, make_hub_db, wait_until
from tests.support.common import ROOT, free_port

pytestmark = pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")


def _descendants(pid: int) -> list[int]:
    parents = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    parents[int(p)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    out, todo = [], [pid]
    while todo:
        cur = todo.pop()
        kids = [c for c, pp in parents.items() if pp == cur]
        out += kids
        todo += kids
    return out


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _scans(db, device):
    return db.read().execute("SELECT COUNT(*) FROM device_scans WHERE device_id = ?", (device,)).fetchone()[0]


@pytest.mark.parametrize("layout", ["process", "worker"])  # the bus a child of the master, or a thread of the worker
@pytest.mark.parametrize("how", ["url-with-password", "password-from-credentials-file"])
def test_no_child_of_serve_shows_the_broker_password(tmp_path, data_dir, how, layout):
    db = make_hub_db(data_dir)
    out = data_dir / "mqtt"
    dev_pw = json.loads(
        provision(device_id="scanner-p", kind="scanner", store_id=STORE, out=out).config_path.read_text()
    )["mqtt"]["password"]
    hub = json.loads((out / "hub-mqtt.json").read_text())
    broker = Mosquitto(free_port(), tmp_path / "broker", password_file=out / "passwd", acl_file=out / "acl").start()
    url = (
        f"mqtt://{hub['username']}:{hub['password']}@127.0.0.1:{broker.port}"
        if how == "url-with-password"
        else f"mqtt://{hub['username']}@127.0.0.1:{broker.port}"
    )
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STOREHUB_MQTT_URL": url, "STOREHUB_SERVICES": layout}
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
        ],
        cwd=ROOT,
        env=env,
    )
    try:

        def bus_procs():
            return [c for c in _descendants(p.pid) if b"\0bus\0" in _cmdline(c)]

        if layout == "process":
            wait_until(lambda: len(bus_procs()) == 1, 30)  # the bus, a child of the gunicorn master
        dev = Device("scanner-p", broker.port, username="scanner-p", password=dev_pw)
        deadline = time.monotonic() + 30
        while _scans(db, "scanner-p") == 0 and time.monotonic() < deadline:  # the bus did log in
            dev.event("scan", code="9780201379624")
            dev.flush()
            time.sleep(0.3)
        assert _scans(db, "scanner-p") >= 1
        dev.close()
        secret = hub["password"].encode()
        children = _descendants(p.pid)
        assert len(children) >= (2 if layout == "process" else 1)  # the web worker (and the bus process)
        if layout == "worker":
            assert not bus_procs()
        leaked = {c: _cmdline(c).replace(b"\0", b" ") for c in children if secret in _cmdline(c)}
        assert not leaked, f"the broker password is on a command line: {leaked}"
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        broker.stop()
        db.close()

"""`storehub demo` — the README's first command — brings up a working store and stops cleanly."""

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.common import free_port

pytestmark = pytest.mark.slow


def _get(url, headers=None, timeout=30, context=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
        return r.status, json.loads(r.read() or b"null")


def _post(url, body, context=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30, context=context) as r:
        return r.status, json.loads(r.read())


def _children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_demo_runs_a_store_and_stops_cleanly(tmp_path):
    hub_port, mqtt_port, central_port = free_port(), free_port(), free_port()
    log = open(tmp_path / "demo.log", "w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "demo",
            "--data-dir",
            str(tmp_path / "demo"),
            "--port",
            str(hub_port),
            "--mqtt-port",
            str(mqtt_port),
            "--central-port",
            str(central_port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            log.seek(0)
            if "demo store is running" in log.read():
                break
            assert proc.poll() is None, open(tmp_path / "demo.log").read()[-3000:]
            time.sleep(0.5)
        else:
            pytest.fail("demo did not come up:\n" + open(tmp_path / "demo.log").read()[-3000:])
        # the demo hub serves HTTPS with the demo store's CA (hub.pki)
        tls = ssl.create_default_context(cafile=str(tmp_path / "demo" / "pki" / "store-ca.crt"))
        status, health = _get(f"https://127.0.0.1:{hub_port}/api/v1/health", context=tls)
        assert status == 200 and health["store_id"] == "demo-sh-001"
        status, login = _post(
            f"https://127.0.0.1:{hub_port}/api/v1/auth/login", {"user": "wang", "pin": "1234"}, context=tls
        )
        token = login["token"]
        status, items = _get(
            f"https://127.0.0.1:{hub_port}/api/v1/items?limit=1", {"Authorization": f"Bearer {token}"}, context=tls
        )
        assert items["total"] >= 2000
        with urllib.request.urlopen(f"https://127.0.0.1:{hub_port}/", timeout=30, context=tls) as r:
            assert b"<html" in r.read().lower()
        log.seek(0)
        text = log.read()
        assert "PIN 1234" in text  # the demo prints its staff PINs
        children = _children(proc.pid)
        assert len(children) >= 3  # broker, central, sync worker, hub… each a child process
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert leftover == [], f"demo left processes behind: {leftover}"

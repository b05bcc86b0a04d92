"""A kill -9 of ``storehub serve`` mid-sale: the open cart is on the hub's disk, so the till picks it up again
after the restart and completes it — nothing lost, nothing counted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from hub.checkout import tills
from hub.inventory import catalog
from hub.store import open_db
from tests.support.common import ROOT, free_port

pytestmark = pytest.mark.slow


def _serve(data, port):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "serve",
            "--data-dir",
            str(data),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--http-port",
            "0",
            "--workers",
            "1",
            "--mqtt",
            f"mqtt://127.0.0.1:{free_port()}",
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _up(port, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("storehub serve did not come up")


def test_open_cart_survives_kill_9_of_serve(tmp_path):
    data = tmp_path / "hub"
    cli = [sys.executable, "-m", "hub.cli"]
    assert (
        subprocess.run(
            [*cli, "init", "--data-dir", str(data), "--store", "kill-1"], cwd=ROOT, capture_output=True, timeout=120
        ).returncode
        == 0
    )
    assert (
        subprocess.run(
            [*cli, "users", "add", "cashier", "--role", "associate", "--pin", "4321", "--data-dir", str(data)],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        ).returncode
        == 0
    )
    _cfg, db = open_db(data)
    with db.write() as conn:
        catalog.create_item(
            conn,
            {"sku": "RICE", "name_en": "Rice", "unit": "each", "price_minor": 4990, "gtins": ["96385074"]},
            actor="test",
        )
        tills.open_shift(conn, "T1", float_minor=10000, actor="test")
    db.close()
    port = free_port()
    serve = _serve(data, port)
    try:
        _up(port)
        s = requests.Session()
        token = s.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login", json={"user": "cashier", "pin": "4321"}, timeout=10
        ).json()["token"]
        s.headers["Authorization"] = f"Bearer {token}"
        api = f"http://127.0.0.1:{port}/api/v1/checkout"
        cart = s.post(f"{api}/tills/T1/carts", json={}, timeout=10).json()
        s.post(f"{api}/carts/{cart['id']}/scan", json={"code": "96385074"}, timeout=10).raise_for_status()
        s.post(f"{api}/carts/{cart['id']}/scan", json={"code": "96385074"}, timeout=10).raise_for_status()
        os.killpg(serve.pid, signal.SIGKILL)  # mid-sale, no goodbye
        serve.wait(30)
        serve = _serve(data, port)
        _up(port)
        state = s.get(f"{api}/tills/T1", timeout=10).json()
        assert state["cart"]["id"] == cart["id"] and state["cart"]["total_minor"] == 9980
        out = s.post(
            f"{api}/carts/{cart['id']}/tenders",
            json={"method": "cash", "received_minor": 10000, "idempotency_key": "after-restart-1"},
            timeout=10,
        ).json()
        assert out["sale"]["receipt_no"] == 1 and out["sale"]["change_minor"] == 20
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(30)

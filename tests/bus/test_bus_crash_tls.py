"""A bus killed mid-burst loses nothing and applies nothing twice (acks only after commit);
the shipped config's TLS listener carries the bus over mqtts://."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from hub.bus.mosquitto import Mosquitto
from tests.support.bus import Device, make_hub_db, wait_until
from tests.support.common import ROOT, free_port

pytestmark = pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")


def _count(db, sql, *a):
    return db.read().execute(sql, a).fetchone()[0]


def test_sigkilled_bus_loses_nothing_and_double_counts_nothing(tmp_path, data_dir):
    db = make_hub_db(data_dir)
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "bus",
        "--data-dir",
        str(data_dir),
        "--mqtt",
        f"mqtt://127.0.0.1:{broker.port}",
    ]
    p = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        dev = Device("scanner-k", broker.port)
        while _count(db, "SELECT COUNT(*) FROM device_scans WHERE code = 'probe'") == 0:  # wait for the bus
            dev.event("scan", code="probe")
            dev.flush()
            time.sleep(0.3)
            assert p.poll() is None
        n = 6000
        for i in range(n):
            dev.event("scan", code=f"K{i}")
        # kill the bus while it is applying the burst
        wait_until(lambda: _count(db, "SELECT COUNT(*) FROM device_scans WHERE code LIKE 'K%'") > 200, 30, 0.005)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        dev.flush()
        seen_at_kill = _count(db, "SELECT COUNT(*) FROM device_scans WHERE code LIKE 'K%'")
        assert seen_at_kill < n, "the bus finished before it was killed; the test proves nothing"
        p = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _count(db, "SELECT COUNT(*) FROM device_scans WHERE code LIKE 'K%'") >= n, 60, 0.1)
        time.sleep(1.0)
        assert _count(db, "SELECT COUNT(*) FROM device_scans WHERE code LIKE 'K%'") == n
        assert _count(db, "SELECT COUNT(DISTINCT code) FROM device_scans WHERE code LIKE 'K%'") == n
        dups = _count(db, "SELECT events_duplicate FROM devices WHERE id = 'scanner-k'")
        total = _count(db, "SELECT events_total FROM devices WHERE id = 'scanner-k'")
        assert total == n + _count(db, "SELECT COUNT(*) FROM device_scans WHERE code = 'probe'")
        assert dups >= 0
        dev.close()
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        broker.stop()
        db.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_tls_listener_from_the_shipped_config(tmp_path, data_dir):
    pki = tmp_path / "pki"
    pki.mkdir()

    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=pki, check=True, capture_output=True, timeout=60)

    ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=StoreHub Test CA",
    )
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (pki / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    tls_port = free_port()
    broker = Mosquitto(
        free_port(),
        tmp_path / "broker",
        tls_port=tls_port,
        tls_files={"cafile": pki / "ca.crt", "certfile": pki / "server.crt", "keyfile": pki / "server.key"},
    ).start()
    db = make_hub_db(data_dir)
    try:
        conf = broker.conf.read_text()
        assert f"listener {tls_port} 127.0.0.1" in conf and "tls_version tlsv1.2" in conf
        wait_until(lambda: __import__("hub.bus.mosquitto", fromlist=["port_open"]).port_open(tls_port), 10)
        from hub.bus.writer import Bus

        bus = Bus(db, f"mqtts://127.0.0.1:{tls_port}?ca={pki / 'ca.crt'}").start()
        try:
            assert bus.wait_ready(15), "bus did not connect over TLS"
            dev = Device("scale-t", broker.port)  # a plain-listener device; the hub side is TLS
            dev.event("weight", grams=777, stable=True)
            dev.close()
            wait_until(lambda: _count(db, "SELECT COUNT(*) FROM scale_weights WHERE grams = 777") == 1)
        finally:
            bus.stop()
        # a client that does not trust the CA is refused
        untrusted = Bus(db, f"mqtts://127.0.0.1:{tls_port}", client_id="untrusted").start()
        try:
            assert not untrusted.wait_ready(3)
        finally:
            untrusted.stop()
    finally:
        broker.stop()
        db.close()

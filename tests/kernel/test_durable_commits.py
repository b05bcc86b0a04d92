"""Every connection the hub's processes open runs ``synchronous=FULL`` (issue 11, hole 5): a commit is on
disk before the HTTP 201 or the MQTT acknowledgement for it goes out, so a power cut cannot take back
what was acknowledged. Checked in the real processes — gunicorn master and worker (``storehub serve``),
the bus it starts, ``storehub sync run`` and a plain CLI command — by a ``sitecustomize`` that records the
``PRAGMA synchronous`` of every connection ``hub.kernel.db.connect`` hands out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import requests

from hub.bus.mosquitto import Mosquitto
from hub.synclink import state
from tests.support.common import ROOT, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.mqtt,
    pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed"),
]

HOOK = textwrap.dedent("""
    import os, sys
    _log = os.environ.get("STOREHUB_TEST_CONNECT_LOG")
    if _log:
        import hub.kernel.db as _db
        _connect = _db.connect

        def connect(path, **kw):
            conn = _connect(path, **kw)
            level = conn.execute("PRAGMA synchronous").fetchone()[0]
            with open(_log, "a") as f:
                f.write(f"{os.getpid()}\\t{level}\\t{' '.join(sys.argv[1:])}\\n")
            return conn

        _db.connect = connect
""")

LEVELS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def _wait(pred, timeout=30.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_hub_process_commits_with_synchronous_full(tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    log = tmp_path / "connections.tsv"
    data = tmp_path / "hub"
    env = {**os.environ, "PYTHONPATH": f"{hook}{os.pathsep}{ROOT}", "STOREHUB_TEST_CONNECT_LOG": str(log)}
    # the bus as a process of its own (with one web worker it would be a thread of the worker, whose connections
    # this test checks as the worker's), so each kind of hub process is seen
    env["STOREHUB_SERVICES"] = "process"

    def cli(*args, **kw):
        return subprocess.run(
            [sys.executable, "-m", "hub.cli", *args], env=env, cwd=ROOT, capture_output=True, timeout=120, **kw
        )

    def rows():
        if not log.exists():
            return []
        return [line.split("\t") for line in log.read_text().splitlines()]

    assert cli("init", "--data-dir", str(data), "--store", "dur-1").returncode == 0  # the CLI
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    port = free_port()
    serve = subprocess.Popen(
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
            "--workers",
            "1",
            "--mqtt",
            f"mqtt://127.0.0.1:{broker.port}",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sync = None
    try:

        def web_up():
            try:
                return requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code < 500
            except requests.RequestException:
                return False

        _wait(web_up, 60, "the web worker")
        _wait(lambda: any(" bus " in f" {r[2]} " and "--supervise" not in r[2] for r in rows()), 60, "the bus")
        state.write_credentials(data, central_url=f"http://127.0.0.1:{free_port()}", store_id="dur-1", secret="s" * 32)
        sync = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "sync", "run", "--data-dir", str(data)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: any(r[2].startswith("sync run") for r in rows()), 60, "the sync worker")
    finally:
        if sync is not None:
            sync.send_signal(signal.SIGTERM)
            sync.wait(30)
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(30)
        broker.stop()
    seen = rows()
    pids_by_role: dict[str, set[str]] = {}
    for pid, _level, argv in seen:
        role = (
            "init"
            if argv.startswith("init")
            else "serve"
            if argv.startswith("serve")
            else "sync"
            if argv.startswith("sync run")
            else "bus"
            if argv.startswith("bus")
            else argv
        )
        pids_by_role.setdefault(role, set()).add(pid)
    # the CLI, the gunicorn master and at least one worker (two pids), the bus and the sync worker
    assert set(pids_by_role) >= {"init", "serve", "bus", "sync"} and len(pids_by_role["serve"]) >= 2, seen
    weak = [(pid, LEVELS.get(int(level), level), argv) for pid, level, argv in seen if int(level) < 2]
    assert not weak, f"hub connections not running synchronous=FULL: {weak}"

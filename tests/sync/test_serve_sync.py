"""``storehub serve --sync`` with one web worker (a small box's layout, issue 12 footprint): the sync worker is a
supervised thread of the web worker — no process of its own — and keeps its guarantees: it pushes the outbox to
the central, holds ``sync.lock`` while the worker lives (so a second ``storehub sync run`` refuses to start), and
after the worker is killed outright the replacement worker's thread takes the lock and carries on."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from hub.synclink import state
from hub.synclink.state import status
from sync.central import stores
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from sync.worker import SingleInstance
from tests.support.common import ROOT, free_port
from tests.support.sync import ThreadedCentral, make_hub, sell, storehub, wait_until

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _lock_is_held(data_dir) -> bool:
    try:
        with SingleInstance(data_dir):
            return False
    except SystemExit:
        return True


def test_serve_sync_runs_the_sync_worker_in_the_single_web_worker(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    server = ThreadedCentral(create_app(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=engine))
    secret = stores.add_store(engine, "s1")
    hub_dir = tmp_path / "hub"
    _cfg, db, ctx = make_hub(hub_dir, "s1")
    state.write_credentials(hub_dir, central_url=server.url, store_id="s1", secret=secret)
    sell(db, ctx, 5)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("STOREHUB_SERVICES", "STOREHUB_WEB_WORKERS")}
    p = subprocess.Popen(
        storehub(
            "serve",
            "--data-dir",
            str(hub_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--sync",
        ),
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: status(db.read())["pending"] == 0, 60, 0.2, "the outbox pushed")
        wait_until(lambda: len(_children(p.pid)) == 1, 30, 0.2, "resume-payments done")
        (worker,) = _children(p.pid)
        assert "sync run" not in _cmdline(worker)  # the web worker itself, no services process
        assert _lock_is_held(hub_dir)  # one sync worker per hub: a `storehub sync run` now would refuse
        # the worker dies outright: gunicorn starts another, whose sync thread takes the lock and pushes again
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: (lambda c: len(c) == 1 and c[0] != worker)(_children(p.pid)), 30, 0.2, "a new worker")
        cursor = status(db.read())["uplink_cursor"]
        sell(db, ctx, 3)
        wait_until(lambda: status(db.read())["pending"] == 0, 60, 0.2, "the new sales pushed")
        assert status(db.read())["uplink_cursor"] > cursor
        assert _lock_is_held(hub_dir)
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
        server.close()
        engine.dispose()
    time.sleep(0.2)
    assert not _lock_is_held(hub_dir)  # released with the worker
    db.close()

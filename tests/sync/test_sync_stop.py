"""``storehub sync run`` stops within about a second of SIGTERM (issue 11, hole 7): while it backs off
after failures, and while a request hangs on a central that accepted the connection but never answers
(a frozen central or a half-dead link: the request timeout is 30 s, the next back-off up to a minute)."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time

import pytest

from hub.synclink import state
from hub.synclink.state import status
from tests.support.common import free_port
from tests.support.sync import make_hub, storehub, wait_until

pytestmark = pytest.mark.slow


class SilentCentral:
    """Accepts TCP connections and never answers (a SIGSTOPped central, a link dropping replies)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self.sock.close()
        for c in self.accepted:
            c.close()


def _stop_time(proc: subprocess.Popen) -> float:
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        return 99.0
    return time.monotonic() - t


@pytest.fixture
def hub(tmp_path):
    cfg, db, _ctx = make_hub(tmp_path / "hub", "stop-1")
    yield tmp_path / "hub", db
    db.close()


def test_sigterm_during_a_long_back_off(hub):
    hub_dir, db = hub
    state.write_credentials(
        hub_dir, central_url=f"http://127.0.0.1:{free_port()}", store_id="stop-1", secret="s" * 32
    )  # nothing listens: every attempt fails
    p = subprocess.Popen(
        storehub("sync", "run", "--data-dir", str(hub_dir), "--max-backoff", "120"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # the third failure: the worker now waits 2-4 s before the next attempt
    wait_until(lambda: ((status(db.read())["last_error"] or {}).get("failures") or 0) >= 3, 30, 0.05, "back-off")
    assert p.poll() is None
    assert _stop_time(p) < 1.5
    assert p.returncode == 0


def test_sigterm_while_a_request_hangs_on_a_silent_central(hub):
    hub_dir, db = hub
    central = SilentCentral()
    state.write_credentials(hub_dir, central_url=f"http://127.0.0.1:{central.port}", store_id="stop-1", secret="s" * 32)
    p = subprocess.Popen(
        storehub("sync", "run", "--data-dir", str(hub_dir), "--max-backoff", "120"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: central.accepted, 30, 0.05, "the push to reach the central")
        time.sleep(0.3)  # the request is now waiting for an answer
        assert p.poll() is None
        assert _stop_time(p) < 1.5
        assert p.returncode == 0
        assert status(db.read())["uplink_cursor"] == 0  # nothing unacknowledged was marked sent
    finally:
        if p.poll() is None:
            p.kill()
        central.close()

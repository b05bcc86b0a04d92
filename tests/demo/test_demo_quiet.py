"""A normal `storehub demo` start and Ctrl-C stop logs no ERROR line and no traceback: what a newcomer sees first
must not look broken (the broker's port probes, the bus's MQTT 5 attempt on a 3.1.1 broker and agents
stopping after the broker were all logged as errors)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.common import free_port

pytestmark = pytest.mark.slow


def test_demo_start_and_ctrl_c_stop_log_no_errors(tmp_path):
    hub_port, mqtt_port, central_port = free_port(), free_port(), free_port()
    log_path = tmp_path / "demo.log"
    log = open(log_path, "w+")
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
        deadline = time.time() + 180
        while time.time() < deadline and "demo store is running" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.5)
        assert "demo store is running" in log_path.read_text(), log_path.read_text()[-3000:]
        # the bus connects, the agents publish, the scanner simulator scans (every 20 s) and shelves report
        time.sleep(40)
        assert "bus: connected to" in log_path.read_text()
        # Ctrl-C in a terminal: SIGINT to the whole foreground process group, not just the demo
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log_path.read_text()
    bad = [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line or line.startswith("ERROR")]
    assert not bad, "\n".join(bad[:20]) + "\n---\n" + text[-4000:]
    assert proc.returncode == 0, text[-3000:]

"""`storehub serve`'s process layout (issue 12, footprint): how many web workers on a small box, which services
process it starts, and how its master watches a child (restarted when it crashes, not when it exits 0)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from hub.bus.services import Supervised
from hub.serve import Child, default_workers, gunicorn_options, memory_total_mb, services_argv, services_layout


def test_one_web_worker_with_up_to_2_gb_of_ram(monkeypatch, tmp_path):
    monkeypatch.delenv("STOREHUB_WEB_WORKERS", raising=False)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:         948304 kB\nMemFree:          100000 kB\n")  # a Raspberry Pi 3
    assert memory_total_mb(str(meminfo)) == 926
    assert default_workers(926, cpus=4) == 1
    assert default_workers(2048, cpus=4) == 1
    assert default_workers(4096, cpus=4) == 4
    assert default_workers(16384, cpus=1) == 2
    assert default_workers(16384, cpus=16) == 4
    monkeypatch.setenv("STOREHUB_WEB_WORKERS", "3")
    assert default_workers(926, cpus=4) == 3
    assert gunicorn_options("127.0.0.1", 8000, 1)["threads"] == 64
    assert gunicorn_options("127.0.0.1", 8000, 2)["threads"] == 32
    assert gunicorn_options("127.0.0.1", 8000, 2, 8)["threads"] == 8


def test_one_web_worker_runs_the_services_as_threads(monkeypatch):
    monkeypatch.delenv("STOREHUB_SERVICES", raising=False)
    assert services_layout(1) == "worker"
    assert services_layout(2) == "process"  # one bus per hub: not one per worker
    monkeypatch.setenv("STOREHUB_SERVICES", "process")
    assert services_layout(1) == "process"
    monkeypatch.setenv("STOREHUB_SERVICES", "worker")
    assert services_layout(1) == "worker"
    assert services_layout(3) == "process"


def test_a_service_thread_that_fails_is_restarted_and_one_that_finishes_is_not():
    calls: list[int] = []

    def flaky(stop: threading.Event) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("broker went away")
        if len(calls) == 2:
            raise SystemExit("lock held by the previous worker")
        stop.wait()  # the third run lasts until stopped

    s = Supervised("flaky", flaky, max_delay=0.2).start()
    assert _wait(lambda: len(calls) == 3, 10)  # after 1 s, then 2 s capped to 0.2 s
    assert s.failures == 2 and s.alive()
    s.stop(5)
    assert not s.alive() and len(calls) == 3

    done = Supervised("done", lambda stop: None).start()
    assert _wait(lambda: not done.alive(), 5)
    assert done.starts == 1 and done.failures == 0


def test_services_process_follows_bus_and_sync():
    d = Path("/srv/hub")
    assert services_argv(d, bus=True, sync=True)[-5:] == ["sync", "run", "--data-dir", "/srv/hub", "--bus"]
    assert services_argv(d, bus=True, sync=False)[-3:] == ["bus", "--data-dir", "/srv/hub"]
    assert services_argv(d, bus=False, sync=True)[-4:] == ["sync", "run", "--data-dir", "/srv/hub"]
    assert services_argv(d, bus=False, sync=False) is None
    assert services_argv(d, bus=True, sync=False)[1] == "-P"  # never imports the working directory


def _wait(cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_a_crashed_child_is_restarted_and_a_clean_exit_is_not(tmp_path):
    crashes = Child("crasher", [sys.executable, "-c", "raise SystemExit(3)"]).start()
    try:
        assert _wait(lambda: crashes.starts >= 2, 10)  # restarted after 1 s
    finally:
        crashes.stop()
    runs = crashes.starts
    time.sleep(1.5)
    assert crashes.starts == runs  # stopped: no more restarts

    clean = Child("clean", [sys.executable, "-c", "pass"]).start()
    assert _wait(lambda: clean.proc.poll() is not None, 10)
    time.sleep(1.5)
    assert clean.starts == 1
    clean.stop()

    sleeper = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"]).start()
    pid = sleeper.proc.pid
    sleeper.stop()
    assert sleeper.proc.poll() is not None and sleeper.proc.pid == pid and sleeper.starts == 1

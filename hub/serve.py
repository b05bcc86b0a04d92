"""Production serving: gunicorn in front of the app factory.

MQTT consumption never runs inside gunicorn workers: ``storehub serve`` starts
one bus process beside the web workers (see ``hub.bus``) when a broker is set."""

from __future__ import annotations

import functools
import multiprocessing
from pathlib import Path

from gunicorn.app.base import BaseApplication

from hub.kernel.config import HubConfig


class GunicornApp(BaseApplication):
    """gunicorn in front of an app factory (used by the hub and by the central)."""

    def __init__(self, factory, options: dict):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self):
        for k, v in self.options.items():
            if k in self.cfg.settings and v is not None:
                self.cfg.set(k, v)

    def load(self):
        return self.factory()


def _hub_app(config: HubConfig):
    from hub.app import create_app

    return create_app(config)


# Each open Server-Sent Events stream (one per handheld) holds a thread for its
# lifetime, so workers get many cheap threads rather than the usual handful.
def gunicorn_options(host: str, port: int, workers: int | None = None, threads: int = 32) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers or max(2, min(4, multiprocessing.cpu_count())),
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "preload_app": False,
    }


def run(data_dir: Path, host: str, port: int, workers: int | None = None, mqtt_url: str | None = None) -> None:
    cfg = HubConfig(data_dir=data_dir, mqtt_url=mqtt_url)
    bus = start_bus_process(data_dir, mqtt_url, api_port=port) if mqtt_url else None
    try:
        GunicornApp(functools.partial(_hub_app, cfg), gunicorn_options(host, port, workers)).run()
    finally:
        if bus is not None:
            stop_bus_process(bus)


def start_bus_process(data_dir: Path, mqtt_url: str, api_port: int | None = None):
    """The hub's one bus process, a child of the gunicorn master (never inside a worker).

    It dies with this process (PR_SET_PDEATHSIG) so a killed server leaves no orphan."""
    import os
    import signal
    import subprocess
    import sys

    def _die_with_parent():  # pragma: no cover - runs in the child
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass

    env = {**os.environ, "STOREHUB_DATA_DIR": str(data_dir)}
    if api_port:  # what the bus advertises over mDNS when STOREHUB_ADVERTISE_ADDRESS is set
        env["STOREHUB_API_PORT"] = str(api_port)
    return subprocess.Popen([sys.executable, "-m", "hub.cli", "bus", "--supervise", "--data-dir", str(data_dir),
                             "--mqtt", mqtt_url], env=env, preexec_fn=_die_with_parent)


def stop_bus_process(proc) -> None:
    import subprocess

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

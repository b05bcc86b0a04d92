"""Production serving: gunicorn in front of the app factory.

MQTT consumption never runs inside gunicorn workers: ``storehub serve`` starts
one bus process beside the web workers (see ``hub.bus``) when a broker is set.

With TLS (the default off loopback, docs/security.md) gunicorn speaks HTTPS with the store certificate
(``hub.pki``): checked and renewed at start and daily by a thread of this process, picked up by the workers from
the next connection on; a child process serves plain HTTP on ``http_port`` that only redirects and enrols."""

from __future__ import annotations

import functools
import multiprocessing
from pathlib import Path

from gunicorn.app.base import BaseApplication

from hub.kernel.cliopts import storehub_argv
from hub.kernel.config import HubConfig
from hub.pki import certs, workflow
from hub.pki.tls import ContextCache, Renewer


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


def _hub_app(config: HubConfig, ports: tuple[int | None, int] | None = None, store: str = "StoreHub"):
    from hub.app import create_app
    from hub.pki.api import enrol

    app = create_app(config)
    if ports is not None:  # the enrolment page links the plain-HTTP URL (QR code) and the HTTPS app
        enrol.configure(app, config.data_dir, http_port=ports[0], https_port=ports[1], store=store)
    return app


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


def tls_options(data_dir: Path) -> dict:
    """gunicorn's TLS settings: ``certfile`` switches TLS on, the ``ssl_context`` hook serves a cached context
    that follows renewals of ``hub.pem`` (key and certificate in one file)."""
    pem = certs.PkiFiles.in_data_dir(data_dir).hub_pem
    return {"certfile": str(pem), "keyfile": None, "ssl_context": ContextCache(pem)}


def run(data_dir: Path, host: str, port: int, workers: int | None = None, mqtt_url: str | None = None, *,
        tls: bool = False, http_port: int | None = None, store_id: str = "store-001",
        store_name: str = "StoreHub") -> None:
    cfg = HubConfig(data_dir=data_dir, mqtt_url=mqtt_url, secure_cookies=tls)
    options = gunicorn_options(host, port, workers)
    renewer = plain = None
    if tls:
        workflow.check(data_dir, store_id)  # before the first handshake: create or renew what is due
        options.update(tls_options(data_dir))
        renewer = Renewer(data_dir, store_id).start()
        if http_port:
            plain = start_plain_http_process(data_dir, host, http_port, https_port=port)
    bus = start_bus_process(data_dir, mqtt_url, api_port=port) if mqtt_url else None
    start_resume_payments(data_dir)
    app = functools.partial(_hub_app, cfg, (http_port or None, port) if tls else None, store_name)
    try:
        GunicornApp(app, options).run()
    finally:
        if bus is not None:
            stop_bus_process(bus)
        if plain is not None:
            stop_bus_process(plain)
        if renewer is not None:
            renewer.stop()


def start_plain_http_process(data_dir: Path, host: str, port: int, *, https_port: int):
    """The plain-HTTP listener (``storehub pki serve-http``: enrolment page, redirect to HTTPS) as a child that
    dies with this process."""
    import signal
    import subprocess

    def _die_with_parent():  # pragma: no cover - runs in the child
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass

    return subprocess.Popen(storehub_argv("pki", "serve-http", "--data-dir", str(data_dir), "--host", host,
                                          "--port", str(port), "--https-port", str(https_port)),
                            preexec_fn=_die_with_parent)


def start_resume_payments(data_dir: Path):
    """``storehub checkout resume-payments`` once at start, as a child: payment-code tenders a stopped hub left
    pending are asked about by out_trade_no and settled exactly once. A child (not a thread of the gunicorn
    master, not each worker) so it runs once, survives no fork, and an unreachable provider never delays the
    start of the till's API."""
    import subprocess

    return subprocess.Popen(storehub_argv("checkout", "resume-payments", "--data-dir", str(data_dir)),
                            stdout=subprocess.DEVNULL)


def start_bus_process(data_dir: Path, mqtt_url: str, api_port: int | None = None):
    """The hub's one bus process, a child of the gunicorn master (never inside a worker).

    It dies with this process (PR_SET_PDEATHSIG) so a killed server leaves no orphan."""
    import os
    import signal
    import subprocess

    def _die_with_parent():  # pragma: no cover - runs in the child
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass

    # The broker URL may hold the hub's password: it goes in the child's environment (readable by this user
    # only), never on its command line (/proc/<pid>/cmdline, which `ps` shows every user).
    env = {**os.environ, "STOREHUB_DATA_DIR": str(data_dir), "STOREHUB_MQTT_URL": mqtt_url}
    if api_port:  # what the bus advertises over mDNS when STOREHUB_ADVERTISE_ADDRESS is set
        env["STOREHUB_API_PORT"] = str(api_port)
    # storehub_argv: `python -P`, so a hub/ folder in the directory `storehub serve` runs from is never imported
    return subprocess.Popen(storehub_argv("bus", "--supervise", "--data-dir", str(data_dir)),
                            env=env, preexec_fn=_die_with_parent)


def stop_bus_process(proc) -> None:
    import subprocess

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

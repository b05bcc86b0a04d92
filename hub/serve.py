"""Production serving: gunicorn in front of the app factory, and the hub's other processes beside it.

``storehub serve`` checks its arguments and the data directory (which loads every domain), then replaces itself
(``exec``, same pid) with ``python -P -m hub.serve``: a lean gunicorn master that imports gunicorn and this module
only — never the app (``preload_app`` is off: each worker imports it after the fork) — so the process that lives
for the whole day does not carry the ~35 MB of the hub's modules (docs/architecture.md, "Processes").

The services — the bus when a broker is set, the sync worker with ``--sync`` — run where ``services_layout``
says: with a single web worker (what a box with up to 2 GB of RAM gets) as supervised threads of that worker
(``hub.bus.services``: restarted with back-off when they die; a crashed worker is replaced by gunicorn with its
services), one Python process fewer; with several workers in a services process beside them.

The master starts and watches the hub's other processes (``Child``: restarted with back-off when they die):

* in the ``process`` layout, the services process: the one bus (``storehub bus``), or with ``--sync`` the bus with
  the sync worker as a thread of the same process (``storehub sync run --bus``); ``--sync`` without a broker runs
  the sync worker alone (``storehub sync run``);
* once at start, ``storehub checkout resume-payments``;
* with TLS, the plain-HTTP enrolment listener (``storehub pki serve-http``).

With TLS (the default off loopback, docs/security.md) gunicorn speaks HTTPS with the store certificate
(``hub.pki``): checked and renewed at start and daily by a thread of the master, picked up by the workers from
the next connection on."""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from gunicorn.app.base import BaseApplication

log = logging.getLogger("storehub.serve")

SPEC_ENV = "STOREHUB_SERVE_SPEC"  # what `storehub serve` hands the lean master it execs into
SMALL_BOX_MB = 2048  # RAM up to this: one web worker (a Pi 3 has 1 GB)


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


_services = None  # in a web worker that runs the services (layout "worker"): its hub.bus.services.Services


def _hub_app(
    data_dir: str,
    mqtt_url: str | None,
    tls: bool,
    ports: tuple[int | None, int] | None,
    store: str,
    services: dict | None = None,
):
    # Runs in each web worker after the fork: the master never imports the app (memory, see the module doc).
    global _services
    from hub.app import create_app
    from hub.kernel.config import HubConfig
    from hub.pki.api import enrol

    config = HubConfig(data_dir=Path(data_dir), mqtt_url=mqtt_url, secure_cookies=tls)
    app = create_app(config)
    if ports is not None:  # the enrolment page links the plain-HTTP URL (QR code) and the HTTPS app
        enrol.configure(app, config.data_dir, http_port=ports[0], https_port=ports[1], store=store)
    if services is not None:  # the bus and the sync worker as supervised threads of this (single) worker
        from hub.bus.services import Services

        _services = Services(Path(data_dir), mqtt_url, **services).start()
    return app


def _worker_exit(server, worker) -> None:
    """gunicorn's ``worker_exit`` hook (in the worker, after its last request): stop the services it runs."""
    if _services is not None:
        _services.stop()


def _pre_fork(server, worker) -> None:
    """gunicorn's ``pre_fork`` hook (in the master): what the master holds is never collected again, so the
    worker's garbage collector does not write to (and so copy) the pages it shares with the master."""
    gc.freeze()


def memory_total_mb(meminfo: str = "/proc/meminfo") -> int | None:
    try:
        with open(meminfo) as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_workers(mem_mb: int | None = None, cpus: int | None = None) -> int:
    """Web worker processes when ``--workers`` is not given: ``$STOREHUB_WEB_WORKERS`` if set; one on a box with
    at most 2 GB of RAM (each worker is a whole Python with the hub loaded, ~70 MB; one worker's threads serve a
    store's handhelds); else one per core, 2 to 4."""
    env = os.environ.get("STOREHUB_WEB_WORKERS")
    if env:
        return max(1, int(env))
    mem_mb = memory_total_mb() if mem_mb is None else mem_mb
    if mem_mb is not None and mem_mb <= SMALL_BOX_MB:
        return 1
    return max(2, min(4, cpus or os.cpu_count() or 1))


def services_layout(workers: int) -> str:
    """Where the bus and the sync worker run: ``worker`` — threads of the web worker, when there is only one
    (a small box: one Python process fewer, ~60 MB) — or ``process``: a services process beside the workers
    (several workers: one bus per hub). ``$STOREHUB_SERVICES`` (``worker`` or ``process``) overrides it; with
    ``worker`` and several web workers the services still run in a process of their own."""
    env = os.environ.get("STOREHUB_SERVICES")
    if env in ("worker", "process"):
        return "worker" if env == "worker" and workers == 1 else "process"
    return "worker" if workers == 1 else "process"


# Each open Server-Sent Events stream (one per handheld) holds a thread for its lifetime, so workers get many
# cheap threads rather than the usual handful; a lone worker gets twice as many (gthread starts them on demand).
def gunicorn_options(host: str, port: int, workers: int | None = None, threads: int | None = None) -> dict:
    workers = workers or default_workers()
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads or (64 if workers == 1 else 32),
        "timeout": 60,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "preload_app": False,
        "pre_fork": _pre_fork,
        "worker_exit": _worker_exit,
    }


def tls_options(data_dir: Path) -> dict:
    """gunicorn's TLS settings: ``certfile`` switches TLS on, the ``ssl_context`` hook serves a cached context
    that follows renewals of ``hub.pem`` (key and certificate in one file)."""
    from hub.pki import certs  # cryptography: only a master that serves TLS loads it (memory)
    from hub.pki.tls import ContextCache

    pem = certs.PkiFiles.in_data_dir(data_dir).hub_pem
    return {"certfile": str(pem), "keyfile": None, "ssl_context": ContextCache(pem)}


def child_argv(*args: str) -> list[str]:
    """argv of a ``storehub`` subcommand run as a child: ``hub.kernel.cliopts.storehub_argv`` (``python -P``, so a
    ``hub/`` folder in the working directory is never imported), spelled here because importing ``hub.kernel``
    would load its settings schemas into the lean master."""
    return [sys.executable, "-P", "-m", "hub.cli", *args]


def services_argv(data_dir: Path, *, bus: bool, sync: bool) -> list[str] | None:
    """The services process: the bus, the bus with the sync worker as a thread, or the sync worker alone."""
    d = str(data_dir)
    if bus and sync:
        return child_argv("sync", "run", "--data-dir", d, "--bus")
    if bus:
        return child_argv("bus", "--data-dir", d)
    if sync:
        return child_argv("sync", "run", "--data-dir", d)
    return None


def _die_with_parent():  # pragma: no cover - runs in the child
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Child:
    """A child process of the master, restarted with back-off (1 s doubling to 30 s, back to 1 s after a minute
    up) when it dies — unless it exited 0 (stopped on purpose: health then reports the bus down) or ``restart``
    is off. It dies with the master (PR_SET_PDEATHSIG, which follows the thread that started it: the watcher
    thread, which lives until ``stop``).

    The exit status is read with ``waitid(WNOWAIT)`` before the child is reaped, because gunicorn's arbiter reaps
    any child (``waitpid(-1)``) on SIGCHLD."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, *, restart: bool = True, stdout=None
    ):
        self.name, self.argv, self.env, self.restart, self.stdout = name, argv, env, restart, stdout
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"child-{name}", daemon=True)

    def start(self) -> Child:
        self._thread.start()
        self._started.wait(10)
        return self

    def _watch(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                self.proc = subprocess.Popen(self.argv, env=self.env, preexec_fn=_die_with_parent, stdout=self.stdout)
            except OSError:
                log.exception("serve: could not start %s", self.name)
                self._started.set()
                return
            self.starts += 1
            self._started.set()
            rc = _exit_status(self.proc)
            if self._stopping.is_set():
                return
            if rc == 0 or not self.restart:
                if self.restart:
                    print(f"storehub serve: {self.name} stopped (exit 0); not restarting it", file=sys.stderr)
                return
            if time.monotonic() - began > 60:
                delay = 1.0
            print(f"storehub serve: {self.name} exited with {rc}; restarting in {delay:.0f}s", file=sys.stderr)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, 30.0)

    def stop(self, timeout: float = 15) -> None:
        self._stopping.set()
        p = self.proc
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self._thread.join(timeout)


def _exit_status(proc: subprocess.Popen) -> int | None:
    """Wait for ``proc`` to exit; its exit code (negative: killed by that signal), None when another waiter
    (gunicorn's arbiter) reaped it first."""
    rc = None
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        if info is not None:
            rc = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
    except ChildProcessError:
        pass
    proc.wait()
    return rc


@dataclass
class ServeSpec:
    """What ``storehub serve`` decided, handed to the lean master (JSON in ``$STOREHUB_SERVE_SPEC``: the broker
    URL may hold the hub's password, so it never goes on a command line)."""

    data_dir: str
    host: str
    port: int
    workers: int | None = None
    threads: int | None = None
    mqtt_url: str | None = None
    tls: bool = False
    http_port: int | None = None
    store_id: str = "store-001"
    store_name: str = "StoreHub"
    sync: bool = False


def exec_master(spec: ServeSpec, shown: list[str]) -> None:
    """Replace this process (same pid: a service manager keeps tracking it) with the lean master. ``shown``
    (the ``storehub`` arguments, without any ``--mqtt URL``) only labels the master in ``ps``; the spec is what
    it runs."""
    env = {**os.environ, SPEC_ENV: json.dumps(asdict(spec))}
    if (spec.workers or default_workers()) == 1:
        # one web worker (a small box): glibc's malloc keeps at most two arenas rather than eight per core for the
        # worker's threads (its many gthreads and the services), less memory held in half-empty arenas
        env.setdefault("MALLOC_ARENA_MAX", "2")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-P", "-m", "hub.serve", *_without_url(shown)], env)


def _without_url(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--mqtt":
            skip = True
        elif not a.startswith("--mqtt="):
            out.append(a)
    return out


def main() -> None:
    """``python -P -m hub.serve``: the master ``storehub serve`` execs into."""
    spec = ServeSpec(**json.loads(os.environ.pop(SPEC_ENV)))
    run(
        Path(spec.data_dir),
        spec.host,
        spec.port,
        spec.workers,
        spec.mqtt_url,
        tls=spec.tls,
        http_port=spec.http_port,
        store_id=spec.store_id,
        store_name=spec.store_name,
        sync=spec.sync,
        threads=spec.threads,
    )


def run(
    data_dir: Path,
    host: str,
    port: int,
    workers: int | None = None,
    mqtt_url: str | None = None,
    *,
    tls: bool = False,
    http_port: int | None = None,
    store_id: str = "store-001",
    store_name: str = "StoreHub",
    sync: bool = False,
    threads: int | None = None,
) -> None:
    options = gunicorn_options(host, port, workers, threads)
    renewer = None
    children: list[Child] = []
    if tls:
        from hub.pki import workflow  # cryptography: only a master that serves TLS loads it (memory)
        from hub.pki.tls import Renewer

        workflow.check(data_dir, store_id)  # before the first handshake: create or renew what is due
        options.update(tls_options(data_dir))
        renewer = Renewer(data_dir, store_id).start()
    try:
        if tls and http_port:
            children.append(start_plain_http_process(data_dir, host, http_port, https_port=port))
        in_worker = services_layout(options["workers"]) == "worker" and (mqtt_url or sync)
        if not in_worker:
            services = start_services(data_dir, mqtt_url, api_port=port, sync=sync)
            if services is not None:
                children.append(services)
        children.append(start_resume_payments(data_dir))
        app = lambda: _hub_app(  # noqa: E731
            str(data_dir),
            mqtt_url,
            tls,
            (http_port or None, port) if tls else None,
            store_name,
            {"sync": sync, "api_port": port} if in_worker else None,
        )
        GunicornApp(app, options).run()
    finally:
        for child in reversed(children):
            child.stop()
        if renewer is not None:
            renewer.stop()


def start_plain_http_process(data_dir: Path, host: str, port: int, *, https_port: int) -> Child:
    """The plain-HTTP listener (``storehub pki serve-http``: enrolment page, redirect to HTTPS)."""
    return Child(
        "plain-HTTP listener",
        child_argv(
            "pki",
            "serve-http",
            "--data-dir",
            str(data_dir),
            "--host",
            host,
            "--port",
            str(port),
            "--https-port",
            str(https_port),
        ),
    ).start()


def start_resume_payments(data_dir: Path) -> Child:
    """``storehub checkout resume-payments`` once at start, as a child: payment-code tenders a stopped hub left
    pending are asked about by out_trade_no and settled exactly once. A child (not a thread of the gunicorn
    master, not each worker) so it runs once, survives no fork, and an unreachable provider never delays the
    start of the till's API."""
    return Child(
        "resume-payments",
        child_argv("checkout", "resume-payments", "--data-dir", str(data_dir)),
        restart=False,
        stdout=subprocess.DEVNULL,
    ).start()


def start_services(
    data_dir: Path, mqtt_url: str | None, api_port: int | None = None, *, sync: bool = False
) -> Child | None:
    """The hub's one bus process (with ``sync``: and the sync worker, as a thread of it), a child of the gunicorn
    master (never inside a worker), restarted by the master when it crashes."""
    argv = services_argv(data_dir, bus=bool(mqtt_url), sync=sync)
    if argv is None:
        return None
    # The broker URL may hold the hub's password: it goes in the child's environment (readable by this user
    # only), never on its command line (/proc/<pid>/cmdline, which `ps` shows every user).
    env = {**os.environ, "STOREHUB_DATA_DIR": str(data_dir)}
    if mqtt_url:
        env["STOREHUB_MQTT_URL"] = mqtt_url
    if api_port:  # what the bus advertises over mDNS when STOREHUB_ADVERTISE_ADDRESS is set
        env["STOREHUB_API_PORT"] = str(api_port)
    return Child("bus" if not sync else ("bus and sync worker" if mqtt_url else "sync worker"), argv, env).start()


if __name__ == "__main__":  # pragma: no cover - `storehub serve` execs into this
    main()

"""The hub's services — the bus and, with ``--sync``, the sync worker — as supervised threads of the single web
worker (``storehub serve`` on a small box, docs/architecture.md "Processes"): one Python process instead of two.

Each service is a :class:`Supervised` thread: when it dies with an error it is restarted with back-off (1 s doubling
to 30 s, back to 1 s after a minute up), as the master restarts a services *process*. The one-bus-per-hub and
one-sync-worker locks (``bus.lock``, ``sync.lock``) are ``flock`` s of this process: a worker that dies (crash,
``SIGKILL`` by gunicorn's timeout) releases them, the replacement worker takes them on its first attempt or, while
the old worker still drains (a ``HUP`` reload), on a later one. When the worker exits, :meth:`Services.stop` ends
both (the bus records the stop in its heartbeat, so ``/api/v1/health`` says ``down`` until the next worker's bus
beats)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("storehub.services")

# The sync worker lives in the ``sync`` package, which the hub never imports by name (import contracts in
# pyproject.toml); like ``hub.cli.SYSTEM_COMMANDS`` the hub names it and loads it only when configured to run it.
SYNC_IN_PROCESS = "sync.worker:run_in_process"


class Supervised:
    """``target(stop)`` on a daemon thread, restarted with back-off when it raises (or exits: ``SystemExit``)
    before ``stop`` is set. A target that returns without being stopped has finished on purpose and is not
    restarted (as a services process that exits 0)."""

    def __init__(
        self, name: str, target: Callable[[threading.Event], object], *, max_delay: float = 30.0, grace: float = 10.0
    ):
        self.name, self.target, self.max_delay, self.grace = name, target, max_delay, grace
        self.starts = 0
        self.failures = 0
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"service-{name}", daemon=True)

    def start(self) -> Supervised:
        self._thread.start()
        return self

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        delay = 1.0
        while not self.stopping.is_set():
            began = time.monotonic()
            self.starts += 1
            try:
                self.target(self.stopping)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a service must not take the web down
                if self.stopping.is_set():
                    return
                self.failures += 1
                if time.monotonic() - began > 60:
                    delay = 1.0
                if isinstance(exc, SystemExit):
                    log.error("services: %s stopped (%s); restarting in %.0fs", self.name, exc, delay)
                else:
                    log.exception("services: %s failed; restarting in %.0fs", self.name, delay)
                if self.stopping.wait(delay):
                    return
                delay = min(delay * 2, self.max_delay)
                continue
            if not self.stopping.is_set():
                log.warning("services: %s finished; not restarting it", self.name)
            return

    def stop(self, timeout: float | None = None) -> None:
        """Stop it and wait up to ``timeout`` (default ``grace``) for the target to return."""
        self.stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self.grace if timeout is None else timeout)


class Services:
    """The services one web worker runs: the bus (when a broker is set) and the sync worker (``sync``)."""

    def __init__(self, data_dir: Path, mqtt_url: str | None, *, sync: bool, api_port: int = 8000):
        self.data_dir, self.mqtt_url, self.sync, self.api_port = Path(data_dir), mqtt_url, sync, api_port
        self.threads: list[Supervised] = []

    def start(self) -> Services:
        if self.mqtt_url:
            self.threads.append(Supervised("bus", self._bus).start())
        if self.sync:
            # a stop abandons a step hung on a request (as `storehub sync run` does after its grace): the cursor
            # only ever moves after an acknowledgement
            self.threads.append(Supervised("sync worker", self._sync, grace=1.0).start())
        return self

    def _bus(self, stop: threading.Event) -> None:
        import os

        from hub.bus.cli import _resolve_url  # the broker URL exactly as `storehub bus` resolves it
        from hub.bus.runner import run

        assert self.mqtt_url is not None
        url = _resolve_url(self.data_dir, self.mqtt_url)
        run(
            self.data_dir,
            url,
            advertise=os.environ.get("STOREHUB_ADVERTISE_ADDRESS") or None,
            api_port=self.api_port,
            stop=stop,
        )

    def _sync(self, stop: threading.Event) -> None:
        from hub.domain import load

        load(SYNC_IN_PROCESS)(self.data_dir, stop)

    def stop(self) -> None:
        """Both stopped at once; the bus is given the time to record its stop in the heartbeat."""
        for t in self.threads:
            t.stopping.set()
        for t in reversed(self.threads):
            t.stop()

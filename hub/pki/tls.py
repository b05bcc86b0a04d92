"""What a TLS server process needs from the store certificates: an SSL context that follows renewals without a
restart, and the renewal check run at start and daily while serving.

gunicorn asks its ``ssl_context`` hook for a context on every new connection. :class:`ContextCache` answers
with one context built from ``hub.pem`` and builds a new one only when the file changes (a renewal replaces it
with one atomic rename), so a renewed certificate is served from the next connection on and a handshake does
not re-read and re-parse the key every time.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.pki import workflow

log = logging.getLogger(__name__)

DAY_S = 24 * 3600.0


class ContextCache:
    """A server SSL context for ``pem`` (key and certificate in one file), rebuilt when the file changes.

    Callable as gunicorn's ``ssl_context(config, default_ssl_context_factory)`` hook."""

    def __init__(self, pem: Path):
        self.pem = Path(pem)
        self._stamp: tuple[int, int, int] | None = None
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def context(self) -> ssl.SSLContext:
        st = os.stat(self.pem)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp or self._context is None:
                ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                ctx.load_cert_chain(str(self.pem))
                ctx.set_alpn_protocols(["http/1.1"])
                self._context, self._stamp = ctx, stamp
            return self._context

    def __call__(self, config: Any, default_ssl_context_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        return self.context()


class Renewer:
    """Runs :func:`hub.pki.workflow.check` every ``interval_s`` (a day) in a daemon thread of the serving process, so an address
    the DHCP server changed or a certificate near its end is fixed without anyone restarting the hub."""

    def __init__(
        self,
        data_dir: Path,
        store_id: str,
        *,
        interval_s: float = DAY_S,
        names: Callable[[list[str]], list[str]] | None = None,
    ):
        self.data_dir, self.store_id, self.interval_s, self.names = data_dir, store_id, interval_s, names
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Renewer:
        self._thread = threading.Thread(target=self._loop, name="storehub-cert-renewal", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                workflow.check(self.data_dir, self.store_id, names=self.names)
            except Exception:  # a failed renewal must not stop serving: the current certificate stays valid
                log.exception("certificate renewal check failed; trying again in %.0f s", self.interval_s)

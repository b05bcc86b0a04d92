"""A serial device on a pseudo-terminal: the agent opens the slave path with pyserial like a real port."""

from __future__ import annotations

import logging
import os
import select
import threading
import tty
from pathlib import Path

log = logging.getLogger(__name__)


class PtyDevice:
    def __init__(self, link: str | Path | None = None):
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: bytes as a UART carries them
        self.slave_path = os.ttyname(self._slave)
        self.link = Path(link) if link else None
        if self.link:
            self.link.parent.mkdir(parents=True, exist_ok=True)
            if self.link.is_symlink() or self.link.exists():
                self.link.unlink()
            self.link.symlink_to(self.slave_path)
        self.received = bytearray()  # every byte the host sent, for byte-for-byte checks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wlock = threading.Lock()

    @property
    def path(self) -> str:
        return str(self.link) if self.link else self.slave_path

    def start(self) -> PtyDevice:
        self._thread = threading.Thread(target=self._loop, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.link and self.link.is_symlink():
            self.link.unlink()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def write(self, data: bytes) -> None:
        with self._wlock:
            os.write(self.master, data)

    def on_bytes(self, data: bytes) -> None:  # pragma: no cover - subclasses
        pass

    def tick(self) -> None:
        """Called about every 50 ms (unsolicited output, e.g. a scanner's scans)."""

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([self.master], [], [], 0.05)
            except (OSError, ValueError):
                return
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    continue
                if data:
                    self.received += data
                    try:
                        self.on_bytes(data)
                    except Exception:  # noqa: BLE001 - a simulator bug must show, not kill the thread
                        log.exception("simulator failed on %r", data)
            self.tick()


class EchoDevice(PtyDevice):
    """A device that echoes every byte (a modem with echo on): must never be taken for a scale."""

    def on_bytes(self, data: bytes) -> None:
        self.write(data)

"""A serial/CDC scanner on a pty: sends codes (AIM prefix, GS intact) each ended by CR LF."""

from __future__ import annotations

import threading
import time

from devices.sim.pty import PtyDevice


class SerialScannerSim(PtyDevice):
    def __init__(
        self, *, link=None, codes: list[str] | None = None, interval_s: float | None = None, suffix: bytes = b"\r\n"
    ):
        super().__init__(link)
        self.codes = list(codes or [])
        self.interval_s = interval_s
        self.suffix = suffix
        self._next = time.monotonic() + (interval_s or 0)
        self._i = 0

    def scan(self, code: str | bytes) -> None:
        data = code.encode("utf-8") if isinstance(code, str) else code
        self.write(data + self.suffix)

    def tick(self) -> None:
        if self.interval_s and self.codes and time.monotonic() >= self._next:
            self.scan(self.codes[self._i % len(self.codes)])
            self._i += 1
            self._next = time.monotonic() + self.interval_s


def run(link: str, codes: list[str], interval_s: float) -> None:
    sim = SerialScannerSim(link=link, codes=codes, interval_s=interval_s).start()
    print(f"serial scanner simulator on {sim.slave_path} (link {link}), a scan every {interval_s}s", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()

"""A scale on a pty speaking MT-SICS or Toledo 8217, byte for byte as in the protocol reference."""

from __future__ import annotations

import logging
import threading
import time

from devices.sim.pty import PtyDevice

log = logging.getLogger(__name__)


class ScaleSim(PtyDevice):
    def __init__(
        self, protocol: str = "mt-sics", *, link=None, capacity_g: int = 15_000, serial_no: str = "B021002593"
    ):
        super().__init__(link)
        if protocol not in ("mt-sics", "toledo-8217"):
            raise ValueError(f"unknown scale protocol {protocol!r}")
        self.protocol = protocol
        self.capacity_g = capacity_g
        self.serial_no = serial_no
        self.gross_g = 0
        self.zero_offset_g = 0
        self.tare_g = 0
        self.motion = False
        self._line = b""
        self._echo = False
        self.lock = threading.Lock()

    # ------------------------------------------------------------ test controls
    def place(self, grams: int, *, motion: bool = False) -> None:
        with self.lock:
            self.gross_g = grams
            self.motion = motion

    def settle(self) -> None:
        with self.lock:
            self.motion = False

    @property
    def displayed_g(self) -> int:
        return self.gross_g - self.zero_offset_g - self.tare_g

    # ------------------------------------------------------------------ wire
    def on_bytes(self, data: bytes) -> None:
        if self.protocol == "mt-sics":
            self._line += data
            while b"\r\n" in self._line:
                cmd, self._line = self._line.split(b"\r\n", 1)
                self.write(self._sics(cmd.strip()))
        else:
            for b in data:
                out = self._8217(bytes([b]))
                if out:
                    self.write(out)

    def _sics_value(self, cmd: str, stability: str, grams: int) -> bytes:
        return f"{cmd} {stability} {grams / 1000:>10.3f} kg\r\n".encode("ascii")

    def _sics(self, cmd: bytes) -> bytes:
        with self.lock:
            net = self.displayed_g
            over = self.gross_g - self.zero_offset_g > self.capacity_g
            under = self.gross_g - self.zero_offset_g < -200
            if cmd in (b"S", b"SI"):
                # both answer with the response id "S" (MT-SICS: SI → "S D …" while moving)
                if over:
                    return b"S +\r\n"
                if under:
                    return b"S -\r\n"
                if cmd == b"S" and self.motion:
                    return b"S I\r\n"
                return self._sics_value("S", "D" if self.motion else "S", net)
            if cmd == b"Z":
                if self.motion:
                    return b"Z I\r\n"
                if abs(self.gross_g - self.zero_offset_g) > self.capacity_g // 50:
                    return b"Z +\r\n" if self.gross_g > self.zero_offset_g else b"Z -\r\n"
                self.zero_offset_g = self.gross_g
                self.tare_g = 0
                return b"Z A\r\n"
            if cmd == b"T":
                if self.motion:
                    return b"T I\r\n"
                if over:
                    return b"T +\r\n"
                self.tare_g = self.gross_g - self.zero_offset_g
                return self._sics_value("T", "S", self.tare_g)
            if cmd == b"TAC":
                self.tare_g = 0
                return b"TAC A\r\n"
            if cmd == b"I4":
                return f'I4 A "{self.serial_no}"\r\n'.encode()
            return b"ES\r\n"

    def _status_8217(self) -> int | None:
        bits = 0
        if self.motion:
            bits |= 1
        if self.gross_g - self.zero_offset_g > self.capacity_g:
            bits |= 2
        if self.displayed_g < 0:
            bits |= 4  # the 8217 weight record has no sign: below zero is a status
        return bits

    def _8217(self, b: bytes) -> bytes:
        with self.lock:
            if self._echo:
                if b == b"F":
                    self._echo = False
                    return b""
                return b
            if b == b"E":
                self._echo = True
                return b"\x02E\r"
            if b == b"W":
                bits = self._status_8217()
                if bits:
                    return b"\x02?" + bytes([0x40 | bits]) + b"\r"
                net = self.displayed_g
                return b"\x02" + f"{net / 1000:06.3f}".encode() + (b"N" if self.tare_g else b"") + b"\r"
            if b == b"Z":
                if not self.motion and abs(self.gross_g - self.zero_offset_g) <= self.capacity_g // 50:
                    self.zero_offset_g = self.gross_g
                    self.tare_g = 0
                return b""
            if b == b"T":
                if not self.motion:
                    self.tare_g = self.gross_g - self.zero_offset_g
                return b""
            if b == b"C":
                self.tare_g = 0
                return b""
            return b""  # 8217 ignores unknown bytes


def run(protocol: str, link: str, script: list[tuple[int, float]] | None = None) -> None:
    """``storehub sim scale``: a scale whose load changes now and then (customers placing produce)."""
    import random

    sim = ScaleSim(protocol, link=link).start()
    print(f"{protocol} scale simulator on {sim.slave_path}" + (f" (link {link})" if link else ""), flush=True)
    weights = [0, 1234, 0, 530, 0, 2875, 0, 412]
    try:
        i = 0
        while True:
            g = weights[i % len(weights)] + (random.randint(-3, 3) if weights[i % len(weights)] else 0)
            sim.place(g, motion=True)
            time.sleep(1.0)
            sim.settle()
            time.sleep(6.0)
            i += 1
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()

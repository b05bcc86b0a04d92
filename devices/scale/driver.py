"""Talk to one scale over a serial port using a :class:`ScaleProtocol` table."""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time

import serial

from devices.scale.protocols import PROTOCOLS, Reading, ScaleProtocol, frame, parse_reply

log = logging.getLogger(__name__)


class ScaleError(Exception):
    pass


def open_port(path: str, protocol: ScaleProtocol, timeout: float = 0.5) -> serial.Serial:
    kwargs = protocol.serial.kwargs()
    if os.path.realpath(path).startswith("/dev/pts/") and (
        kwargs["parity"] != serial.PARITY_NONE or kwargs["bytesize"] != serial.EIGHTBITS
    ):
        # a pseudo-terminal (simulators, serial-over-network bridges) has no character framing and Linux
        # refuses 7-bit/parity settings on it; the bytes themselves are the same
        log.info("%s is a pseudo-terminal: opening it 8N1 instead of %s", path, protocol.serial)
        kwargs.update(bytesize=serial.EIGHTBITS, parity=serial.PARITY_NONE)
    return serial.Serial(path, timeout=timeout, write_timeout=timeout, **kwargs)


class ScaleDriver:
    def __init__(
        self, ser: serial.Serial, protocol: ScaleProtocol, *, unit: str | None = None, reply_timeout: float = 1.0
    ):
        self.ser = ser
        self.protocol = protocol
        self.unit = unit
        self.reply_timeout = reply_timeout
        self.lock = threading.Lock()

    @classmethod
    def open(cls, path: str, protocol: ScaleProtocol | str, **kw) -> ScaleDriver:
        proto = PROTOCOLS[protocol] if isinstance(protocol, str) else protocol
        return cls(open_port(path, proto), proto, **kw)

    def close(self) -> None:
        self.ser.close()

    # ------------------------------------------------------------------ wire
    def send(self, data: bytes) -> None:
        self.ser.reset_input_buffer()
        self.ser.write(data)
        self.ser.flush()

    def read_reply(self, timeout: float | None = None) -> bytes:
        """One reply: from ``reply_start`` (bytes before it are line noise) up to ``reply_end``."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.reply_timeout)
        buf = b""
        while time.monotonic() < deadline:
            chunk = self.ser.read(1)
            if not chunk:
                continue
            reply, buf = frame(self.protocol, buf + chunk)  # one byte at a time: nothing is left over
            if reply is not None:
                return reply
            if len(buf) > 256:
                raise ScaleError(f"reply too long without terminator: {buf[:40]!r}…")
        raise ScaleError(f"no reply from the scale within the timeout (got {buf!r})")

    def command(self, name: str) -> Reading:
        with self.lock:
            self.send(self.protocol.commands[name])
            if name in ("zero", "tare", "clear") and not self.protocol.acknowledges:
                # no direct acknowledgement in this protocol: confirm by reading the state back
                time.sleep(0.05)
                self.send(self.protocol.commands["weigh_now"])
            raw = self.read_reply()
        return parse_reply(self.protocol, raw, self.unit)

    # --------------------------------------------------------------- actions
    def weigh(self, *, wait_stable: bool = False) -> Reading:
        return self.command("weigh" if wait_stable else "weigh_now")

    def _checked(self, name: str) -> Reading:
        r = self.command(name)
        if r.kind in ("status", "error") and r.error:
            raise ScaleError(r.error)
        if r.kind == "weight" and r.stable is False and not self.protocol.acknowledges:
            raise ScaleError("scale in motion")
        return r

    def zero(self) -> Reading:
        return self._checked("zero")

    def tare(self) -> Reading:
        return self._checked("tare")

    def clear_tare(self) -> Reading:
        return self._checked("clear")

    def serial_number(self) -> str | None:
        """The scale's serial number where the protocol can ask for it (MT-SICS ``I4``)."""
        import re

        if not self.protocol.identify_command:
            return None
        with self.lock:
            self.send(self.protocol.identify_command)
            try:
                raw = self.read_reply()
            except ScaleError:
                return None
        m = re.match(self.protocol.identify_reply, raw)
        return m.group("serial").decode("ascii", "replace") if m else None

    # ----------------------------------------------------------------- probe
    def probe(self, timeout: float = 1.0) -> bool:
        """True only for a well-formed, protocol-specific answer (an echo or other chatter never matches)."""
        import re

        # digits only: in 8217 echo mode a letter such as F (end of echo) would be taken as a command
        nonce = f"{secrets.randbelow(10**6):06d}".encode()
        cmd = self.protocol.probe_command.replace(b"{nonce}", nonce)
        want = re.compile(self.protocol.probe_reply.replace(b"{nonce}", re.escape(nonce)), re.S)
        with self.lock:
            self.ser.reset_input_buffer()
            self.ser.write(cmd)
            self.ser.flush()
            deadline = time.monotonic() + timeout
            buf = b""
            while time.monotonic() < deadline:
                buf += self.ser.read(64)
                if want.match(buf):
                    break
                if len(buf) > 128:
                    break
            ok = bool(want.match(buf))
            if self.protocol.probe_end:
                self.ser.write(self.protocol.probe_end)
                self.ser.flush()
        if not ok:
            log.debug("%s probe on %s: no match (%r)", self.protocol.name, self.ser.port, buf)
            return False
        # second, independent check: a weight request must get a reply of this protocol's shape
        time.sleep(0.05)
        try:
            r = self.weigh()
        except ScaleError:
            return False
        return r.kind in ("weight", "status")


def detect(
    paths: list[str], protocols: list[ScaleProtocol] | None = None, timeout: float = 1.0
) -> tuple[str, ScaleProtocol] | None:
    """Find the first port that answers one protocol's probe like a scale of that protocol."""
    for path in paths:
        for proto in protocols or list(PROTOCOLS.values()):
            try:
                drv = ScaleDriver.open(path, proto, reply_timeout=timeout)
            except (serial.SerialException, OSError) as exc:
                log.info("cannot open %s: %s", path, exc)
                break
            try:
                if drv.probe(timeout):
                    log.info("found a %s scale on %s", proto.name, path)
                    return path, proto
            except (serial.SerialException, OSError) as exc:
                log.info("probe %s on %s failed: %s", proto.name, path, exc)
            finally:
                drv.close()
    return None

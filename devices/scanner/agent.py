"""``storehub agent scanner``: keyboard-wedge (evdev) or serial/CDC scanner → ``evt/scan``.

Options:
  mode           ``evdev`` | ``serial``
  input          evdev: /dev/input/eventN or by-id path, or ``name:<part of the device name>``
  layout         evdev: the keyboard layout the scanner is set to (us, uk, de, be, fr)
  port, baudrate serial: the port (default 9600 8N1)
  gs_substitute  printable character the scanner sends instead of GS (e.g. ``|``)
"""

from __future__ import annotations

import serial

from devices.common.agent import DeviceAgent
from devices.common.config import AgentConfig
from devices.scanner.codes import ScanError, to_scan_event
from devices.scanner.layouts import LAYOUTS
from devices.scanner.serial_reader import LineSplitter
from devices.scanner.wedge import WedgeDecoder, find_devices, iter_codes, open_device


class ScannerAgent(DeviceAgent):
    kind = "scanner"

    def __init__(self, cfg: AgentConfig):
        super().__init__(cfg, capabilities=["scan"])
        o = cfg.options
        self.mode = o.get("mode", "serial" if o.get("port") else "evdev")
        if self.mode not in ("evdev", "serial"):
            raise ValueError(f"scanner mode must be evdev or serial, not {self.mode!r}")
        self.layout = o.get("layout", "us")
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown keyboard layout {self.layout!r}; known: {sorted(LAYOUTS)}")
        self.gs_substitute = o.get("gs_substitute") or None
        self.model = f"{self.mode} scanner"
        self.rejected = 0

    def handle_code(self, raw: str) -> dict | None:
        try:
            data = to_scan_event(raw, gs_substitute=self.gs_substitute)
        except ScanError as exc:
            self.rejected += 1
            self.log.warning("scan ignored: %s", exc)
            return None
        self.log.info("scan %r", data["code"])
        return self.publish_event("scan", data)

    # ------------------------------------------------------------------ loops
    def run(self) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                if self.mode == "serial":
                    self._run_serial()
                else:
                    self._run_evdev()
                backoff = 1.0
            except (OSError, serial.SerialException) as exc:
                self.set_state(error=f"scanner unavailable: {exc}")
                self.log.warning("scanner unavailable (%s); retrying in %.0fs", exc, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _run_serial(self) -> None:
        o = self.cfg.options
        with serial.Serial(o["port"], baudrate=int(o.get("baudrate", 9600)), timeout=0.2) as port:
            self.set_state(error=None, port=o["port"])
            splitter = LineSplitter()
            while not self.stopping.is_set():
                data = port.read(256)
                if data:
                    for code in splitter.feed(data):
                        self.handle_code(code)

    def _resolve_input(self) -> str:
        spec = self.cfg.options.get("input", "")
        if spec.startswith("name:"):
            found = find_devices(spec[5:])
            if not found:
                raise OSError(f"no input device named like {spec[5:]!r}")
            return found[0]
        if not spec:
            raise OSError("no evdev input configured (option input=/dev/input/by-id/... or name:...)")
        return spec

    def _run_evdev(self) -> None:
        import select

        dev = open_device(self._resolve_input(), grab=True)
        self.set_state(error=None, input=dev.path)
        decoder = WedgeDecoder(self.layout)
        try:
            while not self.stopping.is_set():
                r, _, _ = select.select([dev.fd], [], [], 0.5)
                if not r:
                    continue
                for code in iter_codes(dev.read(), decoder):
                    self.handle_code(code)
        finally:
            try:
                dev.ungrab()
            except OSError:
                pass
            dev.close()


def run_events(agent: ScannerAgent, events, layout: str | None = None) -> list[dict]:
    """Feed an event iterator (e.g. evdev InputEvents) through the agent's decoder; returns the events."""
    decoder = WedgeDecoder(layout or agent.layout)
    out = []
    for code in iter_codes(events, decoder):
        ev = agent.handle_code(code)
        if ev:
            out.append(ev)
    return out

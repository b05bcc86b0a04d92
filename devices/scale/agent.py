"""``storehub agent scale``: publish stable weights, answer tare/zero.

Options (``[options]`` in the config file or CLI):
  port          serial path, or ``auto`` to probe ``ports`` (default ``auto``)
  protocol      ``mt-sics`` | ``toledo-8217`` | ``auto`` (default ``auto``: probe each)
  ports         glob patterns probed by ``auto`` (default /dev/serial/by-id/*, /dev/ttyUSB*, /dev/ttyACM*)
  poll_s        how often to read the weight (default 0.25)
  min_change_g  smallest change of a stable weight worth an event (default 2; decimals allowed)

A weight event carries ``grams`` (whole grams, for consumers that count in grams) and ``mg``, the weight at the
resolution the scale reported (a 2.486 g reading is 2486 mg, not 2 g); a tare's result ``tare_grams`` and
``tare_mg`` alike.
"""

from __future__ import annotations

import glob

import serial

from devices.common.agent import CommandError, DeviceAgent
from devices.common.config import AgentConfig
from devices.scale.driver import ScaleDriver, ScaleError, detect
from devices.scale.protocols import PROTOCOLS, weight_event

DEFAULT_PORTS = ["/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*"]


class ScaleAgent(DeviceAgent):
    kind = "scale"

    def __init__(self, cfg: AgentConfig):
        super().__init__(cfg, capabilities=["weight", "tare", "zero"])
        o = cfg.options
        self.port = o.get("port", "auto")
        self.protocol_name = o.get("protocol", "auto")
        if self.protocol_name != "auto" and self.protocol_name not in PROTOCOLS:
            raise ValueError(f"unknown scale protocol {self.protocol_name!r}; known: {sorted(PROTOCOLS)}")
        self.port_globs = o.get("ports", DEFAULT_PORTS)
        self.poll_s = float(o.get("poll_s", 0.25))
        self.min_change_mg = int(round(float(o.get("min_change_g", 2)) * 1000))
        self.driver: ScaleDriver | None = None
        self.last_stable: int | None = None  # mg
        # cmd/tare {"clear": true} clears the tare instead of taking one
        self.on_command("tare", lambda body: self._act("clear_tare" if body.get("clear") else "tare"))
        self.on_command("zero", lambda body: self._act("zero"))

    # --------------------------------------------------------------- hardware
    def _connect(self) -> bool:
        protocols = list(PROTOCOLS.values()) if self.protocol_name == "auto" else [PROTOCOLS[self.protocol_name]]
        if self.port == "auto":
            paths = sorted({p for g in self.port_globs for p in glob.glob(g)})
        else:
            paths = [self.port]
        if self.port == "auto" or self.protocol_name == "auto":
            found = detect(paths, protocols)
            if not found:
                self.set_state(error=f"no scale answered on {', '.join(paths) or 'any port'}")
                return False
            path, proto = found
        else:
            path, proto = self.port, protocols[0]
        try:
            self.driver = ScaleDriver.open(path, proto)
        except (serial.SerialException, OSError) as exc:
            self.set_state(error=f"cannot open {path}: {exc}")
            return False
        self.model = proto.name
        self.log.info("scale on %s speaking %s", path, proto.name)
        serial_no = self.driver.serial_number()
        self.set_state(error=None, port=path, protocol=proto.name, serial=serial_no)
        return True

    def close_device(self) -> None:
        if self.driver:
            self.driver.close()
            self.driver = None

    def _lost(self, exc: Exception) -> None:
        self.log.warning("scale connection lost: %s", exc)
        self.close_device()
        self.set_state(error=f"scale disconnected: {exc}")

    # -------------------------------------------------------------- commands
    def _need_driver(self) -> ScaleDriver:
        if self.driver is None:
            raise CommandError("scale not connected")
        return self.driver

    def _act(self, action: str) -> dict:
        drv = self._need_driver()
        try:
            r = getattr(drv, action)()
        except ScaleError as exc:
            raise CommandError(f"{action} refused: {exc}") from None
        except (serial.SerialException, OSError) as exc:
            self._lost(exc)
            raise CommandError(f"scale disconnected: {exc}") from None
        self.last_stable = None  # publish the next stable weight whatever it is
        out = {"action": action}
        if r.kind == "tare" and r.mg is not None:
            out["tare_grams"] = r.grams
            out["tare_mg"] = r.mg
        return out

    # ------------------------------------------------------------------ loop
    def poll_once(self) -> None:
        drv = self._need_driver()
        r = drv.weigh()
        if r.kind == "weight" and r.mg is not None:
            if self.state.get("error"):
                self.set_state(error=None)
            if r.stable and (self.last_stable is None or abs(r.mg - self.last_stable) >= self.min_change_mg):
                self.publish_event("weight", weight_event(r))
                self.last_stable = r.mg
        elif r.error:
            if self.state.get("error") != r.error:
                self.log.warning("scale reports: %s", r.error)
            self.set_state(error=r.error)

    def run(self) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            if self.driver is None:
                if not self._connect():
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                backoff = 1.0
            try:
                self.poll_once()
            except ScaleError as exc:
                self.log.debug("no reply: %s", exc)
                self.set_state(error=str(exc))
            except (serial.SerialException, OSError) as exc:
                self._lost(exc)
            self.stopping.wait(self.poll_s)

"""Where an RFID agent's raw reads come from: the interface every source implements (LLRP, vendor MQTT,
the R700 HTTP stream; see ``devices.rfid.agent`` and ``devices.rfid.llrp``)."""

from __future__ import annotations

from collections.abc import Callable

from hub.protocol.rfid_formats import TagRead


class Source:
    """Where raw reads come from. Subclasses call ``self.emit(reads)`` and ``self.heartbeat(hb)``."""

    model = "fixed RFID reader"

    def bind(self, emit: Callable[[list[TagRead]], None], heartbeat: Callable, error: Callable) -> None:
        self.emit, self.heartbeat, self.error = emit, heartbeat, error

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def start_inventory(self) -> None: ...
    def stop_inventory(self) -> None: ...

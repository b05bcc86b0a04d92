"""LLRP readers through sllurp (GPL-3.0: an optional extra, ``pip install storehub[llrp]``).

sllurp is imported only when an LLRP source starts. Its default report content
leaves out the antenna, peak RSSI and first-seen time, so the tag content
selector asks for every field the count needs. sllurp's own reconnect gives up
after a few tries; this source keeps trying forever with exponential back-off
(1 s doubling to 60 s) and reports the outage as the agent's ``error``.
"""

from __future__ import annotations

import logging
import threading

from hub import rfid_formats

from .agent import Source

log = logging.getLogger("storehub.agent.rfid.llrp")

TAG_CONTENT = {
    "EnableROSpecID": False, "EnableSpecIndex": False, "EnableInventoryParameterSpecID": False,
    "EnableAntennaID": True, "EnableChannelIndex": False, "EnablePeakRSSI": True,
    "EnableFirstSeenTimestamp": True, "EnableLastSeenTimestamp": True, "EnableTagSeenCount": True,
    "EnableAccessSpecID": False,
}


def import_sllurp():
    try:
        from sllurp import llrp  # noqa: PLC0415 - optional, GPL: only when asked for
    except ImportError as exc:
        raise RuntimeError("LLRP needs the optional extra: pip install 'storehub[llrp]' (sllurp)") from exc
    return llrp


class LlrpSource(Source):
    model = "LLRP reader"

    def __init__(self, host: str, *, port: int = 5084, antennas: list[int] | None = None,
                 tx_power_dbm: float | None = None, report_every_n_tags: int = 200):
        self.host, self.port = host, port
        self.antennas = antennas or [1]
        self.tx_power_dbm = tx_power_dbm
        self.report_every_n_tags = report_every_n_tags
        self._stop = threading.Event()
        self._inventory = threading.Event()
        self._inventory.set()
        self._thread: threading.Thread | None = None
        self.reader = None
        self.reports = 0

    def config(self) -> dict:
        cfg = {"antennas": self.antennas, "tag_content_selector": dict(TAG_CONTENT), "reconnect": True,
               "report_every_n_tags": self.report_every_n_tags, "start_inventory": True}
        if self.tx_power_dbm is not None:
            cfg["tx_power_dbm"] = self.tx_power_dbm
        return cfg

    def on_report(self, _reader, tags) -> None:
        """sllurp's tag report callback: a list of dicts (see protocols.md)."""
        self.reports += 1
        parsed = rfid_formats.parse_llrp(tags)
        if parsed.errors:
            log.warning("LLRP report: %d bad tags: %s", len(parsed.errors), parsed.errors[:2])
        if parsed.reads and self._inventory.is_set():
            self.emit(parsed.reads)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="llrp", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                llrp = import_sllurp()
                reader = llrp.LLRPReaderClient(self.host, self.port, llrp.LLRPReaderConfig(self.config()))
                reader.add_tag_report_callback(self.on_report)
                reader.connect()
                self.reader = reader
                self.error(None)
                delay = 1.0
                while not self._stop.is_set() and reader.is_alive():
                    reader.join(0.5)
            except Exception as exc:  # noqa: BLE001 - connection refused, reset, sllurp errors: retry
                log.warning("LLRP %s:%d: %s", self.host, self.port, exc)
                self.error(f"LLRP {self.host}:{self.port}: {exc}"[:300])
            finally:
                self._disconnect()
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, 60.0)

    def _disconnect(self) -> None:
        r, self.reader = self.reader, None
        if r is not None:
            try:
                r.disconnect()
            except Exception:  # noqa: BLE001
                pass

    def stop(self) -> None:
        self._stop.set()
        self._disconnect()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def start_inventory(self) -> None:
        self._inventory.set()

    def stop_inventory(self) -> None:
        self._inventory.clear()

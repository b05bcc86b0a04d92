"""LLRP readers (TCP 5084) through our own small LLRP client (:mod:`devices.rfid.llrp_codec`, MIT).

One connection at a time, owned by one thread:

1. connect; the reader's first message must be READER_EVENT_NOTIFICATION with ConnectionAttemptEvent
   ``Success`` (anything else — e.g. another client holds the reader — is an error and a retry);
2. SET_READER_CONFIG with a periodic KeepaliveSpec (the reader sends KEEPALIVE, we answer KEEPALIVE_ACK; no
   byte for three periods means a dead link, even when TCP has not noticed);
3. DELETE_ROSPEC 0 (whatever a previous client left), ADD_ROSPEC (our ROSpec: every antenna asked for, a
   TagReportContentSelector with antenna, peak RSSI, first/last seen and seen count — the default report
   content leaves them out), ENABLE_ROSPEC, START_ROSPEC;
4. RO_ACCESS_REPORT → tag dicts → :func:`hub.protocol.rfid_formats.parse_llrp` → the agent's folder.

A dropped or refused connection, a malformed frame or a failed request is reported as the agent's
``error`` and retried forever with exponential back-off (``retry_min_s`` doubling to ``retry_max_s``).
``cmd/stop_inventory`` sends STOP_ROSPEC (and drops reports still in flight), ``cmd/start_inventory``
START_ROSPEC. Transmit power is left to the reader's own configuration.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from devices.rfid import llrp_codec as C
from devices.rfid.source import Source
from hub.protocol import rfid_formats

log = logging.getLogger("storehub.agent.rfid.llrp")

ROSPEC_ID = 0x5348  # 'SH': ours, so DELETE_ROSPEC of a stale one never needs a lookup
TAG_CONTENT = {
    "EnableROSpecID": False,
    "EnableSpecIndex": False,
    "EnableInventoryParameterSpecID": False,
    "EnableAntennaID": True,
    "EnableChannelIndex": False,
    "EnablePeakRSSI": True,
    "EnableFirstSeenTimestamp": True,
    "EnableLastSeenTimestamp": True,
    "EnableTagSeenCount": True,
    "EnableAccessSpecID": False,
}
HEARTBEAT_EVERY_S = 60.0  # a keepalive refreshes the registry's reader_heartbeat at most this often


class ReaderClosed(ConnectionError):
    pass


def report_reads(body: bytes, now_us: int) -> tuple[list[rfid_formats.TagRead], list[str]]:
    """An RO_ACCESS_REPORT body → (reads, errors), exactly as the agent takes them: a reader without a UTC
    clock leaves FirstSeen out, and the read is stamped ``now_us`` (its arrival)."""
    tags, errors = C.ro_access_report(body)
    for t in tags:
        t.setdefault("FirstSeenTimestampUTC", now_us)
    parsed = rfid_formats.parse_llrp(tags)
    return parsed.reads, errors + parsed.errors


def event_heartbeat(body: bytes, now_ms: int) -> rfid_formats.Heartbeat | None:
    """A READER_EVENT_NOTIFICATION's AntennaEvents as a heartbeat (``antennas``: port → state), stamped with
    the reader's UTC timestamp when it sends one; None when the notification says nothing about antennas."""
    ev = C.reader_event(body)
    if not ev.get("antenna"):
        return None
    ts = ev["timestamp_us"] // 1000 if ev.get("timestamp_us") else now_ms
    return rfid_formats.Heartbeat(
        None,
        ts,
        {"antennas": {str(a["antenna"]): "connected" if a["connected"] else "disconnected" for a in ev["antenna"]}},
    )


class LlrpSource(Source):
    model = "LLRP reader"

    def __init__(
        self,
        host: str,
        *,
        port: int = 5084,
        antennas: list[int] | None = None,
        report_every_n_tags: int = 200,
        report_ms: int = 1000,
        keepalive_ms: int = 10_000,
        connect_timeout_s: float = 10.0,
        retry_min_s: float = 1.0,
        retry_max_s: float = 60.0,
    ):
        if not 1 <= report_ms <= 0xFFFFFFFF or not 0 <= report_every_n_tags <= 0xFFFF:
            raise ValueError("report_ms must be ≥ 1 and report_every_n_tags 0..65535")
        self.host, self.port = host, port
        self.antennas = antennas or [0]  # LLRP AntennaID 0 = every antenna
        if any(not 0 <= a <= 0xFFFF for a in self.antennas):
            raise ValueError("antenna ids are 0..65535 (0 = all)")
        self.report_every_n_tags, self.report_ms, self.keepalive_ms = report_every_n_tags, report_ms, keepalive_ms
        self.connect_timeout_s, self.retry_min_s, self.retry_max_s = connect_timeout_s, retry_min_s, retry_max_s
        self._stop = threading.Event()
        self._inventory = threading.Event()
        self._inventory.set()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._buf = b""
        self._next_id = 1
        self._last_heartbeat = 0.0
        self.connected = threading.Event()  # set while a session is established (tests, health)
        self.sessions = 0
        self.reports = 0
        self.bad_tags = 0

    # --- Source interface -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="llrp", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        sock = self._sock
        if sock is not None and self.connected.is_set():
            try:
                self._send(C.CLOSE_CONNECTION)
            except OSError:
                pass
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the reading thread
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def start_inventory(self) -> None:
        self._inventory.set()
        if self.connected.is_set():
            self._send(C.START_ROSPEC, C.u32(ROSPEC_ID))

    def stop_inventory(self) -> None:
        self._inventory.clear()
        if self.connected.is_set():
            try:
                self._send(C.STOP_ROSPEC, C.u32(ROSPEC_ID))
            except OSError as exc:  # the reads are dropped anyway; the next session will not start
                log.warning("STOP_ROSPEC not sent: %s", exc)

    # --- connection loop --------------------------------------------------------------------------------------

    def _loop(self) -> None:
        delay = self.retry_min_s
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                self._sock, self._buf = sock, b""
                self._session()
            except (OSError, C.LLRPError) as exc:
                if not self._stop.is_set():
                    log.warning("LLRP %s:%d: %s", self.host, self.port, exc)
                    self.error(f"LLRP {self.host}:{self.port}: {exc}"[:300])
            finally:
                if self.connected.is_set():
                    delay = self.retry_min_s  # it worked until now: retry soon
                self.connected.clear()
                sock, self._sock = self._sock, None
                if sock is not None:
                    sock.close()
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, self.retry_max_s)

    def _session(self) -> None:
        ev = self._await_connection_event()
        status = ev["connection_attempt"]
        if status != 0:
            raise C.LLRPError(f"reader refused the connection: {C.CONNECTION_ATTEMPT_STATUS.get(status, status)}")
        self._sock.settimeout(max(3 * self.keepalive_ms / 1000, 1.0))
        code, text = self._request(C.SET_READER_CONFIG, C.set_reader_config_keepalive(self.keepalive_ms))
        if code:
            log.warning("reader refused the keepalive (%d %s): a silent dead link shows only through TCP", code, text)
            self._sock.settimeout(None)
        code, text = self._request(C.DELETE_ROSPEC, C.u32(0))
        if code:
            log.info("DELETE_ROSPEC 0: %d %s", code, text)
        self._check(
            C.ADD_ROSPEC,
            self._request(
                C.ADD_ROSPEC,
                C.rospec(
                    ROSPEC_ID,
                    self.antennas,
                    report_every_n_tags=self.report_every_n_tags,
                    report_ms=self.report_ms,
                    content=TAG_CONTENT,
                ),
            ),
        )
        self._check(C.ENABLE_ROSPEC, self._request(C.ENABLE_ROSPEC, C.u32(ROSPEC_ID)))
        if self._inventory.is_set():
            self._check(C.START_ROSPEC, self._request(C.START_ROSPEC, C.u32(ROSPEC_ID)))
        self.sessions += 1
        self.connected.set()
        self.error(None)
        log.info("LLRP %s:%d: inventory running on antennas %s", self.host, self.port, self.antennas)
        while not self._stop.is_set():
            msg_type, msg_id, body = self._recv()
            if self._dispatch(msg_type, msg_id, body) == "closed":
                raise ReaderClosed("the reader closed the connection (ConnectionCloseEvent)")

    @staticmethod
    def _check(msg_type: int, result: tuple[int, str]) -> None:
        code, text = result
        if code:
            raise C.LLRPError(f"message type {msg_type} refused: status {code} {text}".strip())

    def _await_connection_event(self) -> dict:
        while True:
            msg_type, _id, body = self._recv()
            if msg_type == C.READER_EVENT_NOTIFICATION:
                ev = C.reader_event(body)
                if "connection_attempt" in ev:
                    return ev
            log.debug("before the connection event: message type %d ignored", msg_type)

    # --- framing ----------------------------------------------------------------------------------------------

    def _send(self, msg_type: int, body: bytes = b"") -> int:
        sock = self._sock
        if sock is None:
            raise OSError("not connected")
        with self._send_lock:
            msg_id, self._next_id = self._next_id, (self._next_id + 1) & 0xFFFFFFFF or 1
            sock.sendall(C.message(msg_type, body, msg_id))
        return msg_id

    def _recv(self) -> tuple[int, int, bytes]:
        while True:
            if len(self._buf) >= C.HEADER.size:
                _v, msg_type, length, msg_id = C.parse_header(self._buf[: C.HEADER.size])
                if len(self._buf) >= length:
                    body, self._buf = self._buf[C.HEADER.size : length], self._buf[length:]
                    return msg_type, msg_id, body
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError as exc:
                raise ReaderClosed(f"no message for {self._sock.gettimeout():.0f} s (keepalive missed)") from exc
            if not chunk:
                raise ReaderClosed("the reader closed the connection")
            self._buf += chunk

    def _request(self, msg_type: int, body: bytes) -> tuple[int, str]:
        """Send a request and read until its response, handling reports and keepalives meanwhile."""
        msg_id = self._send(msg_type, body)
        want = C.RESPONSE_OF[msg_type]
        while True:
            r_type, r_id, r_body = self._recv()
            if r_type == want and r_id == msg_id:
                return C.status(r_body)
            if r_type == C.ERROR_MESSAGE:
                code, text = C.status(r_body)
                raise C.LLRPError(f"reader ERROR_MESSAGE for type {msg_type}: {code} {text}".strip())
            if self._dispatch(r_type, r_id, r_body) == "closed":
                raise ReaderClosed("the reader closed the connection (ConnectionCloseEvent)")

    def _dispatch(self, msg_type: int, msg_id: int, body: bytes) -> str | None:
        if msg_type == C.RO_ACCESS_REPORT:
            self._on_report(body)
        elif msg_type == C.KEEPALIVE:
            self._send(C.KEEPALIVE_ACK)
            now = time.monotonic()
            if now - self._last_heartbeat >= HEARTBEAT_EVERY_S:
                self._last_heartbeat = now
                self.heartbeat(rfid_formats.Heartbeat(None, int(time.time() * 1000), {"llrp": "keepalive"}))
        elif msg_type == C.READER_EVENT_NOTIFICATION:
            ev = C.reader_event(body)
            for a in ev.get("antenna", []):
                log.warning("antenna %d %s", a["antenna"], "connected" if a["connected"] else "DISCONNECTED")
            hb = event_heartbeat(body, int(time.time() * 1000))
            if hb is not None:  # the registry learns the antenna's state (and alerts)
                self.heartbeat(hb)
            if ev.get("connection_close"):
                return "closed"
        elif msg_type in (C.START_ROSPEC_RESPONSE, C.STOP_ROSPEC_RESPONSE):  # from start/stop_inventory
            code, text = C.status(body)
            if code:
                log.warning("message %d: status %d %s", msg_type, code, text)
                self.error(f"LLRP inventory command refused: {code} {text}"[:300])
        elif msg_type == C.ERROR_MESSAGE:
            code, text = C.status(body)
            log.warning("reader ERROR_MESSAGE: %d %s", code, text)
        else:
            log.debug("LLRP message type %d ignored", msg_type)
        return None

    def _on_report(self, body: bytes) -> None:
        self.reports += 1
        reads, errors = report_reads(body, int(time.time() * 1_000_000))
        if errors:
            self.bad_tags += len(errors)
            log.warning("LLRP report: %d bad tags: %s", len(errors), errors[:2])
        if reads and self._inventory.is_set():
            self.emit(reads)

"""The LLRP source at its lowest layer: a real TCP server in the test speaks LLRP 1.0.1 binary framing.

The fake reader frames every byte itself (struct, by hand, as in the spec) — it shares no code with
``devices.rfid.llrp_codec`` — and one RO_ACCESS_REPORT is pinned as a hex string.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time

import pytest

from devices.common.config import AgentConfig
from devices.rfid import llrp_codec
from devices.rfid.agent import RfidAgent, make_source
from devices.rfid.llrp import LlrpSource
from hub.protocol.rfid_formats import TagRead

EPC = "3034257BF7194E4000001A85"
FIRST_US = 1_385_585_041_558_537
# RO_ACCESS_REPORT (type 61, version 1 → 0x043D), length 53, id 0; one TagReportData (TLV 240, length 43):
# EPC-96 (TV 13), AntennaID 2 (TV 1), PeakRSSI -52 (TV 6), FirstSeenTimestampUTC (TV 2),
# LastSeenTimestampUTC = first + 250 ms (TV 4), TagSeenCount 7 (TV 8).
PINNED_REPORT = bytes.fromhex(
    "043D000000350000000000F0002B8D3034257BF7194E4000001A8581000286CC820004EC2EA8354C09840004EC2EA8391C99880007"
)


# --- the fake reader: hand-framed LLRP ------------------------------------------------------------------------


def frame(msg_type: int, body: bytes = b"", msg_id: int = 0) -> bytes:
    return struct.pack("!HII", (1 << 10) | msg_type, 10 + len(body), msg_id) + body


def tlv(ptype: int, value: bytes) -> bytes:
    return struct.pack("!HH", ptype, 4 + len(value)) + value


def llrp_status(code: int = 0, text: str = "") -> bytes:
    t = text.encode()
    return tlv(287, struct.pack("!HH", code, len(t)) + t)


def connection_event(status: int = 0) -> bytes:
    return frame(63, tlv(246, tlv(128, struct.pack("!Q", FIRST_US)) + tlv(256, struct.pack("!H", status))))


def tag_report_data(epc_hex: str, *, antenna: int, rssi: int, count: int, first_us: int, epc96: bool = True) -> bytes:
    raw = bytes.fromhex(epc_hex)
    epc = (b"\x8d" + raw) if epc96 else tlv(241, struct.pack("!H", 8 * len(raw)) + raw)
    return tlv(
        240,
        epc
        + b"\x81"
        + struct.pack("!H", antenna)
        + b"\x86"
        + struct.pack("!b", rssi)
        + b"\x82"
        + struct.pack("!Q", first_us)
        + b"\x88"
        + struct.pack("!H", count),
    )


class FakeReader:
    """An LLRP reader on 127.0.0.1: the test drives it one step at a time."""

    def __init__(self):
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.srv.settimeout(10)
        self.port = self.srv.getsockname()[1]
        self.conn: socket.socket | None = None
        self.seen: list[tuple[int, int, bytes]] = []

    def accept(self) -> socket.socket:
        self.conn, _ = self.srv.accept()
        self.conn.settimeout(10)
        return self.conn

    def read(self) -> tuple[int, int, bytes]:
        head = self._exact(10)
        word, length, msg_id = struct.unpack("!HII", head)
        assert word >> 13 == 0 and (word >> 10) & 7 == 1, f"reserved bits / version wrong: {word:#06x}"
        msg = (word & 0x3FF, msg_id, self._exact(length - 10))
        self.seen.append(msg)
        return msg

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.conn.recv(n - len(out))
            if not chunk:
                raise ConnectionError("client closed")
            out += chunk
        return out

    def send(self, data: bytes) -> None:
        self.conn.sendall(data)

    def expect(self, msg_type: int, reply: int | None = None, status: int = 0) -> bytes:
        got_type, msg_id, body = self.read()
        assert got_type == msg_type, f"expected message {msg_type}, got {got_type}"
        if reply is not None:
            self.send(frame(reply, llrp_status(status, "" if not status else "nope"), msg_id))
        return body

    def handshake(self) -> dict:
        """Accept a client and answer its set-up the way a reader does; returns what it asked for."""
        self.accept()
        self.send(connection_event(0))
        cfg = self.expect(3, 13)  # SET_READER_CONFIG
        delete = self.expect(21, 31)  # DELETE_ROSPEC
        add = self.expect(20, 30)  # ADD_ROSPEC
        enable = self.expect(24, 34)  # ENABLE_ROSPEC
        start = self.expect(22, 32)  # START_ROSPEC
        return {"config": cfg, "delete": delete, "add": add, "enable": enable, "start": start}

    def keepalive_roundtrip(self, msg_id: int = 77) -> None:
        """KEEPALIVE → KEEPALIVE_ACK: the client handles messages in order, so everything sent before has
        been processed when the ack arrives."""
        self.send(frame(62, b"", msg_id))
        t, _i, _b = self.read()
        assert t == 72

    def drop(self) -> None:
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, like a yanked cable
        self.conn.close()

    def close(self) -> None:
        if self.conn:
            self.conn.close()
        self.srv.close()


def wait(pred, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise TimeoutError("condition not met")
        time.sleep(0.01)


@pytest.fixture
def reader():
    r = FakeReader()
    yield r
    r.close()


def make(reader, **kw) -> tuple[LlrpSource, list, list]:
    src = LlrpSource("127.0.0.1", port=reader.port, retry_min_s=0.05, retry_max_s=0.2, **kw)
    got, errors = [], []
    src.bind(got.extend, lambda hb: None, errors.append)
    return src, got, errors


# --- tests ----------------------------------------------------------------------------------------------------


def test_pinned_report_frame_decodes():
    tags, errors = llrp_codec.ro_access_report(PINNED_REPORT[10:])
    assert errors == [] and tags == [
        {
            "EPC-96": EPC.lower().encode(),
            "AntennaID": 2,
            "PeakRSSI": -52,
            "FirstSeenTimestampUTC": FIRST_US,
            "LastSeenTimestampUTC": FIRST_US + 250_000,
            "TagSeenCount": 7,
        }
    ]
    msgs, rest = llrp_codec.split_messages(PINNED_REPORT + PINNED_REPORT[:7])
    assert [(t, i) for t, i, _ in msgs] == [(61, 0)] and rest == PINNED_REPORT[:7]
    with pytest.raises(llrp_codec.LLRPError):
        llrp_codec.parse_header(b"HTTP/1.1 2")  # not an LLRP peer
    with pytest.raises(llrp_codec.LLRPError):
        llrp_codec.parse_header(struct.pack("!HII", (1 << 10) | 61, 4, 0))  # length shorter than the header


def test_agent_decodes_tags_survives_a_dropped_connection_and_reconnects(reader):
    src, got, errors = make(reader, antennas=[1, 2], report_ms=500, report_every_n_tags=100)
    src.start()
    try:
        asked = reader.handshake()
        # what it asked the reader for, decoded by hand
        assert asked["delete"] == struct.pack("!I", 0)
        assert asked["config"][0] == 0 and asked["config"][1:] == tlv(220, struct.pack("!BI", 1, 10_000))
        add = asked["add"]
        assert struct.unpack_from("!HH", add)[0] == 177  # ROSpec
        rospec_id = struct.unpack_from("!I", add, 4)[0]
        assert add[8:10] == b"\x00\x00"  # priority 0, Disabled
        ai = add.index(struct.pack("!H", 183))
        assert struct.unpack_from("!HHH", add, ai + 4) == (2, 1, 2)  # 2 antennas: 1, 2
        assert tlv(184, struct.pack("!BI", 1, 500)) in add  # AISpec: 500 ms
        sel = add.index(struct.pack("!HH", 238, 6))
        bits = struct.unpack_from("!H", add, sel + 4)[0]
        # EnableAntennaID, PeakRSSI, FirstSeen, LastSeen, TagSeenCount (MSB first: flags 3, 5, 6, 7, 8)
        assert bits == (1 << 12) | (1 << 10) | (1 << 9) | (1 << 8) | (1 << 7)
        assert add[sel - 3 : sel] == struct.pack("!BH", 1, 100)  # N tags or end of AISpec
        assert asked["enable"] == asked["start"] == struct.pack("!I", rospec_id)
        wait(src.connected.is_set)
        assert errors[-1] is None

        reader.keepalive_roundtrip()
        # the pinned report split mid-header; then a report with EPCData (SGTIN-198, 208 bits), a tag with no
        # EPC (bad: reported, the others kept)
        reader.send(PINNED_REPORT[:7])
        reader.send(PINNED_REPORT[7:])
        sgtin198 = "3674257BF6B7A659B2C2BF100000000000000000000000000000"
        body = tag_report_data(sgtin198, antenna=1, rssi=-61, count=3, first_us=FIRST_US + 1000, epc96=False) + tlv(
            240, b"\x81\x00\x01"
        )
        reader.send(frame(61, body))
        reader.keepalive_roundtrip()
        assert got == [
            TagRead(EPC, 2, -52.0, 7, FIRST_US // 1000, FIRST_US // 1000 + 250),
            TagRead(sgtin198, 1, -61.0, 3, FIRST_US // 1000 + 1, FIRST_US // 1000 + 1),
        ]
        assert src.bad_tags == 1 and src.reports == 2

        reader.drop()  # connection reset by peer
        wait(lambda: errors[-1] is not None)
        assert f"127.0.0.1:{reader.port}" in errors[-1]
        reader.handshake()  # it came back by itself, set-up redone
        wait(lambda: src.sessions == 2 and errors[-1] is None)
        reader.send(frame(61, tag_report_data(EPC, antenna=1, rssi=-40, count=1, first_us=FIRST_US + 5)))
        reader.keepalive_roundtrip()
        assert got[-1] == TagRead(EPC, 1, -40.0, 1, FIRST_US // 1000, FIRST_US // 1000)

        src.stop_inventory()  # cmd/stop_inventory → STOP_ROSPEC
        assert reader.expect(23, 33) == struct.pack("!I", rospec_id)
        n = len(got)
        reader.send(frame(61, tag_report_data(EPC, antenna=1, rssi=-40, count=1, first_us=FIRST_US)))
        reader.keepalive_roundtrip()
        assert len(got) == n  # in-flight reads after a stop are dropped
        src.start_inventory()
        assert reader.expect(22, 32) == struct.pack("!I", rospec_id)
    finally:
        src.stop()
    assert reader.read()[0] == 14  # CLOSE_CONNECTION on the way out


def test_refused_connection_and_silent_reader_are_retried(reader):
    src, got, errors = make(reader, keepalive_ms=200)  # no byte for 3 × 200 ms (floor 1 s): dead link
    src.start()
    try:
        reader.accept()
        reader.send(connection_event(2))  # another client holds the reader
        wait(lambda: any(e and "Client initiated connection already exists" in e for e in errors))
        asked = reader.handshake()  # it tried again
        assert asked["config"][1:] == tlv(220, struct.pack("!BI", 1, 200))
        wait(src.connected.is_set)
        t0 = time.monotonic()
        silent = reader.conn  # the reader goes quiet: no keepalives
        reader.accept()  # ... and the source reconnects on its own
        assert time.monotonic() - t0 < 5
        assert any(e and "keepalive missed" in e for e in errors)
        silent.close()
        reader.send(connection_event(0))
        reader.expect(3, 13)
        reader.expect(21, 31)
        reader.expect(20, 30, status=100)  # ADD_ROSPEC refused: an error, then another try
        wait(lambda: any(e and "status 100 nope" in e for e in errors))
        reader.handshake()
        wait(lambda: src.sessions == 2)
    finally:
        src.stop()
    assert got == []


def test_make_source_options():
    cfg = AgentConfig(store="s-1", device="llrp-1")
    src = make_source("llrp", {"host": "10.0.0.5", "antennas": "1,3"}, cfg)
    assert isinstance(src, LlrpSource) and src.antennas == [1, 3] and src.port == 5084
    assert make_source("llrp", {"host": "r", "antennas": 2}, cfg).antennas == [2]
    assert make_source("llrp", {"host": "r"}, cfg).antennas == [0]  # 0 = every antenna
    for bad in ({}, {"host": "r", "antennas": "one"}, {"host": "r", "tx_power_dbm": 30}):
        with pytest.raises(ValueError):
            make_source("llrp", bad, cfg)


@pytest.mark.mqtt
def test_rfid_agent_over_llrp_publishes_evt_tags(reader, tmp_path):
    """Fake LLRP reader → ``storehub agent rfid --source llrp`` → the shared Mosquitto → evt/tags; and
    cmd/stop_inventory over MQTT reaches the reader as STOP_ROSPEC."""
    from tests.support.devices import SHARED_BROKER, Watcher, unique_store

    store = unique_store()
    w = Watcher(*SHARED_BROKER, store)
    cfg = AgentConfig(store=store, device="llrp-1", broker="mqtt://%s:%d" % SHARED_BROKER, state_dir=tmp_path)
    src = make_source("llrp", {"host": "127.0.0.1", "port": reader.port}, cfg)
    agent = RfidAgent(cfg, src, batch_ms=100)
    agent.start()
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    try:
        reader.handshake()
        reader.send(PINNED_REPORT)
        reader.send(frame(61, tag_report_data(EPC, antenna=2, rssi=-48, count=3, first_us=FIRST_US + 400_000)))
        wait(lambda: sum(r["count"] for e in w.events("llrp-1", "tags") for r in e["reads"]) >= 10)
        reads = [r for e in w.events("llrp-1", "tags") for r in e["reads"]]
        assert sum(r["count"] for r in reads) == 10  # folded, none lost, none doubled
        assert {(r["epc"], r["antenna"]) for r in reads} == {(EPC, 2)} and max(r["rssi_dbm"] for r in reads) == -48
        info = json.loads(w.wait_for(lambda t, p: t.endswith("/llrp-1/info"))[1])
        assert info["kind"] == "rfid" and info["model"] == "LLRP reader"
        res = {}
        th = threading.Thread(target=lambda: res.update(w.command("llrp-1", "stop_inventory")))
        th.start()
        assert reader.expect(23, 33) == struct.pack("!I", 0x5348)
        th.join(10)
        assert res.get("ok") is True
    finally:
        agent.stopping.set()
        runner.join(10)
        agent.stop()
        w.close()

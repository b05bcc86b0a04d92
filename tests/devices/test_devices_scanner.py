"""Scanners: keyboard-wedge decoding from the exact evdev (type, code, value) sequences a scanner sends on US
and non-US layouts (Shift, CapsLock, AltGr, dead keys, Ctrl+] and Alt+keypad GS, AIM prefixes); serial/CDC
scanners on a pty; the agent publishing evt/scan on the real Mosquitto."""

from __future__ import annotations

import os
import threading
import time

import pytest
from evdev import InputEvent

from devices.common.config import AgentConfig
from devices.scanner.agent import ScannerAgent, run_events
from devices.scanner.codes import ScanError, to_scan_event
from devices.scanner.keystrokes import keystrokes
from devices.scanner.layouts import LAYOUTS
from devices.scanner.serial_reader import LineSplitter
from devices.scanner.wedge import WedgeDecoder
from devices.sim.serial_scanner import SerialScannerSim
from hub.protocol import contract
from tests.support.devices import SHARED_BROKER, Watcher, unique_store

K = 1  # EV_KEY
SYN = (0, 0, 0)
SHIFT, RALT, CTRL, LALT, CAPS, ENTER = 42, 100, 29, 56, 58, 28


def tap(code, *mods):
    ev = [(K, m, 1) for m in mods] + [(4, 4, 0), (K, code, 1), SYN, (4, 4, 0), (K, code, 0), SYN]
    return ev + [(K, m, 0) for m in reversed(mods)]


def dec(layout, events):
    return WedgeDecoder(layout).feed_all(events)


def test_us_shift_digits_and_enter():
    ev = tap(30, SHIFT) + tap(2) + tap(12, SHIFT) + tap(ENTER)  # Shift+a, 1, Shift+-  Enter
    assert dec("us", ev) == ["A1_"]


def test_uk_scanner_needs_the_uk_layout():
    # a scanner set to UK sends Shift+2 for '"' and Shift+' for '@'
    ev = tap(3, SHIFT) + tap(40, SHIFT) + tap(43) + tap(ENTER)
    assert dec("uk", ev) == ['"@#']
    assert dec("us", ev) == ['@"\\']  # the classic misread on a US host


def test_german_qwertz_and_altgr():
    # y/z swapped, AltGr+q = @, AltGr+8/9 = [ ], Shift+7 = /
    ev = tap(21) + tap(44) + tap(16, RALT) + tap(9, RALT) + tap(10, RALT) + tap(8, SHIFT) + tap(ENTER)
    assert dec("de", ev) == ["zy@[]/"]


def test_belgian_azerty_digits_need_shift():
    digits = "5901234123457"
    row = {"1": 2, "2": 3, "3": 4, "4": 5, "5": 6, "6": 7, "7": 8, "8": 9, "9": 10, "0": 11}
    ev = [e for d in digits for e in tap(row[d], SHIFT)] + tap(ENTER)
    assert dec("be", ev) == [digits]
    assert dec("us", ev) == ["%()!@#$!@#$%&"]  # the same keys read as US: garbage
    # the same keys unshifted are what a Belgian scanner types if set to "no shift" — not digits
    ev_plain = [e for d in "5901" for e in tap(row[d])] + tap(ENTER)
    assert dec("be", ev_plain) == ["(çà&"]
    # AIM prefix on AZERTY: ] is AltGr+$ (key 27)
    assert dec("be", tap(27, RALT) + tap(18, SHIFT) + tap(11, SHIFT) + tap(ENTER)) == ["]E0"]


def test_capslock_shifts_letters_only():
    ev = tap(CAPS) + tap(30) + tap(30, SHIFT) + tap(2) + tap(CAPS) + tap(30) + tap(ENTER)
    assert dec("us", ev) == ["Aa1a"]


def test_gs_as_ctrl_bracket_and_alt_keypad():
    ctrl = tap(2) + tap(27, CTRL) + tap(3) + tap(ENTER)
    assert dec("us", ctrl) == ["1\x1d2"]
    assert dec("de", ctrl) == ["1\x1d2"]  # Ctrl+] is the key position (HID usage), whatever the layout
    alt = [(K, LALT, 1), (K, 82, 1), (K, 82, 0), (K, 80, 1), (K, 80, 0), (K, 73, 1), (K, 73, 0), (K, LALT, 0)]
    assert dec("us", tap(2) + alt + tap(3) + tap(ENTER)) == ["1\x1d2"]


def test_dead_keys_and_repeat():
    assert dec("de", tap(41) + tap(57) + tap(41) + tap(18) + tap(ENTER)) == ["^ê"]
    # value 2 (autorepeat) types the character again; SYN/MSC are ignored
    assert dec("us", [(K, 30, 1), (K, 30, 2), (K, 30, 0)] + tap(ENTER)) == ["aa"]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_round_trip_every_layout(layout):
    for text in ["]E05901234123457", "]C1010950110153000317\x1d10ABC-12", "]Q1https://x.cn/a?b=1&c=2", "SHL-A01-01"]:
        assert dec(layout, keystrokes(text, layout)) == [text]
    assert dec(layout, keystrokes("01\x1d21X", layout, gs_as="alt")) == ["01\x1d21X"]


def test_scan_events_and_gs_substitute():
    assert to_scan_event("]E05901234123457") == {"code": "]E05901234123457", "symbology": "]E0"}
    assert to_scan_event("]C10101234567890128|10LOT", gs_substitute="|")["code"] == "]C10101234567890128\x1d10LOT"
    # not a GS1 symbology: '|' is a real character there
    assert to_scan_event("]C0A|B", gs_substitute="|")["code"] == "]C0A|B"
    assert to_scan_event("0101234567890128|10LOT", gs_substitute="|")["code"] == "0101234567890128\x1d10LOT"
    for bad in ["", "\r\n", "]E0", "AB\x07C"]:
        with pytest.raises(ScanError):
            to_scan_event(bad)


def test_line_splitter():
    s = LineSplitter()
    assert s.feed(b"]E059012341") == []
    assert s.feed(b"23457\r\n]C1010\x1d10X\r") == ["]E05901234123457", "]C1010\x1d10X"]
    assert s.feed(b"\nABC\n") == ["ABC"]


# ------------------------------------------------------------------ agents on the real broker
def _agent(store, tmp_path, **options):
    cfg = AgentConfig(
        store=store, device="scanner-1", broker="mqtt://127.0.0.1:1883", state_dir=tmp_path, options=options
    )
    return ScannerAgent(cfg)


@pytest.mark.mqtt
def test_wedge_agent_publishes_scans_from_an_event_iterator(tmp_path):
    store = unique_store()
    w = Watcher(*SHARED_BROKER, store)
    agent = _agent(store, tmp_path, mode="evdev", layout="de", input="/dev/null")
    agent.start()
    try:
        w.status("scanner-1", "online")
        t0 = time.time()
        evs = []
        for i, (t, c, v) in enumerate(keystrokes("]E05901234123457", "de") + keystrokes("]E096385074", "de")):
            evs.append(InputEvent(int(t0), i, t, c, v))  # real evdev event objects
        published = run_events(agent, iter(evs))
        assert [p["code"] for p in published] == ["]E05901234123457", "]E096385074"]
        got = w.wait_events("scanner-1", "scan", 2)
        assert [g["code"] for g in got] == ["]E05901234123457", "]E096385074"]
        for g in got:
            contract.validate("evt/scan", g)
        assert got[0]["symbology"] == "]E0"
    finally:
        agent.stop()
        w.close()


@pytest.mark.mqtt
def test_serial_scanner_agent_on_a_pty(tmp_path):
    store = unique_store()
    w = Watcher(*SHARED_BROKER, store)
    with SerialScannerSim() as sim:
        agent = _agent(store, tmp_path, mode="serial", port=sim.path, gs_substitute="|")
        t = threading.Thread(target=agent.run, daemon=True)
        agent.start()
        t.start()
        try:
            w.status("scanner-1", "online")
            # the agent has the port open (opening flushes its input): its info says so
            w.wait_for(lambda t, p: t.endswith("scanner-1/info") and b'"port"' in p)
            sim.scan("]E05901234123457")
            sim.scan(b"]C1010950110153000317\x1d10ABC")  # GS intact over CDC
            sim.scan("]d2010950110153000317|21SER")  # substitute turned back into GS
            sim.write(b"\r\n")  # empty line: ignored
            got = w.wait_events("scanner-1", "scan", 3)
            assert [g["code"] for g in got] == [
                "]E05901234123457",
                "]C1010950110153000317\x1d10ABC",
                "]d2010950110153000317\x1d21SER",
            ]
        finally:
            agent.stop()
            t.join(5)
            w.close()


@pytest.mark.skipif(
    not os.path.exists("/dev/uinput") or not os.access("/dev/uinput", os.W_OK),
    reason="no /dev/uinput here: the grab/read loop is covered at the event-iterator layer",
)
@pytest.mark.mqtt
def test_wedge_agent_grabs_a_uinput_keyboard(tmp_path):
    from evdev import UInput, ecodes

    store = unique_store()
    w = Watcher(*SHARED_BROKER, store)
    ui = UInput({ecodes.EV_KEY: list(range(1, 120))}, name="storehub-test-scanner")
    agent = _agent(store, tmp_path, mode="evdev", layout="us", input="name:storehub-test-scanner")
    t = threading.Thread(target=agent.run, daemon=True)
    agent.start()
    t.start()
    try:
        w.wait_for(lambda t, p: t.endswith("scanner-1/info") and b'"input"' in p)  # grabbed: info names it
        for ty, code, val in keystrokes("]E05901234123457", "us"):
            ui.write(ty, code, val)
        ui.syn()
        got = w.wait_events("scanner-1", "scan", 1)
        assert got[0]["code"] == "]E05901234123457"
    finally:
        agent.stop()
        t.join(5)
        ui.close()
        w.close()


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402 - this section's own imports


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([0, 1, 4]), st.integers(0, 300), st.integers(0, 2)), max_size=80),
    st.sampled_from(sorted(LAYOUTS)),
)
def test_any_event_sequence_decodes_without_crashing(events, layout):
    out = WedgeDecoder(layout).feed_all(events)
    assert all(isinstance(c, str) and c for c in out)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(sorted(LAYOUTS)),
)
def test_any_ascii_code_round_trips_on_every_layout(codes, layout):
    events = [e for c in codes for e in keystrokes(c, layout)]
    assert WedgeDecoder(layout).feed_all(events) == codes


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.binary(min_size=1, max_size=20).filter(lambda b: b"\r" not in b and b"\n" not in b), min_size=1, max_size=5
    ),
    st.integers(1, 7),
)
def test_line_splitter_ignores_how_bytes_are_chunked(codes, step):
    stream = b"".join(c + b"\r\n" for c in codes)
    s = LineSplitter()
    got = []
    for i in range(0, len(stream), step):
        got += s.feed(stream[i : i + step])
    assert len(got) == len(codes)

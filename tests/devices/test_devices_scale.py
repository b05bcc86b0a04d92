"""Scales: protocol tables byte-for-byte against the reference vectors, probe-based detection on ptys
(a modem echoing bytes and a serial scanner are never taken for a scale), and the agent on the real Mosquitto."""

from __future__ import annotations

import json
import threading
import time

import pytest

from devices.common.config import AgentConfig
from devices.scale.agent import ScaleAgent
from devices.scale.driver import ScaleDriver, ScaleError, detect
from devices.scale.protocols import MT_SICS, PROTOCOLS, TOLEDO_8217, parse_reply
from devices.sim.pty import EchoDevice
from devices.sim.scale import ScaleSim
from devices.sim.serial_scanner import SerialScannerSim
from hub.protocol import contract
from tests.support.common import VECTORS_FILE
from tests.support.devices import SHARED_BROKER, Watcher, unique_store

VECTORS = json.loads(VECTORS_FILE.read_text())


# ------------------------------------------------------------------ protocol tables
@pytest.mark.parametrize("v", VECTORS["scale_mt_sics"], ids=lambda v: v["meaning"])
def test_mt_sics_vectors(v):
    cmd = {"S\r\n": "weigh", "SI\r\n": "weigh_now"}[v["send"]]
    assert MT_SICS.commands[cmd] == v["send"].encode()
    r = parse_reply(MT_SICS, v["reply"].encode())
    if "stable" in v["meaning"] and "not" not in v["meaning"]:
        assert (r.kind, r.grams, r.stable) == ("weight", 12345, True)
    elif "dynamic" in v["meaning"]:
        assert (r.kind, r.grams, r.stable) == ("weight", 12340, False)
    else:
        assert r.kind == "status" and r.grams is None and "not executable" in r.error


@pytest.mark.parametrize("v", VECTORS["scale_toledo_8217"], ids=lambda v: v["meaning"])
def test_toledo_8217_vectors(v):
    reply = bytes.fromhex(v["reply_hex"])
    if v["send"] == "W":
        assert TOLEDO_8217.commands["weigh"] == b"W"
        r = parse_reply(TOLEDO_8217, reply)
        if "motion" in v["meaning"]:
            assert r.stable is False and r.grams is None and r.flags == ("motion",)
        else:
            assert (r.grams, r.stable, r.net) == (1234, True, None)
    else:  # echo probe: the simulator must answer exactly this
        with ScaleSim("toledo-8217") as sim:
            import serial

            with serial.Serial(sim.path, timeout=1) as port:
                port.write(v["send"].encode())
                got = b""
                end = time.monotonic() + 2
                while len(got) < len(reply) and time.monotonic() < end:
                    got += port.read(len(reply) - len(got))
                port.write(b"F")
            assert got == reply


@pytest.mark.parametrize("v", VECTORS["scale_mt_sics"], ids=lambda v: v["meaning"])
def test_mt_sics_simulator_answers_exactly_like_the_reference(v):
    import serial

    with ScaleSim("mt-sics") as sim:
        if "stable" in v["meaning"] and "not" not in v["meaning"]:
            sim.place(12345)
        elif "dynamic" in v["meaning"]:
            sim.place(12340, motion=True)
        else:
            sim.place(12340, motion=True)
        with serial.Serial(sim.path, timeout=1) as port:
            port.write(v["send"].encode())
            assert port.read_until(b"\r\n") == v["reply"].encode()


def test_more_replies():
    assert parse_reply(MT_SICS, b"S +\r\n").error == "overload"
    assert parse_reply(MT_SICS, b"S -\r\n").error == "underload"
    assert parse_reply(MT_SICS, b"Z A\r\n").kind == "ack"
    assert parse_reply(MT_SICS, b"ES\r\n").kind == "error"
    assert parse_reply(MT_SICS, b"T S      0.100 kg\r\n").grams == 100
    assert parse_reply(MT_SICS, b"S S    250.0 g\r\n").grams == 250
    assert parse_reply(MT_SICS, b"S S      1.000 lb\r\n").grams == 454
    assert parse_reply(MT_SICS, b"garbage\r\n").kind == "error"
    r = parse_reply(TOLEDO_8217, b"\x0200.500N\r")
    assert (r.grams, r.net) == (500, True)
    assert parse_reply(TOLEDO_8217, b"\x02?B\r").error == "overload"
    assert parse_reply(TOLEDO_8217, b"\x02?D\r").error == "underload"
    assert parse_reply(TOLEDO_8217, b"\x02?H\r").error == "outside zero capture range"


# ------------------------------------------------------------------ driver on a pty
@pytest.mark.parametrize("proto", ["mt-sics", "toledo-8217"])
def test_driver_sends_exact_bytes(proto):
    with ScaleSim(proto) as sim:
        sim.place(1234)
        drv = ScaleDriver.open(sim.path, proto)
        try:
            r = drv.weigh()
            assert (r.grams, r.stable) == (1234, True)
            sim.place(2000, motion=True)
            assert drv.weigh().stable is False
            sim.settle()
            drv.tare()
            r = drv.weigh()
            assert r.grams == 0
            if proto == "toledo-8217":
                assert r.net is True
            drv.clear_tare()
            assert drv.weigh().grams == 2000
        finally:
            drv.close()
        want = {"mt-sics": b"SI\r\nSI\r\nT\r\nSI\r\nTAC\r\nSI\r\n", "toledo-8217": b"WWTWWCWW"}[proto]
        assert bytes(sim.received) == want


def test_mt_sics_errors_surface():
    with ScaleSim("mt-sics", capacity_g=5000) as sim:
        drv = ScaleDriver.open(sim.path, "mt-sics")
        try:
            sim.place(9000)
            assert drv.weigh().error == "overload"
            sim.place(1000, motion=True)
            with pytest.raises(ScaleError, match="not executable"):
                drv.zero()
            assert drv.weigh(wait_stable=True).error.startswith("not executable")
        finally:
            drv.close()
        assert bytes(sim.received) == b"SI\r\nZ\r\nS\r\n"


@pytest.mark.parametrize("proto", ["mt-sics", "toledo-8217"])
def test_detect_finds_each_protocol(proto):
    with ScaleSim(proto) as sim, EchoDevice() as echo:
        found = detect([echo.path, sim.path])
        assert found == (sim.path, PROTOCOLS[proto])


def test_detect_never_takes_echo_or_scanner_for_a_scale():
    with EchoDevice() as echo, SerialScannerSim(interval_s=0.05, codes=["]E05901234123457"]) as scanner:
        assert detect([echo.path, scanner.path], timeout=0.5) is None
        # the echo device did get both probes and echoed them: it is the reply shape that was refused
        assert b"I4\r\n" in bytes(echo.received) and b"F" in bytes(echo.received)


# ------------------------------------------------------------------ agent on the real broker
@pytest.mark.mqtt
@pytest.mark.parametrize("proto", ["mt-sics", "toledo-8217"])
def test_scale_agent_publishes_stable_weights_and_answers_tare(tmp_path, proto):
    store = unique_store()
    w = Watcher(*SHARED_BROKER, store)
    with ScaleSim(proto) as sim:
        cfg = AgentConfig(
            store=store,
            device="scale-1",
            broker="mqtt://127.0.0.1:1883",
            state_dir=tmp_path,
            options={"port": sim.path, "protocol": "auto", "poll_s": 0.05},
        )
        agent = ScaleAgent(cfg)
        t = threading.Thread(target=agent.run, daemon=True)
        agent.start()
        t.start()
        try:
            w.status("scale-1", "online")
            sim.place(1234)
            ev = w.wait_events("scale-1", "weight", 1)
            assert ev[0]["grams"] == 1234 and ev[0]["stable"] is True
            contract.validate("evt/weight", ev[0])
            # motion publishes nothing; the settled new weight does (once)
            sim.place(1500, motion=True)
            time.sleep(0.4)
            assert len(w.events("scale-1", "weight")) == 1
            sim.settle()
            ev = w.wait_events("scale-1", "weight", 2)
            assert ev[1]["grams"] == 1500
            res = w.command("scale-1", "tare")
            assert res["ok"] is True, res
            contract.decode_result(json.dumps(res))
            ev = w.wait_events("scale-1", "weight", 3)
            assert ev[2]["grams"] == 0 and ev[2].get("net") in (True, None)
            # zero refused while loaded and moving: a clear error, the agent keeps going
            sim.place(4000, motion=True)
            res = w.command("scale-1", "zero")
            assert res["ok"] is False and res["error"]
            # overload: reported as the device's error (info + evt/state), cleared when a weight is good again
            sim.place(40_000)
            st = w.wait_for(lambda t, p: t.endswith("scale-1/evt/state") and b"overload" in p)[1]
            contract.decode_event("state", st)
            sim.place(3000)  # tare 1500 still applies: net 1500 g
            w.wait_for(lambda t, p: t.endswith("scale-1/evt/state") and json.loads(p).get("error", "x") is None)
            info = json.loads(w.wait_for(lambda t, p: t.endswith("scale-1/info") and b"protocol" in p)[1])
            assert info["kind"] == "scale" and info["protocol"] == proto
            assert info.get("serial") == ("B021002593" if proto == "mt-sics" else None)
            contract.decode_info(json.dumps(info))
            ids = [e["id"] for e in w.events("scale-1", "weight")]
            assert len(ids) == len(set(ids))
        finally:
            agent.stop()
            t.join(5)
            w.status("scale-1", "offline")
            w.close()


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402 - this section's own imports


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.sampled_from(["mt-sics", "toledo-8217"]))
def test_any_reply_bytes_parse_to_a_reading_never_an_exception(raw, proto):
    r = parse_reply(PROTOCOLS[proto], raw)
    assert r.kind in ("weight", "tare", "ack", "status", "error")
    if r.kind == "error":
        assert r.error


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 999_999))
def test_8217_weights_round_trip_through_the_simulator_format(grams):
    raw = b"\x02" + f"{grams / 1000:06.3f}".encode() + b"\r"
    assert parse_reply(TOLEDO_8217, raw).grams == grams

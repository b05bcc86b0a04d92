"""Weights keep the resolution the scale reported (a 2.486 g tare is not 2 g), end to end: reply → agent event
and tare result → the hub's scale_weights and device.weight fact; a Toledo reply padded with spaces is a weight."""

from __future__ import annotations

import json

import pytest

from devices.common.config import AgentConfig
from devices.scale.agent import ScaleAgent
from devices.scale.protocols import MT_SICS, TOLEDO_8217, Reading, parse_reply
from hub.bus import builtin
from hub.bus.handlers import DeviceEvent
from hub.protocol import contract
from hub.protocol.timeutil import now_iso
from tests.support.bus import STORE, make_hub_db


@pytest.mark.parametrize(
    "raw,grams,net",
    [
        (b"\x02  1.234\r", 1234, None),
        (b"\x02 01.234\r", 1234, None),
        (b"\x0201.234 \r", 1234, None),
        (b"\x02  0.500N\r", 500, True),
        (b"\x02 02.000 N\r", 2000, True),
    ],
)
def test_toledo_reply_padded_with_spaces_is_a_weight(raw, grams, net):
    r = parse_reply(TOLEDO_8217, raw)
    assert (r.kind, r.grams, r.stable, r.net, r.error) == ("weight", grams, True, net, None)


def test_readings_keep_milligrams():
    assert parse_reply(MT_SICS, b"T S      2.486 g\r\n").mg == 2486
    r = parse_reply(MT_SICS, b"S S      0.0125 kg\r\n")
    assert (r.mg, r.grams) == (12500, 13)  # whole grams round half away from zero, once
    assert parse_reply(MT_SICS, b"S S     -1.5 g\r\n").grams == -2
    assert parse_reply(MT_SICS, b"S S      1.000 lb\r\n").mg == 453592


class _Driver:
    """A connected scale that answers with fixed readings (the wire side is tested in test_devices_scale.py)."""

    def __init__(self, weight: Reading, tare: Reading):
        self.weight, self.tare_reading = weight, tare

    def weigh(self):
        return self.weight

    def tare(self):
        return self.tare_reading

    def close(self):
        pass


def test_agent_publishes_mg_and_reports_the_tare_in_mg(tmp_path):
    agent = ScaleAgent(
        AgentConfig(
            store=STORE,
            device="scale-7",
            broker="mqtt://127.0.0.1:1",
            state_dir=tmp_path,
            options={"port": "/dev/null", "protocol": "mt-sics"},
        )
    )
    try:
        agent.driver = _Driver(
            Reading("weight", mg=250_486, stable=True, net=True), Reading("tare", mg=2486, stable=True)
        )
        agent.poll_once()
        ((_seq, topic, ev),) = agent.buffer.peek(10)
        assert topic.endswith("/evt/weight")
        assert (ev["grams"], ev["mg"], ev["net"]) == (250, 250_486, True)
        contract.validate("evt/weight", ev)
        assert agent._act("tare") == {"action": "tare", "tare_grams": 2, "tare_mg": 2486}
    finally:
        agent.buffer.close()


def _weight(device: str, **payload) -> DeviceEvent:
    ev = contract.make_event("weight", **payload)
    return DeviceEvent(STORE, device, "weight", ev["id"], ev["ts"], ev, "t", now_iso())


def test_hub_keeps_the_scales_milligrams(data_dir):
    db = make_hub_db(data_dir)
    try:
        with db.write() as conn:
            builtin.on_weight(conn, _weight("scale-1", grams=2, mg=2486, stable=True, tare_grams=1, tare_mg=1250))
            builtin.on_weight(conn, _weight("scale-old", grams=750, stable=True))  # an agent from before mg
        w = builtin.latest_weight(db.read(), "scale-1")
        assert (w["grams"], w["mg"], w["tare_grams"], w["tare_mg"]) == (2, 2486, 1, 1250)
        assert builtin.latest_weight(db.read(), "scale-old")["mg"] == 750_000
        facts = [
            json.loads(r[0])
            for r in db.read().execute("SELECT payload FROM outbox WHERE kind = 'device.weight' ORDER BY seq")
        ]
        assert [(f["grams"], f["mg"]) for f in facts] == [(2, 2486), (750, 750_000)]
    finally:
        db.close()

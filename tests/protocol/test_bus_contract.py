"""The topic contract and payload schemas: round trips, rejections, and docs/mqtt.md kept identical."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.protocol import contract as c
from tests.support.common import ROOT


def test_docs_show_exactly_the_schemas_of_the_contract():
    text = (ROOT / "docs" / "mqtt.md").read_text(encoding="utf-8")
    start, end = text.index(c.DOC_BEGIN), text.index(c.DOC_END) + len(c.DOC_END)
    assert text[start:end] == c.schemas_markdown(), "run: python -m hub.protocol.contract docs/mqtt.md"
    for name in c.all_schemas():
        assert f"#### `{name}`" in text


@given(st.from_regex(r"[a-z0-9-]{1,64}", fullmatch=True), st.sampled_from(c.EVENT_TYPES))
def test_topics_round_trip(device, event_type):
    t = c.parse_topic(c.event_topic("store-1", device, event_type), "store-1")
    assert (t.store_id, t.device_id, t.channel, t.name) == ("store-1", device, "evt", event_type)
    assert c.parse_topic(c.status_topic("store-1", device)).channel == "status"
    assert c.parse_topic(c.command_topic("store-1", device, "tare")).name == "tare"


@pytest.mark.parametrize(
    "topic,reason",
    [
        ("storehub/s1/dev/UPPER/status", "bad device id"),
        ("storehub/s1/dev/" + "a" * 65 + "/status", "bad device id"),
        ("storehub/s1/dev/d1/evt/fly", "unknown event type"),
        ("storehub/s1/dev/d1/evt", "event topic must be"),
        ("storehub/s1/dev/d1/status/extra", "unexpected sub-topic"),
        ("storehub/s1/devices/d1/status", "is not under"),
        ("other/s1/dev/d1/status", "is not under"),
        ("storehub/s2/dev/d1/status", "belongs to store"),
    ],
)
def test_bad_topics(topic, reason):
    with pytest.raises(c.ContractError) as e:
        c.parse_topic(topic, "s1")
    assert reason in e.value.reason


def test_payload_examples_from_the_issue():
    ts = c.utc_ts()  # within the accepted window around now
    c.decode_event("scan", json.dumps({"id": "e1", "ts": ts, "code": "4006381333931", "symbology": "ean13"}))
    c.decode_event("weight", json.dumps({"id": "e2", "ts": ts, "grams": 1250, "stable": True, "net": True}))
    c.decode_event(
        "tags",
        json.dumps(
            {
                "id": "e3",
                "ts": ts,
                "reads": [
                    {
                        "epc": "3034257BF7194E4000001A85",
                        "antenna": 1,
                        "rssi_dbm": -52.5,
                        "count": 7,
                        "first_seen": ts,
                        "last_seen": ts,
                    }
                ],
            }
        ),
    )
    c.decode_event("shelf", json.dumps({"id": "e4", "ts": ts, "grams": 2071.4}))
    c.decode_result(json.dumps({"request_id": "r1", "ok": True}))
    assert c.decode_status(b"offline") == "offline"
    for t, bad in [
        ("weight", {"id": "e", "ts": ts, "grams": 1.5, "stable": True}),
        (
            "tags",
            {
                "id": "e",
                "ts": ts,
                "reads": [{"epc": "XYZ", "antenna": 1, "rssi_dbm": -1, "count": 1, "first_seen": ts, "last_seen": ts}],
            },
        ),
        ("scan", {"id": "e", "ts": "2026-11-22 10:00", "code": "1"}),
        ("scan", {"id": "", "ts": ts, "code": "1"}),
    ]:
        with pytest.raises(c.ContractError):
            c.decode_event(t, json.dumps(bad))
    with pytest.raises(c.ContractError, match="error"):
        c.decode_result(json.dumps({"request_id": "r1", "ok": False}))  # a failure says why
    with pytest.raises(c.ContractError):
        c.make_command("print", "r2")  # a print needs a document
    cmd = c.make_command("print", "r2", document={"type": "pack_label", "order": "SO-1"})
    assert c.decode_command("print", c.encode(cmd))["request_id"] == "r2"


def test_device_config_lists_its_topics():
    cfg = c.device_config(
        store_id="s1", device_id="scale-1", kind="scale", broker_url="mqtt://h:1883", username="scale-1", password="pw"
    )
    assert cfg["topics"]["events"] == "storehub/s1/dev/scale-1/evt/{type}"
    assert cfg["mqtt"]["client_id"] == "scale-1"  # = the username: the broker binds the two
    assert cfg["topics"]["ack"] == "storehub/s1/dev/scale-1/ack"
    with pytest.raises(c.ContractError):
        c.device_config(store_id="s1", device_id="x", kind="toaster", broker_url="", username="", password="")

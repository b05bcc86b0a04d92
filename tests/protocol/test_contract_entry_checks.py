"""What the contract refuses at the MQTT entry besides the schema (issue 11): characters no store of ours can keep
(NUL and unpaired surrogates, in any string or key of a payload) and device times outside the window around now."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from hub.protocol import contract as c


def _ts(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.mark.parametrize(
    "event_type,body,where",
    [
        ("scan", {"code": "AB\u0000CD"}, "/code"),
        ("scan", {"code": "123", "symbology": "ean\u0000"}, "/symbology"),
        ("state", {"battery_pct": 5, "paper": "ok", "error": "jam\u0000"}, "/error"),
        ("scan", {"code": "123", "extra": {"nested": ["ok", "x\u0000"]}}, "/extra/nested/1"),
        ("scan", {"code": "123", "k\u0000ey": "v"}, "/k"),
    ],
)
def test_nul_anywhere_in_an_event_is_refused_with_its_place(event_type, body, where):
    payload = json.dumps({"id": "e1", "ts": _ts(), **body})  # json.dumps escapes it as \u0000
    assert "\\u0000" in payload
    with pytest.raises(c.ContractError) as e:
        c.decode_event(event_type, payload, "dev-1")
    assert "U+0000" in e.value.reason and where in e.value.reason and e.value.device_id == "dev-1"


@pytest.mark.parametrize("escaped", ["\\ud800", "\\udfff", "x\\udc00y", "\\ud83d"])
def test_unpaired_surrogates_are_refused(escaped):
    payload = '{"id":"e1","ts":"%s","code":"%s"}' % (_ts(), escaped)
    with pytest.raises(c.ContractError) as e:
        c.decode_event("scan", payload.encode("utf-8"))
    assert "unpaired surrogate" in e.value.reason and "/code" in e.value.reason


def test_paired_surrogates_and_ordinary_text_pass():
    payload = '{"id":"e1","ts":"%s","code":"\\ud83d\\ude00 \u4e2d\u6587 \\u0001"}' % _ts()
    assert c.decode_event("scan", payload)["code"] == "\U0001f600 中文 \u0001"


def test_info_and_results_are_checked_too():
    with pytest.raises(c.ContractError, match="U\\+0000"):
        c.decode_info(json.dumps({"kind": "scale", "model": "M\u0000", "firmware": "1"}))
    with pytest.raises(c.ContractError, match="U\\+0000"):
        c.decode_result(json.dumps({"request_id": "r1", "ok": False, "error": "bad\u0000"}))


@pytest.mark.parametrize(
    "ts",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-08:00",
        "1970-01-01T00:00:00Z",
    ],
)
def test_device_times_far_from_now_are_refused(ts):
    with pytest.raises(c.ContractError) as e:
        c.decode_event("scan", json.dumps({"id": "e1", "ts": ts, "code": "1"}), "dev-1")
    assert "outside the accepted window" in e.value.reason and ts in e.value.reason


def test_the_time_window_is_configurable_and_checks_every_time_of_an_event():
    now = datetime.now(UTC)
    week_old = _ts(-timedelta(days=7))
    assert c.decode_event("scan", json.dumps({"id": "e1", "ts": week_old, "code": "1"}))
    with pytest.raises(c.ContractError, match="outside the accepted window"):
        c.decode_event(
            "scan",
            json.dumps({"id": "e1", "ts": week_old, "code": "1"}),
            ts_window=c.TimeWindow(past=timedelta(days=1), future=timedelta(minutes=5)),
        )
    assert c.decode_event("scan", json.dumps({"id": "e1", "ts": _ts(timedelta(hours=2)), "code": "1"}))
    with pytest.raises(c.ContractError, match="outside the accepted window"):
        c.decode_event("scan", json.dumps({"id": "e1", "ts": _ts(timedelta(days=3)), "code": "1"}))
    read = {
        "epc": "3034257BF7194E4000001A85",
        "antenna": 1,
        "rssi_dbm": -50,
        "count": 1,
        "first_seen": "0001-01-01T00:00:00Z",
        "last_seen": _ts(),
    }
    with pytest.raises(c.ContractError, match="/reads/0/first_seen"):
        c.decode_event("tags", json.dumps({"id": "e3", "ts": _ts(), "reads": [read]}))
    assert c.DEFAULT_TS_WINDOW.contains(now) and not c.DEFAULT_TS_WINDOW.contains(now + timedelta(days=2), now)

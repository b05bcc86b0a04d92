"""Issue 11 at the bus: an event with text no store can keep (NUL, unpaired surrogate) or a device time far from
now is dead-lettered with a clear reason in the batch's one transaction — it never reaches the outbox (so never
the central) and does not make the bus redo its batch one message at a time; every event of the batch, the
refused ones included, is acknowledged to its device after the commit."""

from __future__ import annotations

import json

import pytest

from hub.bus.writer import Bus, _Msg
from hub.protocol import contract

STORE = "test-store"


@pytest.fixture
def bus(hubctx):
    return Bus(hubctx.db, "mqtt://127.0.0.1:1", store_id=STORE)  # never connects: we feed messages directly


def _msgs(*pairs):
    return [
        _Msg(t, p if isinstance(p, bytes) else p.encode("utf-8"), i + 1, 1, False, 0) for i, (t, p) in enumerate(pairs)
    ]


def _topic(dev):
    return contract.event_topic(STORE, dev, "scan")


def _good(code):
    return contract.encode(contract.make_event("scan", code=code))


def _raw(event_id, code_json, ts=None):
    return '{"id":"%s","ts":"%s","code":%s}' % (event_id, ts or contract.utc_ts(), code_json)


def _scan_facts(conn):
    return [json.loads(r[0]) for r in conn.execute("SELECT payload FROM outbox WHERE kind = 'device.scan'")]


def test_unstorable_text_is_dead_lettered_and_never_reaches_the_outbox(bus, hubctx):
    batch = _msgs(
        (_topic("scanner-1"), _good("BEFORE")),
        (_topic("scanner-1"), _raw("nul-1", '"97802\\u000001379624"')),
        (_topic("scanner-1"), _raw("sur-1", '"ABC\\ud800"')),
        (_topic("scanner-1"), _good("AFTER")),
    )
    bus.apply_batch(batch)
    conn = hubctx.db.read()
    reasons = [r[0] for r in conn.execute("SELECT reason FROM dead_letters ORDER BY seq")]
    assert len(reasons) == 2
    assert "/code: contains U+0000 (NUL), which cannot be stored" in reasons[0]
    assert "/code: contains an unpaired surrogate U+D800" in reasons[1]
    codes = [f.get("code") for f in _scan_facts(conn)]
    assert codes == ["BEFORE", "AFTER"]
    assert not [r for r in conn.execute("SELECT payload FROM outbox") if "\\u0000" in r[0] or "\x00" in r[0]]
    assert bus.stats.applied == 2 and bus.stats.dead_lettered == 2
    # the refused events are the hub's now (dead letters): the device is told so, or its agent resends forever
    assert [m.ack for m in batch][1:3] == [("scanner-1", "nul-1"), ("scanner-1", "sur-1")]


@pytest.mark.parametrize(
    "ts", ["0001-01-01T00:00:00+08:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59Z"]
)
def test_a_device_time_out_of_range_is_refused_in_the_batch_without_redoing_it(bus, hubctx, monkeypatch, ts):
    isolated = []
    real = bus._apply_decoded

    def spy(decoded, now, *, isolate):
        isolated.append(isolate)
        return real(decoded, now, isolate=isolate)

    monkeypatch.setattr(bus, "_apply_decoded", spy)
    batch = _msgs(
        *[(_topic("scanner-2"), _good(f"OK{i}")) for i in range(5)],
        (_topic("scanner-2"), _raw("clock-1", '"X"', ts)),
        *[(_topic("scanner-2"), _good(f"OK{i}")) for i in range(5, 10)],
    )
    bus.apply_batch(batch)
    conn = hubctx.db.read()
    assert isolated == [False], "the batch was redone message by message"
    (reason,) = [r[0] for r in conn.execute("SELECT reason FROM dead_letters")]
    assert "outside the accepted window" in reason and ts in reason and "clock" in reason
    assert len(_scan_facts(conn)) == 10
    assert batch[5].ack == ("scanner-2", "clock-1")


def test_committed_events_and_results_are_keyed_for_the_device_ack(bus):
    ev = contract.make_event("scan", code="1")
    batch = _msgs(
        (_topic("scanner-3"), contract.encode(ev)),
        (contract.status_topic(STORE, "scanner-3"), b"online"),
        (contract.result_topic(STORE, "scanner-3"), contract.encode({"request_id": "r-9", "ok": True})),
        (contract.ack_topic(STORE, "scanner-3"), contract.encode(contract.make_ack(["x"]))),
        ("storehub/test-store/dev/scanner-3/evt/scan", b"{not json"),
    )
    bus.apply_batch(batch)
    assert [m.ack for m in batch] == [("scanner-3", ev["id"]), None, ("scanner-3", "result:r-9"), None, None]
    assert (
        bus.stats.dead_lettered == 2
    )  # the unknown request's result and the malformed JSON; the echoed ack is ignored

"""Hypothesis-fuzzed streams of good and malformed messages through a real Mosquitto (project
config) into a running bus: the bus keeps running, every bad message is dead-lettered with a
reason, every good event is applied exactly once (duplicates included)."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.bus.mosquitto import Mosquitto
from hub.bus.writer import Bus, _Msg
from hub.protocol import contract
from tests.support.bus import STORE, Device, make_hub_db, start_bus, wait_until
from tests.support.common import free_port

_tags = itertools.count()

# storable text (no NUL, no lone surrogate): anything else is refused by the contract, which the bad payloads cover
codes = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40)
good_event = st.one_of(
    st.builds(lambda c, s: ("scan", {"code": c, "symbology": s}), codes, st.sampled_from(["ean13", "qr", "code128"])),
    st.builds(lambda g, s: ("weight", {"grams": g, "stable": s}), st.integers(-(10**6), 10**7), st.booleans()),
    st.builds(lambda g: ("shelf", {"grams": g}), st.floats(0, 10**6, allow_nan=False)),
    st.builds(lambda p: ("state", {"paper": p}), st.sampled_from(["ok", "low", "out"])),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def _bad_payloads():
    return st.one_of(
        st.binary(max_size=60).filter(lambda b: not _is_valid_scan(b)),
        json_values.map(lambda v: json.dumps(v).encode()).filter(lambda b: not _is_valid_scan(b)),
        st.builds(lambda c: json.dumps({"id": "e1", "ts": "yesterday", "code": c}).encode(), codes),
        st.builds(
            lambda g: json.dumps({"id": "e2", "ts": contract.utc_ts(), "grams": str(g), "stable": True}).encode(),
            st.integers(),
        ),
        st.builds(
            lambda c, bad: json.dumps({"id": "e3", "ts": contract.utc_ts(), "code": c + bad}).encode(),
            codes,
            st.sampled_from(["\x00", "\ud800", "\udfff"]),
        ),
        st.builds(
            lambda y: json.dumps({"id": "e4", "ts": f"{y:04d}-06-01T00:00:00+08:00", "code": "1"}).encode(),
            st.sampled_from([1, 2, 1970, 2999, 9999]),
        ),
    )


def _is_valid_scan(b: bytes) -> bool:
    try:
        contract.decode_event("scan", b)
        return True
    except contract.ContractError:
        return False


bad_message = st.tuples(
    st.sampled_from(["evt/scan", "evt/weight", "evt/teleport", "bogus", "BAD", "status", "info"]), _bad_payloads()
)
stream = st.lists(
    st.one_of(good_event.map(lambda g: ("good", g)), bad_message.map(lambda b: ("bad", b)), st.just(("dup", None))),
    min_size=1,
    max_size=40,
)


def _materialise(items, tag):
    """Topics/payloads for one example; returns (messages, expected_good, expected_bad)."""
    dev = f"fz-{tag}"
    msgs, good, bad, last_good = [], 0, 0, None
    for kind, spec in items:
        if kind == "good":
            t, fields = spec
            ev = contract.make_event(t, **fields)
            last_good = (contract.event_topic(STORE, dev, t), contract.encode(ev))
            msgs.append(last_good)
            good += 1
        elif kind == "dup":
            if last_good:
                msgs.append(last_good)  # a redelivery: applied once
        else:
            where, payload = spec
            if where == "BAD":
                topic = f"storehub/{STORE}/dev/BAD-{tag}/evt/scan"
            elif where == "status":
                topic = contract.status_topic(STORE, dev)
                payload = b"?" + payload  # never exactly online/offline
            else:
                topic = f"storehub/{STORE}/dev/{dev}/{where}"
            msgs.append((topic, payload))
            bad += 1
    return dev, msgs, good, bad


def _counts(db, dev, tag):
    conn = db.read()
    applied = conn.execute("SELECT COUNT(*) FROM device_events_processed WHERE device_id = ?", (dev,)).fetchone()[0]
    dead = conn.execute("SELECT COUNT(*) FROM dead_letters WHERE topic LIKE ?", (f"%-{tag}/%",)).fetchone()[0]
    return applied, dead


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    if not Mosquitto.available():
        pytest.skip("mosquitto not installed")
    tmp = tmp_path_factory.mktemp("fuzz")
    broker = Mosquitto(free_port(), tmp / "broker").start()
    db = make_hub_db(tmp / "hub")
    bus = start_bus(db, broker.port)
    dev = Device("fuzzer", broker.port, will=False)
    yield db, bus, dev
    dev.close()
    bus.stop()
    broker.stop()
    db.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(items=stream)
def test_fuzzed_stream_through_mosquitto(live, items):
    db, bus, dev = live
    tag = next(_tags)
    device_id, msgs, good, bad = _materialise(items, tag)
    for topic, payload in msgs:
        dev.publish(topic, payload)
    dev.flush()
    wait_until(lambda: _counts(db, device_id, tag) == (good, bad), 20)
    assert bus._threads and all(t.is_alive() for t in bus._threads), "bus stopped"
    reasons = [r[0] for r in db.read().execute("SELECT reason FROM dead_letters WHERE topic LIKE ?", (f"%-{tag}/%",))]
    assert all(reasons)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=stream)
def test_fuzzed_batches_in_process(tmp_path_factory, items):
    """The same property on the batch path alone, with many more examples."""
    db = _db(tmp_path_factory)
    bus = Bus(db, "mqtt://127.0.0.1:1", store_id=STORE)
    tag = next(_tags)
    device_id, msgs, good, bad = _materialise(items, tag)
    bus.apply_batch([_Msg(t, p, i, 1, False, 0) for i, (t, p) in enumerate(msgs)])
    assert _counts(db, device_id, tag) == (good, bad)


_DB = {}


def _db(factory):
    if "db" not in _DB:
        _DB["db"] = make_hub_db(factory.mktemp("fuzz-inproc"))
    return _DB["db"]

"""Wire protocol and ingest semantics, on PostgreSQL and SQLite: exactly once, gaps, reordering."""

from __future__ import annotations

import gzip
import json

import pytest

from sync.central import ingest, stores
from sync.central.db import make_engine, migrate, partitions
from sync.protocol import ProtocolError, auth_headers, decode, encode, validate_batch
from sync.worker import backoff_delay
from tests.support.sync import central_db_url, central_totals


def ev(seq, kind="movement", ts="2026-11-20T10:00:00.000Z", **payload):
    if kind == "movement" and not payload:
        payload = {"kind": "sale", "item_id": "i1", "location_id": "l1", "qty_delta": -1, "reserved_delta": 0, "ts": ts}
    return {"seq": seq, "id": f"id-{seq}", "kind": kind, "ts": ts, "payload": payload}


def batch(after, through, seqs=None, store="s1", **kw):
    seqs = range(after + 1, through + 1) if seqs is None else seqs
    return {"store_id": store, "after": after, "through": through, "events": [ev(s, **kw) for s in seqs]}


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request, tmp_path):
    with central_db_url(request.param, tmp_path, "syncp") as url:
        eng = make_engine(url)
        migrate(eng)
        stores.add_store(eng, "s1", "Store 1", secret="shs_test-secret-1")
        yield eng
        eng.dispose()


def test_validate_batch_rejects_bad_input():
    good = batch(0, 3)
    assert [e["seq"] for e in validate_batch({**good, "events": good["events"][::-1]}, "s1")["events"]] == [1, 2, 3]
    bad = [
        ({**good, "store_id": "s2"}, "store_mismatch"),
        ({**good, "after": 5}, "bad_batch"),
        ({**good, "events": good["events"] + [ev(9)]}, "seq_out_of_range"),
        ({**good, "events": good["events"] + [ev(2)]}, "seq_duplicate"),
        ({**good, "events": [{**ev(1), "payload": "x"}]}, "bad_batch"),
        ({**good, "after": True}, "bad_batch"),
        ([], "bad_batch"),
    ]
    for doc, code in bad:
        with pytest.raises(ProtocolError) as exc:
            validate_batch(doc, "s1")
        assert exc.value.code == code, doc
    with pytest.raises(ProtocolError) as exc:
        decode(b"not gzip", "gzip")
    assert exc.value.code == "bad_encoding"
    with pytest.raises(ProtocolError):
        decode(gzip.compress(b"{nope"), "gzip")
    assert decode(encode({"a": "中"}), "gzip") == {"a": "中"}


def test_backoff_grows_with_jitter_and_is_capped():
    lo = [backoff_delay(n, 1.0, 60.0, rng=lambda: 0.0) for n in range(1, 10)]
    hi = [backoff_delay(n, 1.0, 60.0, rng=lambda: 1.0) for n in range(1, 10)]
    assert lo[:4] == [0.5, 1.0, 2.0, 4.0] and hi[:4] == [1.0, 2.0, 4.0, 8.0]
    assert max(hi) == 60.0 and lo[-1] == 30.0


def test_replay_and_overlap_apply_once(engine):
    a = ingest.apply_batch(engine, "s1", validate_batch(batch(0, 100), "s1"))
    assert a["acked_through"] == 100 and a["applied"] == 100 and a["duplicates"] == 0
    again = ingest.apply_batch(engine, "s1", validate_batch(batch(0, 100), "s1"))
    assert again == {**again, "acked_through": 100, "applied": 0, "duplicates": 100}
    overlap = ingest.apply_batch(engine, "s1", validate_batch(batch(50, 150), "s1"))
    assert overlap["acked_through"] == 150 and overlap["applied"] == 50 and overlap["duplicates"] == 50
    tot = central_totals(engine, "s1")
    assert tot["events"] == 150 and tot["stock"] == {("i1", "l1"): (-150, 0)}
    assert tot["movement_kinds"] == {"sale": 150}


def test_gap_is_held_until_filled_and_reordering_is_harmless(engine):
    ingest.apply_batch(engine, "s1", validate_batch(batch(0, 10), "s1"))
    # (10, 20] is lost in transit; (20, 30] and (30, 40] arrive first, out of order
    a = ingest.apply_batch(engine, "s1", validate_batch(batch(30, 40), "s1"))
    b = ingest.apply_batch(engine, "s1", validate_batch(batch(20, 30), "s1"))
    assert a["acked_through"] == b["acked_through"] == 10
    assert ingest.gaps(engine, "s1") == [(10, 20)]
    assert central_totals(engine, "s1")["stock"] == {("i1", "l1"): (-30, 0)}  # stored and folded already
    c = ingest.apply_batch(engine, "s1", validate_batch(batch(10, 20), "s1"))
    assert c["acked_through"] == 40 and ingest.gaps(engine, "s1") == []
    # the hub resends from 10 after the low acks: all ignored
    d = ingest.apply_batch(engine, "s1", validate_batch(batch(10, 40), "s1"))
    assert d["applied"] == 0 and d["acked_through"] == 40
    assert central_totals(engine, "s1")["stock"] == {("i1", "l1"): (-40, 0)}


def test_holes_declared_by_the_hub_are_covered(engine):
    # seqs 3 and 4 never existed on the hub: the batch covers (0, 6] with 4 events
    ack = ingest.apply_batch(engine, "s1", validate_batch(batch(0, 6, seqs=[1, 2, 5, 6]), "s1"))
    assert ack["acked_through"] == 6 and ack["applied"] == 4


def test_clock_skew_and_months(engine):
    # the hub clock jumped back a year: order still follows seq; each event lands in its own month partition
    from hub.protocol.timeutil import parse_iso

    now = parse_iso("2026-11-30T20:00:00Z")  # the central's clock; a store's may run a few hours ahead
    evs = [ev(1, ts="2026-11-30T23:59:59.000Z"), ev(2, ts="2025-11-01T00:00:00.000Z"), ev(3, ts="2026-12-01T00:00:00Z")]
    ack = ingest.apply_batch(
        engine, "s1", validate_batch({"store_id": "s1", "after": 0, "through": 3, "events": evs}, "s1"), now=now
    )
    assert ack["acked_through"] == 3 and ack["applied"] == 3 and ack["rejected"] == []
    if engine.dialect.name == "postgresql":
        assert {"events_p202511", "events_p202611", "events_p202612"} <= set(partitions(engine))
    # an unreadable time is refused on its own (kept, reported, never folded); it does not block the hub
    bad = {"store_id": "s1", "after": 3, "through": 4, "events": [ev(4, ts="yesterday")]}
    ack = ingest.apply_batch(engine, "s1", validate_batch(bad, "s1"), now=now)
    assert [(r["seq"], r["code"]) for r in ack["rejected"]] == [(4, "bad_ts")] and ack["applied"] == 0
    tot = central_totals(engine, "s1")
    assert tot["hw"] == 4 and tot["events"] == 3


def test_last_writer_projections_follow_seq_not_arrival(engine):
    item = {"id": "i1", "sku": "MILK", "name_en": "Milk", "unit": "each", "price_minor": 100}
    late = {
        "store_id": "s1",
        "after": 1,
        "through": 2,
        "events": [ev(2, kind="item.upsert", **{**item, "price_minor": 200})],
    }
    early = {"store_id": "s1", "after": 0, "through": 1, "events": [ev(1, kind="item.upsert", **item)]}
    ingest.apply_batch(engine, "s1", validate_batch(late, "s1"))
    ingest.apply_batch(engine, "s1", validate_batch(early, "s1"))
    from sqlalchemy import select

    from sync.central import schema as t

    with engine.connect() as c:
        assert c.execute(select(t.store_items.c.price_minor)).scalar() == 200


def test_http_auth_and_errors(engine, tmp_path):
    from sync.central.app import create_app
    from sync.central.config import CentralConfig

    app = create_app(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=engine)
    client = app.test_client()
    url = "/sync/v1/stores/s1/events"
    body = encode(batch(0, 5))
    gz = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    assert client.post(url, data=body, headers=gz).status_code == 401
    r = client.post(url, data=body, headers={**gz, **auth_headers("s1", "wrong")})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    r = client.post("/sync/v1/stores/s2/events", data=body, headers={**gz, **auth_headers("s1", "shs_test-secret-1")})
    assert r.status_code == 401
    good = {**gz, **auth_headers("s1", "shs_test-secret-1")}
    r = client.post(url, data=b"garbage", headers=good)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_encoding"
    r = client.post(url, data=encode(batch(0, 5, store="s9")), headers=good)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "store_mismatch"
    r = client.post(url, data=body, headers=good)
    assert r.status_code == 200 and r.get_json()["acked_through"] == 5
    r = client.post(url, data=json.dumps(batch(0, 5)).encode(), headers=auth_headers("s1", "shs_test-secret-1"))
    assert r.status_code == 200 and r.get_json()["duplicates"] == 5


def test_reused_seq_with_different_event_is_refused(engine, tmp_path):
    ingest.apply_batch(engine, "s1", validate_batch(batch(0, 10), "s1"))
    restored = batch(5, 12)
    for e in restored["events"]:
        e["id"] = "other-" + e["id"]  # same seqs, different outbox rows
    with pytest.raises(ingest.SeqReused):
        ingest.apply_batch(engine, "s1", validate_batch(restored, "s1"))
    tot = central_totals(engine, "s1")
    assert tot["hw"] == 10 and tot["events"] == 10  # nothing from the refused batch was kept
    from sync.central.app import create_app
    from sync.central.config import CentralConfig

    client = create_app(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=engine).test_client()
    r = client.post(
        "/sync/v1/stores/s1/events",
        data=encode(restored),
        headers={"Content-Encoding": "gzip", **auth_headers("s1", "shs_test-secret-1")},
    )
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "seq_reused"


def test_old_month_partition_detaches(engine):
    from datetime import date

    from sync.central.db import detach_month

    if engine.dialect.name != "postgresql":
        with pytest.raises(ValueError):  # SQLite keeps one table: nothing to detach
            detach_month(engine, date(2025, 1, 1))
        return
    evs = [ev(1, ts="2025-01-15T10:00:00.000Z"), ev(2, ts="2026-11-20T10:00:00.000Z")]
    ingest.apply_batch(engine, "s1", validate_batch({"store_id": "s1", "after": 0, "through": 2, "events": evs}, "s1"))
    assert detach_month(engine, date(2025, 1, 1)) == "events_p202501"
    assert "events_p202501" not in partitions(engine)
    tot = central_totals(engine, "s1")
    assert tot["events"] == 1 and tot["stock"] == {("i1", "l1"): (-2, 0)}  # projections keep the history
    # a replay of the archived month is still recognised by the high-water mark
    again = ingest.apply_batch(
        engine, "s1", validate_batch({"store_id": "s1", "after": 0, "through": 2, "events": evs}, "s1")
    )
    assert again["applied"] == 0 and again["acked_through"] == 2

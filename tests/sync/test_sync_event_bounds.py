"""Event times outside the accepted window are refused one by one — on the real PostgreSQL (no
partition for an absurd month) and on SQLite — kept and reported, never folded, never counted twice,
and recorded by the hub's worker."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.protocol.timeutil import iso, parse_iso, utcnow
from hub.synclink import state
from hub.synclink.state import status
from sync.central import ingest, stores
from sync.central import schema as t
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine, migrate, partitions
from sync.protocol import validate_batch
from sync.worker import SyncWorker, WorkerConfig
from tests.support.sync import (
    PgSchema,
    ThreadedCentral,
    central_db_url,
    central_totals,
    make_hub,
    pg_available,
)

NOW = parse_iso("2026-11-20T12:00:00Z")


def ev(seq, ts, qty=-1):
    return {
        "seq": seq,
        "id": f"id-{seq}",
        "kind": "movement",
        "ts": ts,
        "payload": {
            "kind": "sale",
            "item_id": "i1",
            "location_id": "l1",
            "qty_delta": qty,
            "reserved_delta": 0,
            "ts": ts,
        },
    }


def push(engine, after, through, events, **kw):
    doc = {"store_id": "s1", "after": after, "through": through, "events": events}
    return ingest.apply_batch(engine, "s1", validate_batch(doc, "s1"), now=kw.pop("now", NOW), **kw)


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request, tmp_path):
    with central_db_url(request.param, tmp_path, "syncb") as url:
        eng = make_engine(url)
        migrate(eng)
        stores.add_store(eng, "s1", "Store 1", secret="shs_test-secret-1")
        yield eng
        eng.dispose()


def _refused(engine):
    with engine.connect() as c:
        rows = c.execute(
            select(t.rejected_events.c.seq, t.rejected_events.c.code).order_by(t.rejected_events.c.seq)
        ).all()
        total = c.execute(select(t.stores.c.rejected_total).where(t.stores.c.store_id == "s1")).scalar()
    return [tuple(r) for r in rows], total


def test_absurd_times_are_refused_per_event_and_make_no_partition(engine):
    evs = [
        ev(1, "2026-11-20T10:00:00.000Z"),
        ev(2, "1970-01-01T00:00:05.000Z"),
        ev(3, "2999-06-01T00:00:00.000Z"),
        ev(4, "2026-11-21T08:00:00.000Z"),
        ev(5, "2026-13-45T00:00:00.000Z"),
        ev(6, "2026-11-22T11:00:00+08:00"),
    ]
    ack = push(engine, 0, 6, evs)
    assert ack["acked_through"] == 6 and ack["applied"] == 3 and ack["duplicates"] == 0
    assert [(r["seq"], r["code"]) for r in ack["rejected"]] == [(2, "ts_too_old"), (3, "ts_in_future"), (5, "bad_ts")]
    assert all(r["message"] and r["id"] == f"id-{r['seq']}" for r in ack["rejected"])
    if engine.dialect.name == "postgresql":
        assert partitions(engine) == ["events_p202611"]
    tot = central_totals(engine, "s1")
    assert tot["events"] == 3 and tot["stock"] == {("i1", "l1"): (-3, 0)} and tot["movement_kinds"] == {"sale": 3}
    assert _refused(engine) == ([(2, "ts_too_old"), (3, "ts_in_future"), (5, "bad_ts")], 3)

    # the acknowledgement was lost: the replay is all duplicates, the refusals are reported again, nothing moves
    again = push(engine, 0, 6, evs)
    assert again["applied"] == 0 and again["duplicates"] == 6 and [r["seq"] for r in again["rejected"]] == [2, 3, 5]
    tot2 = central_totals(engine, "s1")
    assert tot2["stock"] == tot["stock"] and tot2["events"] == 3
    assert _refused(engine)[1] == 3


def test_refused_event_above_a_gap_is_not_counted_twice(engine):
    push(engine, 0, 2, [ev(1, "2026-11-20T10:00:00.000Z"), ev(2, "2026-11-20T10:00:01.000Z")])
    # (4, 6] arrives before (2, 4]: seq 5 is absurd and waits above the gap with the others
    late = [ev(5, "3026-01-01T00:00:00.000Z"), ev(6, "2026-11-20T10:00:06.000Z")]
    ack = push(engine, 4, 6, late)
    assert ack["acked_through"] == 2 and [r["seq"] for r in ack["rejected"]] == [5]
    # the hub resends from its cursor, the window having moved (a day later): still refused once, folded never
    ack = push(
        engine,
        2,
        6,
        [ev(3, "2026-11-20T10:00:03.000Z"), ev(4, "2026-11-20T10:00:04.000Z")] + late,
        now=NOW + timedelta(days=1),
    )
    assert ack["acked_through"] == 6 and ack["applied"] == 2 and ack["duplicates"] == 2
    assert [r["seq"] for r in ack["rejected"]] == [5]
    tot = central_totals(engine, "s1")
    assert tot["events"] == 5 and tot["stock"] == {("i1", "l1"): (-5, 0)} and tot["hw"] == 6
    assert _refused(engine) == ([(5, "ts_in_future")], 1)


def test_window_is_configurable(engine):
    bounds = ingest.EventBounds(earliest=date(2026, 11, 1), max_future_hours=1)
    evs = [
        ev(1, "2026-10-31T23:59:59.000Z"),
        ev(2, "2026-11-01T00:00:00.000Z"),
        ev(3, iso(NOW + timedelta(minutes=59))),
        ev(4, iso(NOW + timedelta(minutes=61))),
    ]
    ack = push(engine, 0, 4, evs, bounds=bounds)
    assert [(r["seq"], r["code"]) for r in ack["rejected"]] == [(1, "ts_too_old"), (4, "ts_in_future")]
    assert "2026-11-01" in ack["rejected"][0]["message"] and "1 h ahead" in ack["rejected"][1]["message"]
    # defaults: 2020-01-01 onwards, 48 h ahead
    assert ingest.EventBounds().window(NOW) == ("2020-01-01T00:00:00", "2026-11-22T12:00:00")
    cfg = CentralConfig(data_dir="/nonexistent", max_event_future_hours=2, earliest_event_date=date(2024, 1, 1))
    assert cfg.event_bounds() == ingest.EventBounds(date(2024, 1, 1), 2)


@pytest.mark.parametrize("backend", ["postgres"])
def test_hub_records_the_refusals_and_keeps_syncing(backend, tmp_path, monkeypatch):
    """A hub whose clock was wrong for a moment: its worker pushes to the central on PostgreSQL over
    HTTP, the bad rows are refused and recorded on the hub, the good ones — before and after — arrive."""
    if not pg_available():
        pytest.skip("PostgreSQL not reachable")
    schema = PgSchema("syncw")
    engine = make_engine(schema.url)
    server = None
    cfg, db, ctx = make_hub(tmp_path / "hub", "s1")
    try:
        app = create_app(CentralConfig(data_dir=tmp_path / "c", testing=True, db_url=schema.url), engine=engine)
        server = ThreadedCentral(app)
        secret = stores.add_store(engine, "s1")
        with db.write() as conn:  # the hub clock jumped to 2099 for one sale, then NTP fixed it
            with monkeypatch.context() as mp:
                mp.setattr(ledger, "now_iso", lambda: "2099-01-01T00:00:00.000Z")
                ledger.post(
                    conn, MovementRequest("sale", ctx["items"][0], ctx["bins"][0], 1, "pos", "test", ledger.new_key())
                )
            # the sale's movement and finance's cost of it (hub.finance.valuation), both stamped 2099
            bad = [r[0] for r in conn.execute("SELECT seq FROM outbox WHERE ts LIKE '2099%' ORDER BY seq")]
            ledger.post(
                conn, MovementRequest("sale", ctx["items"][0], ctx["bins"][0], 2, "pos", "test", ledger.new_key())
            )
        worker = SyncWorker(db, WorkerConfig(central_url=server.url, store_id="s1", secret=secret, batch_size=3))
        while worker.push_once():
            pass
        top = db.read().execute("SELECT MAX(seq) FROM outbox").fetchone()[0]
        assert worker.cursor() == top
        st = status(db.read())
        assert st["rejected_total"] == len(bad) == 2 and sorted(r["seq"] for r in st["rejected"]) == bad
        assert all(r["code"] == "ts_in_future" and "ahead" in r["message"] for r in st["rejected"])
        # a heartbeat re-acknowledges the range: recorded once, not twice
        worker.push_once(heartbeat=True)
        assert state.get(db.read(), "uplink_rejected_total") == len(bad)
        assert partitions(engine) == [f"events_p{utcnow():%Y%m}"]
        tot = central_totals(engine, "s1")
        assert tot["hw"] == top and tot["events"] == top - len(bad)
        hub_sales = db.read().execute("SELECT SUM(qty_delta) FROM movements WHERE kind = 'sale'").fetchone()[0]
        central_sales = tot["movement_kinds"]["sale"]
        assert hub_sales == -3 and central_sales == 1  # the 2099 sale is refused, not folded
    finally:
        if server:
            server.close()
        db.close()
        engine.dispose()
        schema.drop()

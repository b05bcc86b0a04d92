"""One event the central cannot store never blocks a store's sync (issue 11, hole 1): an event whose text holds
NUL (U+0000) or an unpaired surrogate is refused into ``rejected_events`` on its own — the good events around it
are stored and folded, the acknowledgement reports it, replays are not conflicts, later batches flow — on the real
PostgreSQL (which answered 500 to the whole batch, on every retry) and on SQLite. And over HTTP: a hub whose outbox
already holds such an event (recorded before the entry checks) syncs past it and records the refusal."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hub.kernel import outbox
from hub.protocol.timeutil import iso, utcnow
from hub.synclink.state import status
from sync.central import ingest, stores
from sync.central import schema as t
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine, migrate
from sync.protocol import validate_batch
from sync.worker import SyncWorker, WorkerConfig
from tests.support.sync import ThreadedCentral, central_db_url, central_totals, make_hub, sell

TS = iso(utcnow())


def ev(seq, *, note="pos", event_id=None, extra=None):
    payload = {
        "kind": "sale",
        "item_id": "i1",
        "location_id": "l1",
        "qty_delta": -1,
        "reserved_delta": 0,
        "ts": TS,
        "note": note,
        **(extra or {}),
    }
    return {"seq": seq, "id": event_id or f"id-{seq}", "kind": "movement", "ts": TS, "payload": payload}


def push(engine, after, through, events):
    # through the wire format, as the worker sends it: json escapes NUL as \u0000 and a lone surrogate as \udXXX
    doc = json.loads(json.dumps({"store_id": "s1", "after": after, "through": through, "events": events}))
    return ingest.apply_batch(engine, "s1", validate_batch(doc, "s1"))


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request, tmp_path):
    with central_db_url(request.param, tmp_path, "syncu") as url:
        eng = make_engine(url)
        migrate(eng)
        stores.add_store(eng, "s1", "Store 1", secret="shs_test-secret-1")
        yield eng
        eng.dispose()


def test_unstorable_events_are_refused_one_by_one_and_sync_goes_on(engine):
    evs = [
        ev(1),
        ev(2, note="jam\u0000"),
        ev(3),
        ev(4, note="x\ud800y"),
        ev(5, extra={"k\u0000": "v"}),
        ev(6, event_id="id-\u00006"),
        ev(7),
    ]
    ack = push(engine, 0, 7, evs)
    assert ack["acked_through"] == 7 and ack["applied"] == 3 and ack["duplicates"] == 0
    assert [(r["seq"], r["code"]) for r in ack["rejected"]] == [(n, "unstorable_text") for n in (2, 4, 5, 6)]
    assert "/payload/note" in ack["rejected"][0]["message"] and "U+0000" in ack["rejected"][0]["message"]
    assert "unpaired surrogate" in ack["rejected"][1]["message"]
    tot = central_totals(engine, "s1")
    assert tot["events"] == 3 and tot["stock"] == {("i1", "l1"): (-3, 0)} and tot["hw"] == 7
    with engine.connect() as c:
        kept = {r.seq: r for r in c.execute(select(t.rejected_events))}
        refused_total = c.execute(select(t.stores.c.rejected_total)).scalar()
    assert sorted(kept) == [2, 4, 5, 6] and refused_total == 4
    # kept for diagnosis with the unstorable characters replaced
    assert kept[2].payload["note"] == "jam\ufffd" and kept[4].payload["note"] == "x\ufffdy"
    assert kept[5].payload["k\ufffd"] == "v" and kept[6].event_id == "id-\ufffd6"

    # the acknowledgement was lost: the replay is all duplicates (not a reused seq), reported again
    again = push(engine, 0, 7, evs)
    assert again["acked_through"] == 7 and again["applied"] == 0 and again["duplicates"] == 7
    assert [r["seq"] for r in again["rejected"]] == [2, 4, 5, 6]
    # and the store's later batches flow
    later = push(engine, 7, 9, [ev(8), ev(9)])
    assert later["acked_through"] == 9 and later["applied"] == 2 and later["rejected"] == []
    assert central_totals(engine, "s1")["stock"] == {("i1", "l1"): (-5, 0)}


def test_a_hub_with_a_nul_in_its_outbox_syncs_past_it_on_postgres(tmp_path):
    """The measured failure: head office stuck while the hub went on. Over HTTP to a PostgreSQL central."""
    with central_db_url("postgres", tmp_path, "syncuw") as url:
        engine = make_engine(url)
        server = None
        cfg, db, ctx = make_hub(tmp_path / "hub", "s1")
        try:
            server = ThreadedCentral(
                create_app(CentralConfig(data_dir=tmp_path / "c", testing=True, db_url=url), engine=engine)
            )
            secret = stores.add_store(engine, "s1")
            sell(db, ctx, 20)
            with db.write() as conn:  # as a device's scan with a NUL reached the outbox before the entry checks
                bad_seq = outbox.record(
                    conn,
                    "device.scan",
                    {
                        "device_id": "scanner-1",
                        "event_id": "ev-1",
                        "code": "59012\u000034",
                        "symbology": None,
                        "item_id": None,
                        "ts": TS,
                    },
                )
            sell(db, ctx, 20)
            worker = SyncWorker(db, WorkerConfig(central_url=server.url, store_id="s1", secret=secret, batch_size=7))
            while worker.push_once():
                pass
            top = db.read().execute("SELECT MAX(seq) FROM outbox").fetchone()[0]
            assert worker.cursor() == top
            st = status(db.read())
            assert st["rejected_total"] == 1 and st["rejected"][0]["seq"] == bad_seq
            assert st["rejected"][0]["code"] == "unstorable_text" and "/payload/code" in st["rejected"][0]["message"]
            tot = central_totals(engine, "s1")
            assert tot["hw"] == top and tot["events"] == top - 1
            # later sales still arrive
            sell(db, ctx, 10)
            while worker.push_once():
                pass
            top = db.read().execute("SELECT MAX(seq) FROM outbox").fetchone()[0]
            assert worker.cursor() == top and central_totals(engine, "s1")["events"] == top - 1
        finally:
            if server is not None:
                server.close()
            engine.dispose()
            db.close()

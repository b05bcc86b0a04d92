"""The sync worker keeps its progress: a backlog pushed with batches in flight saves the cursor after
each acknowledged batch, so one failing batch never makes the retry resend what the central already
acknowledged (issue 11, hole 4); pruning acknowledged rows keeps the live stream and status right."""

from __future__ import annotations

import gzip
import io
import json
import threading

import pytest

from hub.http import live
from hub.kernel import outbox
from hub.kernel.events import EventHub
from hub.synclink.state import status
from sync.central import stores
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine, migrate
from sync.worker import SyncError, SyncWorker, WorkerConfig
from tests.support.sync import ThreadedCentral, central_totals, hub_totals, make_hub, sell


class CountingCentral:
    """WSGI middleware in front of the real central app: records every seq each ``POST .../events`` carried
    and every ``acked_through`` it answered, and answers 500 (without passing it on) to the first batch
    that starts after ``fail_after`` — the central's side of a flaky link or a failing batch."""

    def __init__(self, app, fail_after: int):
        self.app = app
        self.fail_after = fail_after
        self.failed = False
        self.received: list[int] = []
        self.acks: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST" or not environ["PATH_INFO"].endswith("/events"):
            return self.app(environ, start_response)
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        body = json.loads(gzip.decompress(raw) if environ.get("HTTP_CONTENT_ENCODING") == "gzip" else raw)
        with self.lock:
            if not self.failed and body["after"] == self.fail_after:
                self.failed = True
                start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")])
                return [b'{"error": {"code": "internal", "message": "injected failure", "details": {}}}']
            self.received += [e["seq"] for e in body["events"]]
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        status_line: list[str] = []

        def capture(status_, headers, exc_info=None):
            status_line.append(status_)
            return start_response(status_, headers, exc_info)

        out = b"".join(self.app(environ, capture))
        if status_line and status_line[0].startswith("200"):
            with self.lock:
                self.acks.append(int(json.loads(out)["acked_through"]))
        return [out]


@pytest.fixture
def flaky(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(engine)
    batch = 400
    app = CountingCentral(
        create_app(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=engine), fail_after=2 * batch
    )  # the third batch of the backlog fails
    server = ThreadedCentral(app)
    secret = stores.add_store(engine, "s1")
    cfg, db, ctx = make_hub(tmp_path / "hub", "s1")
    worker = SyncWorker(
        db,
        WorkerConfig(
            central_url=server.url, store_id="s1", secret=secret, batch_size=batch, retention_days=0, prune_chunk=1000
        ),
    )
    yield {"engine": engine, "app": app, "db": db, "ctx": ctx, "worker": worker, "batch": batch}
    server.close()
    db.close()
    engine.dispose()


def test_a_failing_batch_does_not_resend_what_was_acknowledged(flaky):
    db, app, worker, batch = flaky["db"], flaky["app"], flaky["worker"], flaky["batch"]
    sell(db, flaky["ctx"], 4000)
    total = hub_totals(db)["outbox_max"]
    assert status(db.read())["pending"] > 2 * batch  # a backlog: pushed with batches in flight
    with pytest.raises(SyncError):
        worker.step()
    assert app.failed
    acked_before_failure = max(app.acks)
    assert acked_before_failure >= 2 * batch  # batches 1 and 2 were acknowledged...
    assert status(db.read())["uplink_cursor"] == acked_before_failure  # ...and the hub remembers that
    while worker.step():  # recovery
        pass
    st = status(db.read())
    assert st["uplink_cursor"] == st["outbox_max_seq"] == total and st["pending"] == 0
    # what the central received: every seq once, except only batches that were in flight past the
    # failure and never acknowledged; nothing at or below the last acknowledgement came twice
    counts: dict[int, int] = {}
    for seq in app.received:
        counts[seq] = counts.get(seq, 0) + 1
    assert set(counts) == set(range(1, total + 1))
    resent = sorted(s for s, n in counts.items() if n > 1)
    assert not [s for s in resent if s <= acked_before_failure], (
        f"{len([s for s in resent if s <= acked_before_failure])} acknowledged events were sent again"
    )
    assert len(resent) <= batch  # at most the one batch that was in flight
    cen = central_totals(flaky["engine"], "s1")
    assert cen["stock"] == hub_totals(db)["stock"] and cen["events"] == cen["distinct_event_ids"] == total


def test_pruned_outbox_keeps_status_and_the_live_stream_right(flaky):
    db, worker = flaky["db"], flaky["worker"]
    flaky["app"].failed = True  # no injected failure in this test
    sell(db, flaky["ctx"], 900)
    while worker.step():
        pass
    while worker.prune():  # retention 0: every acknowledged row goes
        pass
    conn = db.read()
    last = outbox.last_seq(conn)
    assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    st = status(conn)
    assert st["outbox_max_seq"] == st["uplink_cursor"] == last > 900 and st["pending"] == 0
    events = EventHub(db)
    assert events.latest_seq() == last  # not 0: a resume point never moves back

    class Ctx:
        pass

    ctx = Ctx()
    ctx.db, ctx.events = db, events
    # a handheld reconnects with a Last-Event-ID whose row was pruned: the stream resumes after it
    stream = live.stream(ctx, "token", last - 300, poll_s=0.01, max_s=5.0)
    hello = next(stream)
    assert f"id: {last - 300}\n" in hello
    sell(db, flaky["ctx"], 1)  # one sale: a live "movement" fact (and finance's cost of it, not live)
    first = db.read().execute("SELECT MIN(seq) FROM outbox").fetchone()[0]
    seq = outbox.last_seq(db.read())
    assert first == last + 1  # AUTOINCREMENT: a pruned seq is never reused
    got = next(stream)
    assert f"id: {first}\n" in got
    stream.close()
    while worker.step():
        pass
    assert status(db.read())["uplink_cursor"] == seq

"""Head-office day figures follow each store's own timezone (hub setting ``timezone``, carried with
every push); times stay UTC. On the real PostgreSQL and on SQLite."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel import settings
from hub.kernel.errors import ValidationError
from hub.protocol.timeutil import parse_iso
from sync.central import ingest, projections, reports, stores
from sync.central import schema as t
from sync.central.db import make_engine, migrate
from sync.central.downlink import author
from sync.protocol import ProtocolError, validate_batch
from sync.worker import SyncWorker, WorkerConfig
from tests.support.sync import ThreadedCentral, central_db_url, make_hub

NOW = parse_iso("2026-11-21T03:00:00Z")


def test_fold_puts_movements_on_the_local_day():
    evs = [
        {
            "seq": 1,
            "id": "a",
            "kind": "movement",
            "ts": "2026-11-20T15:59:59.000Z",
            "payload": {"kind": "sale", "item_id": "i", "location_id": "l", "qty_delta": -1},
        },
        {
            "seq": 2,
            "id": "b",
            "kind": "movement",
            "ts": "2026-11-20T16:00:00.000Z",
            "payload": {"kind": "sale", "item_id": "i", "location_id": "l", "qty_delta": -1},
        },
    ]
    shanghai = projections.fold(evs, tz="Asia/Shanghai").daily
    assert sorted(d for d, _i, _k in shanghai) == [date(2026, 11, 20), date(2026, 11, 21)]
    assert {d for d, _i, _k in projections.fold(evs).daily} == {date(2026, 11, 20)}
    assert {d for d, _i, _k in projections.fold(evs, tz="America/New_York").daily} == {date(2026, 11, 20)}
    assert projections.is_zone("Asia/Kathmandu") and not projections.is_zone("Mars/Olympus")


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request, tmp_path):
    with central_db_url(request.param, tmp_path, "synctz") as url:
        eng = make_engine(url)
        migrate(eng)
        yield eng
        eng.dispose()


def _sell_at(db, ctx, ts: str, monkeypatch, qty: int = 1) -> None:
    with db.write() as conn, monkeypatch.context() as mp:
        mp.setattr(ledger, "now_iso", lambda: ts)
        ledger.post(
            conn, MovementRequest("sale", ctx["items"][0], ctx["bins"][0], qty, "pos", "test", ledger.new_key())
        )


def test_day_figures_use_each_stores_local_day(engine, tmp_path, monkeypatch):
    from sync.central.app import create_app
    from sync.central.config import CentralConfig

    app = create_app(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=engine)
    server = ThreadedCentral(app)
    hubs = []
    try:
        for sid, tz in (("sh-1", "Asia/Shanghai"), ("ny-1", "America/New_York")):
            secret = stores.add_store(engine, sid)
            cfg, db, ctx = make_hub(tmp_path / sid, sid)
            with db.write() as conn:
                settings.put(conn, "timezone", tz)
            # 23:30 and 00:30 in Shanghai, 10:30 and 11:30 the same morning in New York
            _sell_at(db, ctx, "2026-11-20T15:30:00.000Z", monkeypatch)
            _sell_at(db, ctx, "2026-11-20T16:30:00.000Z", monkeypatch, qty=2)
            worker = SyncWorker(db, WorkerConfig(central_url=server.url, store_id=sid, secret=secret))
            while worker.push_once():
                pass
            hubs.append(db)
        with engine.connect() as c:
            assert dict(c.execute(select(t.stores.c.store_id, t.stores.c.timezone)).all()) == {
                "sh-1": "Asia/Shanghai",
                "ny-1": "America/New_York",
            }
        rows = reports.movements_by_day(engine, start=date(2026, 11, 19), end=date(2026, 11, 22), kind="sale")
        assert [(r["store_id"], r["day"], r["qty_each"]) for r in rows] == [
            ("ny-1", "2026-11-20", -3),
            ("sh-1", "2026-11-20", -1),
            ("sh-1", "2026-11-21", -2),
        ]
        # times themselves stay UTC
        with engine.connect() as c:
            assert all(ts.endswith("Z") for ts in c.execute(select(t.events.c.hub_ts)).scalars())
        # "today" by default is the store's today
        assert reports.today(engine, "sh-1", now=NOW) == date(2026, 11, 21)
        assert reports.today(engine, "ny-1", now=NOW) == date(2026, 11, 20)
        assert reports.today(engine, now=NOW) == date(2026, 11, 21)
        assert {r["store_id"]: r["timezone"] for r in reports.stores_overview(engine)}["ny-1"] == "America/New_York"
    finally:
        server.close()
        for db in hubs:
            db.close()


def test_order_and_count_filters_use_the_local_day(engine):
    stores.add_store(engine, "sh-1")
    evs = [
        {
            "seq": 1,
            "id": "o1",
            "kind": "order.created",
            "ts": "2026-11-20T17:00:00.000Z",
            "payload": {"id": "ord-1", "status": "new", "created_at": "2026-11-20T17:00:00.000Z"},
        },
        {
            "seq": 2,
            "id": "o2",
            "kind": "order.status",
            "ts": "2026-11-20T17:30:00.000Z",
            "payload": {"order_id": "ord-1", "to": "ready", "ts": "2026-11-20T17:30:00.000Z"},
        },
        {
            "seq": 3,
            "id": "c1",
            "kind": "count.approved",
            "ts": "2026-11-20T18:00:00.000Z",
            "payload": {
                "session_id": "cs-1",
                "ts": "2026-11-20T18:00:00.000Z",
                "totals": {
                    "lines": 4,
                    "lines_exact": 3,
                    "shrink_cost_minor": -800,
                    "gain_cost_minor": 0,
                    "expected_cost_minor": 10000,
                },
            },
        },
    ]
    doc = {"store_id": "sh-1", "after": 0, "through": 3, "events": evs, "timezone": "Asia/Shanghai"}
    ingest.apply_batch(engine, "sh-1", validate_batch(doc, "sh-1"), now=NOW, timezone_name="Asia/Shanghai")
    nov20, nov21 = date(2026, 11, 20), date(2026, 11, 21)
    assert reports.order_fulfilment(engine, start=nov20, end=nov20) == []
    (o,) = reports.order_fulfilment(engine, start=nov21, end=nov21)
    assert o["orders"] == 1 and o["ready_median_min"] == 30.0
    assert reports.count_accuracy(engine, start=nov20, end=nov20) == []
    (c,) = reports.count_accuracy(engine, start=nov21, end=nov21)
    assert c["sessions"] == 1 and c["shrink_cost_minor"] == 800 and c["line_accuracy_pct"] == 75.0


def test_timezone_is_checked(engine):
    stores.add_store(engine, "s1")
    with pytest.raises(ProtocolError):
        validate_batch({"store_id": "s1", "after": 0, "through": 0, "events": [], "timezone": 8}, "s1")
    with pytest.raises(ValidationError):
        author(engine, kind="setting", key="timezone", payload={"value": "Mars/Olympus"}, author="hq")
    author(engine, kind="setting", key="timezone", payload={"value": "Europe/Berlin"}, author="hq")


def test_hub_timezone_is_set_by_init_and_checked_on_every_write(tmp_path):
    from click.testing import CliRunner

    from hub.cli import main
    from hub.store import open_db

    r = CliRunner()
    out = r.invoke(main, ["init", "--data-dir", str(tmp_path), "--store", "ny-9", "--timezone", "America/New_York"])
    assert out.exit_code == 0 and "America/New_York" in out.output, out.output
    out = r.invoke(main, ["init", "--data-dir", str(tmp_path), "--timezone", "Mars/Olympus"])
    assert out.exit_code == 2 and "Mars/Olympus" in out.output and "IANA" in out.output
    _cfg, db = open_db(tmp_path)
    try:
        assert settings.get(db.read(), "timezone") == "America/New_York"  # the bad value changed nothing
        with pytest.raises(ValidationError):
            with db.write() as conn:
                settings.put(conn, "timezone", "UTC+8")
        assert settings.get(db.read(), "timezone") == "America/New_York"
    finally:
        db.close()

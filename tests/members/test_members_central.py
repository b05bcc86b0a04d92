"""Points across stores, exactly once: two hubs and a central (gunicorn, PostgreSQL) with concurrent earns and
burns for one member, the central SIGKILLed and restarted mid-run, a push replayed from zero — balances exact
everywhere; an overdraw reported; the expiry job run twice expires once."""

from __future__ import annotations

import random
import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from hub.kernel import settings
from hub.members import identity, points, workflow
from hub.synclink import state
from sync.central import members as central_members
from sync.central import stores
from sync.central.db import make_engine, migrate
from sync.worker import SyncError, SyncWorker, WorkerConfig
from tests.support.common import free_port
from tests.support.sync import CentralProcess, PgSchema, make_hub, pg_available

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
CONSENT = {"purpose": "loyalty", "granted": True}


@pytest.fixture
def chain(tmp_path):
    if not pg_available():
        pytest.skip("PostgreSQL not reachable")
    schema = PgSchema("members")
    engine = make_engine(schema.url)
    migrate(engine)
    central = CentralProcess(schema.url, tmp_path / "central", free_port(), workers=2).start()
    hubs = {}
    for sid in ("store-a", "store-b"):
        secret = stores.add_store(engine, sid)
        _cfg, db, _ctx = make_hub(tmp_path / sid, sid)
        hubs[sid] = {
            "db": db,
            "worker": SyncWorker(db, WorkerConfig(central_url=central.url, store_id=sid, secret=secret, batch_size=50)),
        }
    yield {"engine": engine, "central": central, "hubs": hubs}
    central.kill()
    for h in hubs.values():
        h["db"].close()
    engine.dispose()
    schema.drop()


def _sync(worker, tries: int = 200) -> None:
    """Push everything and pull everything, riding out a central that is down."""
    for _ in range(tries):
        try:
            while worker.push_once():
                pass
            while worker.pull_once():
                pass
            return
        except SyncError:
            time.sleep(0.1)
    raise AssertionError("could not sync")


def _fold_all(hubs, member_id) -> int:
    return sum(
        h["db"]
        .read()
        .execute("SELECT COALESCE(SUM(points), 0) FROM points_entries WHERE member_id = ?", (member_id,))
        .fetchone()[0]
        for h in hubs.values()
    )


def test_two_stores_one_member_exactly_once_through_kill_and_replay(chain):
    engine, central, hubs = chain["engine"], chain["central"], chain["hubs"]
    a, b = hubs["store-a"], hubs["store-b"]
    with a["db"].write() as conn:
        m, _ = identity.enrol(conn, phone="13812345678", consent=CONSENT, actor="t")
        workflow.earn_for_sale(conn, m["id"], {"id": "opening", "lines": [{"sku": "X", "net_minor": 2_000_000}]})
    mid = m["id"]
    _sync(a["worker"])
    _sync(b["worker"])
    with b["db"].write() as conn:  # store B knows the member (by card) and the balance from the central
        assert identity.recognise(conn, "SHM-" + m["card_no"])["id"] == mid
        assert points.balance(conn, mid) == 20_000

    threading.Event()
    errors: list[BaseException] = []

    def trade(h, tag: str, seed: int) -> None:
        rng = random.Random(seed)
        try:
            for i in range(40):
                with h["db"].write() as conn:
                    state.put(conn, "last_ack_at", "2999-01-01T00:00:00Z")  # count as online: no offline cap
                    if rng.random() < 0.6:
                        workflow.earn_for_sale(
                            conn,
                            mid,
                            {"id": f"{tag}-sale-{i}", "lines": [{"sku": "X", "net_minor": rng.randint(100, 90_000)}]},
                        )
                    else:
                        try:
                            workflow.burn(conn, mid, rng.randint(100, 400), f"{tag}-burn-{i}")
                        except Exception as exc:  # a refused burn (balance) is a clear answer, not a failure
                            assert getattr(exc, "code", "") in ("insufficient_points",), exc
                try:
                    h["worker"].push_once()
                    h["worker"].pull_once()
                except SyncError:
                    time.sleep(0.05)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=trade, args=(h, sid, n)) for n, (sid, h) in enumerate(hubs.items())]
    for t in threads:
        t.start()
    time.sleep(0.5)
    central.kill()  # SIGKILL mid-run: an ingest in flight rolls back as a whole
    time.sleep(0.5)
    central.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for h in hubs.values():
        _sync(h["worker"])

    # replay store A's whole outbox from zero: the central ignores every duplicate
    with a["db"].write() as conn:
        state.put(conn, "uplink_cursor", 0)
    before = central_members.balance(engine, mid)
    _sync(a["worker"])
    for h in hubs.values():
        _sync(h["worker"])

    fold = _fold_all(hubs, mid)
    assert central_members.balance(engine, mid) == before == fold == central_members.fold(engine, mid)
    with engine.connect() as c:
        n = c.execute(select(func.count()).select_from(central_members.points_entries)).scalar()
        parts = dict(
            c.execute(
                select(
                    central_members.member_store_points.c.store_id, central_members.member_store_points.c.points
                ).where(central_members.member_store_points.c.member_id == mid)
            ).all()
        )
    hub_entries = sum(
        h["db"].read().execute("SELECT COUNT(*) FROM points_entries").fetchone()[0] for h in hubs.values()
    )
    assert n == hub_entries
    for sid, h in hubs.items():
        conn = h["db"].read()
        assert parts[sid] == conn.execute("SELECT SUM(points) FROM points_entries").fetchone()[0]
        assert points.balance(conn, mid) == fold, sid  # each store's view equals the chain's balance
        assert points.figures(conn, mid)["central_mine"] == parts[sid]


def test_an_overdraw_from_two_stores_apart_is_reported(chain):
    engine, hubs = chain["engine"], chain["hubs"]
    a, b = hubs["store-a"], hubs["store-b"]
    with a["db"].write() as conn:
        m, _ = identity.enrol(conn, phone="13912345678", consent=CONSENT, actor="t")
        workflow.earn_for_sale(conn, m["id"], {"id": "s", "lines": [{"sku": "X", "net_minor": 100_000}]})
    for h in (a, b, a):
        _sync(h["worker"])
    for h, ref in ((a, "a-burn"), (b, "b-burn")):  # both stores see 1,000 points and spend 800 before syncing
        with h["db"].write() as conn:
            state.put(conn, "last_ack_at", "2999-01-01T00:00:00Z")
            workflow.burn(conn, m["id"], 800, ref)
    for h in (a, b, a, b):
        _sync(h["worker"])
    assert central_members.balance(engine, m["id"]) == -600
    over = central_members.overdraws(engine)
    assert len(over) == 1 and over[0]["balance_after"] == -600 and over[0]["points"] == -800
    for h in (a, b):
        assert points.balance(h["db"].read(), m["id"]) == -600  # shown, not hidden


def test_expiry_job_twice_expires_once(chain):
    engine, hubs = chain["engine"], chain["hubs"]
    a = hubs["store-a"]
    with a["db"].write() as conn:
        m, _ = identity.enrol(conn, phone="13712345678", consent=CONSENT, actor="t")
        store = settings.get(conn, "store_id")
    _sync(a["worker"])
    entries = [
        {
            "entry_id": f"lot-{i}",
            "member_id": m["id"],
            "kind": "earn",
            "points": 100,
            "spend_minor": 10_000,
            "lot_id": None,
            "ref": None,
            "at": at,
        }
        for i, at in enumerate(["2024-03-01T00:00:00Z", "2024-11-01T00:00:00Z", "2025-05-01T00:00:00Z"])
    ]
    entries.append(
        {
            "entry_id": "burn-1",
            "member_id": m["id"],
            "kind": "burn",
            "points": -150,
            "spend_minor": 0,
            "lot_id": None,
            "ref": "x",
            "at": "2025-06-01T00:00:00Z",
        }
    )
    with engine.begin() as conn:
        central_members.merge(conn, entries, store_id=store, now="2025-06-01T00:00:00Z")
    first = central_members.expire(engine, today=date(2026, 1, 1), tz="Asia/Shanghai")
    second = central_members.expire(engine, today=date(2026, 1, 2), tz="Asia/Shanghai")
    assert first["lots"] == 1 and first["points"] == 50  # 2024's lots: 200 − 150 burnt = 50 left
    assert second["lots"] == 0 and second["points"] == 0
    assert central_members.balance(engine, m["id"]) == 100 == central_members.fold(engine, m["id"])
    _sync(a["worker"])
    f = points.figures(a["db"].read(), m["id"])
    assert f["central_balance"] == 100 and f["central_mine"] == 150

"""Crash and outage proofs against the real PostgreSQL: SIGKILL the hub's worker
mid-push, SIGKILL the central mid-ingest, cut the link while the hub keeps
selling and counting — afterwards the central's totals equal the hub's, every
outbox row is stored exactly once."""

from __future__ import annotations

import random
import subprocess
import threading
import time

import psycopg
import pytest

from hub.synclink import state
from hub.synclink.state import status
from sync.central import stores
from sync.central.db import make_engine, migrate
from sync.worker import SyncWorker, WorkerConfig
from tests.support.common import free_port
from tests.support.sync import (
    PG_DSN,
    CentralProcess,
    PgSchema,
    central_totals,
    hub_totals,
    make_hub,
    pg_available,
    sell,
    storehub,
    wait_until,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not pg_available(), reason="PostgreSQL not reachable"),
]

STORE = "store-kill"


@pytest.fixture
def env(tmp_path):
    schema = PgSchema("syncr")
    app_name = f"central_{schema.name}"
    url = schema.url + f"&application_name={app_name}"
    engine = make_engine(schema.url)
    migrate(engine)
    central = CentralProcess(url, tmp_path / "central", free_port())
    secret = stores.add_store(engine, STORE, "Kill test store")
    hub_dir = tmp_path / "hub"
    cfg, db, ctx = make_hub(hub_dir, STORE)
    state.write_credentials(hub_dir, central_url=central.url, store_id=STORE, secret=secret)
    procs: list[subprocess.Popen] = []
    yield {
        "engine": engine,
        "central": central,
        "db": db,
        "ctx": ctx,
        "hub_dir": hub_dir,
        "secret": secret,
        "app_name": app_name,
        "procs": procs,
    }
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    central.kill()
    db.close()
    engine.dispose()
    schema.drop()


def start_worker(env, *extra: str) -> subprocess.Popen:
    p = subprocess.Popen(
        storehub(
            "sync", "run", "--data-dir", str(env["hub_dir"]), "--idle-poll", "0.2", "--max-backoff", "0.5", *extra
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env["procs"].append(p)
    return p


def caught_up(env) -> bool:
    st = status(env["db"].read())
    return st["uplink_cursor"] == st["outbox_max_seq"] and st["pending"] == 0


def assert_equal_totals(env):
    hub = hub_totals(env["db"])
    cen = central_totals(env["engine"], STORE)
    assert cen["stock"] == hub["stock"]
    assert cen["movement_kinds"] == hub["movement_kinds"]
    assert cen["events"] == cen["distinct_event_ids"] == cen["events_total"] == hub["outbox_rows"]
    assert cen["hw"] == hub["outbox_max"]
    return hub, cen


def test_worker_sigkilled_mid_push_resumes_without_loss_or_double(env):
    env["central"].start()
    sell(env["db"], env["ctx"], 6000)
    total = hub_totals(env["db"])["outbox_max"]
    rng = random.Random(7)
    kills = 0
    for _ in range(3):
        w = start_worker(env, "--batch-size", "300")
        before = central_totals(env["engine"], STORE)["hw"]
        wait_until(lambda: central_totals(env["engine"], STORE)["hw"] > before, 30, 0.02, "progress")
        time.sleep(rng.uniform(0.0, 0.15))
        w.kill()  # SIGKILL: no chance to ack or clean up
        w.wait(10)
        kills += 1
        # the hub's cursor never runs ahead of what the central stored
        assert status(env["db"].read())["uplink_cursor"] <= central_totals(env["engine"], STORE)["hw"] < total
    start_worker(env, "--batch-size", "300")
    wait_until(lambda: caught_up(env), 60, 0.2, "worker catch-up")
    hub, cen = assert_equal_totals(env)
    assert kills == 3 and hub["movement_kinds"]["sale"] > 5000


def _in_ingest(app_name: str) -> bool:
    with psycopg.connect(PG_DSN, autocommit=True) as c:
        return bool(
            c.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND xact_start IS NOT NULL "
                "AND state IN ('active', 'idle in transaction') AND query ILIKE '%%events%%'",
                (app_name,),
            ).fetchone()
        )


def test_central_sigkilled_mid_ingest_rolls_back_whole_batch(env):
    env["central"].start()
    sell(env["db"], env["ctx"], 15000, per_txn=1000)
    start_worker(env, "--batch-size", "5000")
    killed_mid_txn = 0
    for _ in range(3):
        try:
            wait_until(lambda: _in_ingest(env["app_name"]), 30, 0.005, "an ingest transaction")
            killed_mid_txn += 1
        except AssertionError:
            pass
        env["central"].kill()
        # atomicity: the central holds whole batches only — every stored row is below the high-water mark
        cen = central_totals(env["engine"], STORE)
        assert cen["events"] == cen["hw"] == cen["events_total"]
        time.sleep(0.5)  # the worker meets a dead central and backs off
        env["central"].start()
    assert killed_mid_txn >= 1
    wait_until(lambda: caught_up(env), 90, 0.2, "catch-up after central crashes")
    assert_equal_totals(env)


def test_long_link_cut_while_store_keeps_trading(env):
    """In-process worker; the central is gone for a long stretch of trading, then returns."""
    env["central"].start()
    cred = state.read_credentials(env["hub_dir"])
    worker = SyncWorker(
        env["db"],
        WorkerConfig(
            central_url=cred["central_url"],
            store_id=STORE,
            secret=cred["secret"],
            batch_size=500,
            base_backoff_s=0.05,
            max_backoff_s=0.3,
            idle_poll_s=0.05,
        ),
    )
    stop = threading.Event()
    t = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    t.start()
    try:
        sell(env["db"], env["ctx"], 500)
        wait_until(lambda: caught_up(env), 30, 0.1, "first sync")
        env["central"].kill()  # the link is cut
        cursor_at_cut = status(env["db"].read())["uplink_cursor"]
        for _ in range(10):  # the store keeps selling and counting
            sell(env["db"], env["ctx"], 400, per_txn=50)
            time.sleep(0.05)
        st = status(env["db"].read())
        assert st["uplink_cursor"] == cursor_at_cut and st["pending"] >= 4000
        assert st["last_error"] and "Connection" in st["last_error"]["message"]
        assert worker.failures >= 3
        env["central"].start()  # restored
        wait_until(lambda: caught_up(env), 60, 0.1, "catch-up after the outage")
        hub, cen = assert_equal_totals(env)
        assert hub["movement_kinds"].get("count", 0) > 50
        assert status(env["db"].read())["last_error"] is None
    finally:
        stop.set()
        t.join(10)

"""Hub-side pieces: outbox retention, one worker per hub, CLI, schema vs migrations."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.synclink import state
from hub.synclink.state import status
from sync.central import stores
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine, migrate
from sync.central.schema import metadata
from sync.worker import SingleInstance, SyncWorker, WorkerConfig
from tests.support.sync import (
    PgSchema,
    ThreadedCentral,
    central_totals,
    hub_totals,
    make_hub,
    pg_available,
    sell,
)


@pytest.fixture
def linked(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    app = create_app(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=engine)
    server = ThreadedCentral(app)
    secret = stores.add_store(engine, "s1")
    cfg, db, ctx = make_hub(tmp_path / "hub", "s1")
    yield {"engine": engine, "server": server, "secret": secret, "db": db, "ctx": ctx, "hub_dir": tmp_path / "hub"}
    server.close()
    db.close()
    engine.dispose()


def test_retention_deletes_only_acknowledged_rows(linked):
    db = linked["db"]
    w = SyncWorker(
        db,
        WorkerConfig(
            central_url=linked["server"].url,
            store_id="s1",
            secret=linked["secret"],
            batch_size=50,
            retention_days=0,
            prune_chunk=30,
        ),
    )
    sell(db, linked["ctx"], 100)
    w.push_once()
    cur = status(db.read())["uplink_cursor"]
    assert cur == 50
    assert w.prune() == 30 and w.prune() == 20 and w.prune() == 0  # chunked, never past the cursor
    conn = db.read()
    assert conn.execute("SELECT MIN(seq) FROM outbox").fetchone()[0] == cur + 1
    while w.push_once():
        pass
    assert central_totals(linked["engine"], "s1")["stock"] == hub_totals(db)["stock"]
    keep = SyncWorker(db, WorkerConfig(central_url=linked["server"].url, store_id="s1", secret=linked["secret"]))
    assert keep.prune() == 0  # 7-day default retention keeps today's rows


def test_wrong_credential_backs_off_and_records_error(linked):
    db = linked["db"]
    w = SyncWorker(
        db,
        WorkerConfig(
            central_url=linked["server"].url, store_id="s1", secret="shs_wrong", base_backoff_s=0.01, max_backoff_s=0.02
        ),
    )
    import threading

    stop = threading.Event()
    t = threading.Thread(target=w.run, args=(stop,))
    t.start()
    try:
        from tests.support.sync import wait_until

        wait_until(lambda: w.failures >= 3, 10, 0.01, "retries")
    finally:
        stop.set()
        t.join(5)
    st = status(db.read())
    assert st["uplink_cursor"] == 0 and "401" in st["last_error"]["message"]


def test_one_worker_per_hub(tmp_path):
    with SingleInstance(tmp_path):
        with pytest.raises(SystemExit):
            with SingleInstance(tmp_path):
                pass
    with SingleInstance(tmp_path):
        pass


def test_cli_central_and_sync(linked, tmp_path):
    r = CliRunner()
    cdir = tmp_path / "central2"
    out = r.invoke(main, ["central", "init-db", "--dir", str(cdir)])
    assert out.exit_code == 0, out.output
    out = r.invoke(
        main,
        [
            "central",
            "add-store",
            "s1",
            "--dir",
            str(cdir),
            "--hub-data-dir",
            str(linked["hub_dir"]),
            "--central-url",
            linked["server"].url,
        ],
    )
    assert out.exit_code == 0 and "credential written" in out.output
    out = r.invoke(main, ["central", "add-store", "s1", "--dir", str(cdir)])
    assert out.exit_code != 0 and "exists" in out.output
    out = r.invoke(
        main, ["central", "publish", "item", '{"sku": "X1", "name_en": "X", "price_minor": -5}', "--dir", str(cdir)]
    )
    assert out.exit_code != 0 and "invalid item" in out.output
    out = r.invoke(
        main, ["central", "add-user", "boss", "--dir", str(cdir), "--role", "admin", "--password", "boss-pass-1234"]
    )
    assert out.exit_code == 0, out.output
    # point the hub at the threaded central again and run the worker once
    state.write_credentials(linked["hub_dir"], central_url=linked["server"].url, store_id="s1", secret=linked["secret"])
    out = r.invoke(main, ["sync", "run", "--once", "--data-dir", str(linked["hub_dir"])])
    assert out.exit_code == 0, out.output
    st = json.loads(out.output.strip().splitlines()[-1])
    assert st["pending"] == 0 and st["uplink_cursor"] == st["outbox_max_seq"]
    out = r.invoke(main, ["sync", "status", "--data-dir", str(linked["hub_dir"])])
    assert json.loads(out.output)["pending"] == 0
    state.write_credentials(linked["hub_dir"], central_url=linked["server"].url, store_id="other", secret="x")
    out = r.invoke(main, ["sync", "run", "--once", "--data-dir", str(linked["hub_dir"])])
    assert out.exit_code != 0 and "credential is for store other" in out.output


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_migrations_match_the_schema(backend, tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    if backend == "postgres":
        if not pg_available():
            pytest.skip("PostgreSQL not reachable")
        schema = PgSchema("syncm")
        engine = make_engine(schema.url)
    else:
        schema, engine = None, make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        migrate(engine)
        migrate(engine)  # idempotent
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": "central_alembic_version"})
            diff = [
                d
                for d in compare_metadata(ctx, metadata)
                if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "central_alembic_version")
            ]
        # only differences in server defaults / types that do not matter are ignored by alembic; anything else fails
        assert diff == [], diff
    finally:
        engine.dispose()
        if schema:
            schema.drop()

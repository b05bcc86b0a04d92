"""Writers take turns (hub.kernel.db._WriteTurn): threads and processes queue for the write transaction and the
next one starts when the previous has committed, without going through SQLite's sleeping busy handler; a writer that
waits longer than ``WRITE_WAIT_S`` still gets SQLite's ``database is locked``; nested writes join the outer one.
The other process is a real one (``python -c``) holding ``Database.write()`` on the same file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from hub.kernel import db as kdb
from tests.support.common import ROOT

HOLDER = textwrap.dedent("""
    import sys, time
    from hub.kernel.db import Database
    d = Database(sys.argv[1])
    with d.write() as c:
        c.execute("INSERT INTO t(who) VALUES ('holder')")
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
""")


@pytest.fixture
def database(tmp_path: Path) -> kdb.Database:
    path = tmp_path / "hub.db"
    c = kdb.connect(path)
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, who TEXT)")
    c.close()
    d = kdb.Database(path)
    yield d
    d.close()


def _holder(path: Path, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "holding"
    return p


def test_a_writer_in_another_process_is_waited_for_in_the_turn_not_in_sqlite(database: kdb.Database) -> None:
    # with no busy_timeout, BEGIN IMMEDIATE on a locked file fails at once: this write can only succeed if it
    # waited for its turn until the other process had committed
    database.conn.execute("PRAGMA busy_timeout=0")
    holder = _holder(database.path, 0.6)
    t0 = time.time()
    with database.write() as c:
        waited = time.time() - t0
        c.execute("INSERT INTO t(who) VALUES ('waiter')")
    holder.communicate(timeout=30)
    assert holder.returncode == 0
    assert waited >= 0.3
    rows = [r[0] for r in database.read().execute("SELECT who FROM t ORDER BY id")]
    assert rows == ["holder", "waiter"]


def test_waiting_longer_than_the_limit_is_database_is_locked_then_the_next_write_works(
    database: kdb.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kdb, "WRITE_WAIT_S", 0.3)
    holder = _holder(database.path, 1.5)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        with database.write() as c:
            c.execute("INSERT INTO t(who) VALUES ('too late')")
    holder.communicate(timeout=30)
    with database.write() as c:  # the turn given up is not left held
        c.execute("INSERT INTO t(who) VALUES ('after')")
    rows = [r[0] for r in database.read().execute("SELECT who FROM t ORDER BY id")]
    assert rows == ["holder", "after"]
    holder = _holder(database.path, 0.1)  # and the other process gets its turn again
    holder.communicate(timeout=30)
    assert holder.returncode == 0


def test_threads_queue_and_every_write_lands(database: kdb.Database) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for k in range(25):
                with database.write() as c:
                    (v,) = c.execute("SELECT COUNT(*) FROM t").fetchone()
                    c.execute("INSERT INTO t(id, who) VALUES (?, ?)", (v + 1, f"{n}-{k}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert database.read().execute("SELECT COUNT(*), MAX(id) FROM t").fetchone()[:] == (200, 200)


def test_a_nested_write_joins_the_outer_and_a_failure_rolls_back_both(database: kdb.Database) -> None:
    with pytest.raises(RuntimeError):
        with database.write() as outer:
            outer.execute("INSERT INTO t(who) VALUES ('outer')")
            with database.write() as inner:
                assert inner is outer
                inner.execute("INSERT INTO t(who) VALUES ('inner')")
            raise RuntimeError("boom")
    assert database.read().execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
    with database.write() as c:  # the turn was released by the failure
        c.execute("INSERT INTO t(who) VALUES ('next')")
    assert database.read().execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1

"""Helpers for the sync tests: a throw-away PostgreSQL schema per test run, a hub
data directory, a central served by gunicorn in a subprocess, comparisons."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[2]
PG_DSN = os.environ.get("STOREHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_available() -> bool:
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3):
            return True
    except Exception:
        return False


class PgSchema:
    """A uniquely named schema in the ``test`` database, dropped afterwards."""

    def __init__(self, prefix: str = "sync"):
        self.name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(PG_DSN, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{self.name}"')

    @property
    def url(self) -> str:
        base = PG_DSN.replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{base}?options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        with psycopg.connect(PG_DSN, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


@contextmanager
def central_db_url(kind: str, tmp_path: Path, prefix: str) -> Iterator[str]:
    """A central database to test against: ``kind`` "postgres" (a fresh schema, dropped afterwards;
    skipped if PostgreSQL is not reachable) or "sqlite" (a file under ``tmp_path``)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.db'}"
        return
    import pytest

    if not pg_available():
        pytest.skip("PostgreSQL not reachable")
    schema = PgSchema(prefix)
    try:
        yield schema.url
    finally:
        schema.drop()


def make_hub(data_dir: Path, store_id: str):
    """A hub with one bin and two items, opening stock received."""
    from hub.inventory import catalog, ledger, locations
    from hub.inventory.ledger import MovementRequest
    from hub.store import initialise, open_db

    cfg, db = open_db(data_dir)
    initialise(db, store_id=store_id, store_name=store_id)
    with db.write() as conn:
        store = locations.get_by_code(conn, "STORE")
        b1 = locations.create(conn, code="B1", name="Bin 1", kind="bin", parent_id=store["id"], actor="test")
        b2 = locations.create(conn, code="B2", name="Bin 2", kind="bin", parent_id=store["id"], actor="test")
        milk = catalog.create_item(
            conn,
            {
                "sku": "MILK",
                "name_en": "Milk",
                "unit": "each",
                "price_minor": 1250,
                "cost_minor": 800,
                "reorder_point": 20,
                "gtins": ["5901234123457"],
            },
            actor="test",
        )
        rice = catalog.create_item(
            conn,
            {
                "sku": "RICE",
                "name_en": "Rice",
                "unit": "kg",
                "price_minor": 990,
                "cost_minor": 500,
                "reorder_point": 5000,
            },
            actor="test",
        )
        for it, loc, q in ((milk, b1, 1000), (milk, b2, 500), (rice, b1, 900000)):
            ledger.post(conn, MovementRequest("receive", it["id"], loc["id"], q, "opening", "test", ledger.new_key()))
    return cfg, db, {"bins": [b1["id"], b2["id"]], "items": [milk["id"], rice["id"]]}


def sell(db, ctx, n: int, *, per_txn: int = 200, counts: bool = True) -> None:
    """n movements: mostly sales, some counts (a zero count confirms the book)."""
    from hub.inventory import ledger
    from hub.inventory.ledger import MovementRequest

    done = 0
    while done < n:
        with db.write() as conn:
            for _ in range(min(per_txn, n - done)):
                i = done % 2
                loc = ctx["bins"][done % 2] if i == 0 else ctx["bins"][0]
                item = ctx["items"][i]
                if counts and done % 50 == 49:
                    req = MovementRequest("count", item, loc, -(done % 3), "cycle count", "test", ledger.new_key())
                else:
                    req = MovementRequest("sale", item, loc, 1 if i == 0 else 250, "pos sale", "test", ledger.new_key())
                ledger.post(conn, req)
                done += 1


def hub_totals(db) -> dict:
    conn = db.read()
    stock = {
        (r[0], r[1]): (r[2], r[3]) for r in conn.execute("SELECT item_id, location_id, on_hand, reserved FROM stock")
    }
    kinds = {r[0]: r[1] for r in conn.execute("SELECT kind, COUNT(*) FROM movements GROUP BY kind")}
    outbox = conn.execute("SELECT COUNT(*), COALESCE(MAX(seq),0) FROM outbox").fetchone()
    return {"stock": stock, "movement_kinds": kinds, "outbox_rows": outbox[0], "outbox_max": outbox[1]}


def central_totals(engine, store_id: str) -> dict:
    from sqlalchemy import func, select

    from sync.central import schema as t

    with engine.connect() as conn:
        stock = {
            (r.item_id, r.location_id): (r.on_hand, r.reserved)
            for r in conn.execute(select(t.stock).where(t.stock.c.store_id == store_id))
        }
        kinds = {
            r[0]: r[1]
            for r in conn.execute(
                select(t.daily_movements.c.kind, func.sum(t.daily_movements.c.lines))
                .where(t.daily_movements.c.store_id == store_id)
                .group_by(t.daily_movements.c.kind)
            )
        }
        n = conn.execute(select(func.count()).select_from(t.events).where(t.events.c.store_id == store_id)).scalar()
        distinct_ids = conn.execute(
            select(func.count(func.distinct(t.events.c.event_id))).where(t.events.c.store_id == store_id)
        ).scalar()
        st = conn.execute(select(t.stores).where(t.stores.c.store_id == store_id)).mappings().first()
    return {
        "stock": stock,
        "movement_kinds": {k: int(v) for k, v in kinds.items()},
        "events": n,
        "distinct_event_ids": distinct_ids,
        "hw": st["hw_seq"],
        "events_total": st["events_total"],
        "duplicates": st["duplicates_total"],
    }


def storehub(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub.cli", *args]


class CentralProcess:
    """``storehub central serve`` as a child process (so tests can SIGKILL it)."""

    def __init__(self, db_url: str, central_dir: Path, port: int, workers: int = 1):
        self.db_url, self.dir, self.port, self.workers = db_url, central_dir, port, workers
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> CentralProcess:
        self.proc = subprocess.Popen(
            storehub(
                "central",
                "serve",
                "--db",
                self.db_url,
                "--dir",
                str(self.dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ),
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("central exited: " + self.proc.stderr.read().decode()[-2000:])
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("central did not start")

    def kill(self) -> None:
        """SIGKILL the whole process group (gunicorn master and workers) — no clean shutdown."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(pred, timeout: float = 60, interval: float = 0.1, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


class ThreadedCentral:
    """The central app served by werkzeug in a thread (for in-process worker tests)."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        import threading

        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.thread.join(5)


def free_port_local() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

"""Engine creation, migrations and partition upkeep for the central database.

PostgreSQL in production (``postgresql+psycopg://...``), SQLite as the embedded
default (``sqlite:///path/central.db``). On SQLite every transaction starts with
``BEGIN IMMEDIATE`` so concurrent ingests queue instead of failing half-way."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (forward-only)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def month_of(day: date) -> date:
    return day.replace(day=1)


def _next_month(m: date) -> date:
    return date(m.year + (m.month == 12), m.month % 12 + 1, 1)


_known_partitions: set[tuple[str, date]] = set()
_partition_lock = threading.Lock()


def ensure_partitions(engine: Engine, months: set[date]) -> None:
    """Create the monthly partitions of ``events`` a batch needs (PostgreSQL only).

    Runs in its own short transaction before the ingest transaction, so DDL never
    sits inside the hot path; a process remembers what exists."""
    if engine.dialect.name != "postgresql" or not months:
        return
    key = str(engine.url)
    with _partition_lock:
        missing = sorted(m for m in months if (key, m) not in _known_partitions)
        if not missing:
            return
        for m in missing:
            name = f"events_p{m.year:04d}{m.month:02d}"
            for attempt in range(3):
                try:
                    with engine.begin() as conn:
                        exists = conn.execute(
                            text(
                                "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE c.relname = :n AND n.nspname = current_schema()"
                            ),
                            {"n": name},
                        ).first()
                        if not exists:
                            conn.execute(
                                text(
                                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF events "
                                    f"FOR VALUES FROM ('{m.isoformat()}') TO ('{_next_month(m).isoformat()}')"
                                )
                            )
                    break
                except Exception:
                    if attempt == 2:
                        raise
            _known_partitions.add((key, m))


def partitions(engine: Engine) -> list[str]:
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
                    "WHERE p.relname = 'events' AND n.nspname = current_schema() ORDER BY 1"
                )
            )
        ]


def detach_month(engine: Engine, month: date) -> str:
    """Detach one month's partition of ``events`` (PostgreSQL): it becomes a plain table
    ``events_pYYYYMM`` to dump and drop at leisure; projections are untouched."""
    if engine.dialect.name != "postgresql":
        raise ValueError("partitions exist on PostgreSQL only")
    name = f"events_p{month.year:04d}{month.month:02d}"
    if name not in partitions(engine):
        raise ValueError(f"no partition {name}")
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE events DETACH PARTITION {name}"))
    _known_partitions.discard((str(engine.url), month.replace(day=1)))
    return name

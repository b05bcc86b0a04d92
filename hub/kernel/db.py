"""The hub's storage: one SQLite file in WAL mode.

One write path: every change happens inside ``Database.write()``, which opens a
``BEGIN IMMEDIATE`` transaction on this thread's connection (so writers queue
instead of failing half-way: threads and processes take turns in ``_WriteTurn``,
which wakes the next writer at once rather than leaving it to SQLite's sleeping
busy handler) and commits or rolls back as a whole.
Domain functions take the open connection and never commit themselves, so a
movement, its projection update, its outbox row and its audit entry land together
or not at all.

Durability: every hub connection runs ``PRAGMA synchronous=FULL`` (``DURABLE``). In WAL mode ``NORMAL``
skips the fsync of the WAL at each commit, so a power cut may take back the last commits — after the
HTTP 201 or the MQTT acknowledgement for them went out, and a till's last sale is money already taken.
``FULL`` makes ``COMMIT`` return only once the WAL frame is on disk, so nothing is acknowledged that is
not durable. The cost is one fsync per transaction; the bus already applies device events in batches
(one transaction per batch), which is the group commit that keeps it small (``bench/ledger.py``
reports both figures). ``synchronous`` stays a parameter only so the bench can measure the difference.

Migrations are numbered SQL files (``NNNN_name.sql``) in each domain's ``migrations/`` folder (the kernel's
holds 0001, the core schema). One number space across the hub: a new domain takes the next free hundred, so
parallel work cannot collide silently — two files with one number refuse to load. They are applied
forward-only in number order and recorded in ``schema_migrations``.

A migration that must compute (encrypting existing values with a key kept outside the database, say) is a
Python file ``NNNN_name.py`` defining ``upgrade(conn)``; it runs in the same numbered order, inside the same
kind of transaction, with ``PRAGMA secure_delete`` on (the old bytes of rewritten rows are zeroed, not left in
free space), and the WAL is checkpointed and truncated afterwards so no old page image stays in it.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hub.protocol.timeutil import now_iso

# What the hub runs with (see the module docstring): a commit is on disk before anyone is told "accepted".
DURABLE = "FULL"
WRITE_WAIT_S = 10.0  # how long a writer waits for its turn (as long as the connections' busy_timeout)

_MIGRATION_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sql|py)$")


def migration_files(directories: Iterable[Path]) -> list[tuple[int, str, Path]]:
    """Every migration in ``directories``, in number order; refuses a number used twice."""
    found = []
    for directory in directories:
        for p in sorted(directory.iterdir()):
            m = _MIGRATION_RE.match(p.name)
            if m:
                found.append((int(m.group(1)), m.group(2), p))
    found.sort()
    seen: dict[int, Path] = {}
    for v, _, p in found:
        if v in seen:
            raise RuntimeError(f"migration number {v:04d} is used by both {seen[v]} and {p}")
        seen[v] = p
    return found


def _configure(conn: sqlite3.Connection, synchronous: str) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA temp_store=MEMORY")


def connect(path: str | Path, *, synchronous: str = DURABLE) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.row_factory = sqlite3.Row
    _configure(conn, synchronous)
    return conn


def current_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='schema_migrations'").fetchone()
    if not row:
        return 0
    v = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    return int(v or 0)


def migrate(conn: sqlite3.Connection, directories: Iterable[Path], *, target: int | None = None) -> list[int]:
    """Apply pending migrations up to ``target`` (default: all). Returns applied versions."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    have = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
    applied = []
    rewrote = False
    for version, name, path in migration_files(directories):
        if version in have or (target is not None and version > target):
            continue
        python = path.suffix == ".py"
        if python:
            conn.execute("PRAGMA secure_delete=ON")
            rewrote = True
        conn.execute("BEGIN IMMEDIATE")
        try:
            if python:
                _python_migration(path).upgrade(conn)
            else:
                for statement in _split_sql(path.read_text(encoding="utf-8")):
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?)",
                (version, name, now_iso()),
            )
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        applied.append(version)
        if python:
            conn.execute("PRAGMA secure_delete=OFF")
    if rewrote:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return applied


def _python_migration(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"storehub_migration_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load migration {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "upgrade", None)):
        raise RuntimeError(f"migration {path} defines no upgrade(conn)")
    return module


def _split_sql(sql: str) -> list[str]:
    """Split a migration into statements (``sqlite3.complete_statement`` keeps
    trigger bodies with inner semicolons whole)."""
    statements, buf = [], ""
    for line in sql.splitlines(keepends=True):
        if not buf and line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        raise RuntimeError(f"incomplete SQL statement in migration: {buf[:80]!r}")
    return statements


class _WriteTurn:
    """Whose turn it is to write a database file: writers wait here for their turn, not in SQLite.

    ``BEGIN IMMEDIATE`` on a busy database does not queue: SQLite's busy handler sleeps and retries (1, 2, 5, 10,
    … 100 ms), so under load a writer that lost the race keeps sleeping while later ones take the lock — with 20
    tills scanning at once, some scans waited a second. Here the threads of a process wait on a lock and the
    processes on an ``flock`` of ``<database>.writelock``, and both wake the next writer when the lock is
    released. It is only a queue in front of the transaction: SQLite's lock still decides (a writer that does
    not pass here, another tool on the file, is waited for by ``busy_timeout`` as before), and a writer that
    waits longer than ``timeout`` for its turn gets SQLite's own ``database is locked``, as before."""

    def __init__(self, path: str):
        self.path = f"{path}.writelock"
        self.lock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None
        self.pid = 0

    def _file(self) -> int | None:
        if self.fd is None or self.pid != os.getpid():  # a forked child opens its own (flock is per open file)
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self.fd = None  # e.g. a read-only directory: SQLite's busy handler alone, as before
            self.pid = os.getpid()
        return self.fd

    def _flock(self, fd: int, timeout: float) -> bool:
        """``flock(LOCK_EX)`` within ``timeout``: at once when free, else by a helper thread blocked in the kernel
        (woken the moment the holder unlocks, unlike a poll). One that gives up leaves the helper to unlock as
        soon as it gets the lock, on a file no later writer of this process uses."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        got, guard, state = threading.Event(), threading.Lock(), {"abandoned": False}

        def wait() -> None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with guard:
                if state["abandoned"]:
                    os.close(fd)  # closing the file releases its lock
                else:
                    got.set()

        threading.Thread(target=wait, name="storehub-write-turn", daemon=True).start()
        got.wait(timeout)
        with guard:
            if got.is_set():
                return True
            state["abandoned"] = True
        self.fd = None  # the helper owns that file now; the next writer opens a new one
        return False

    def acquire(self, timeout: float) -> None:
        if not self.lock.acquire(timeout=timeout):
            raise sqlite3.OperationalError("database is locked")
        if self.depth == 0:
            fd = self._file()
            try:
                if fd is not None and not self._flock(fd, timeout):
                    raise sqlite3.OperationalError("database is locked")
            except BaseException:
                self.lock.release()
                raise
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0 and self.fd is not None and self.pid == os.getpid():
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.lock.release()


_TURNS: dict[str, _WriteTurn] = {}
_TURNS_LOCK = threading.Lock()


def _turn(path: Path) -> _WriteTurn:
    key = os.path.realpath(path)
    with _TURNS_LOCK:
        found = _TURNS.get(key)
        if found is None:
            found = _TURNS[key] = _WriteTurn(key)
        return found


class Database:
    """A hub database file with one connection per thread."""

    def __init__(self, path: str | Path, *, synchronous: str = DURABLE, migrations: Iterable[Path] = ()):
        self.path = Path(path)
        self.migrations = tuple(migrations)  # the migration folders of the domains this hub runs
        self.synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._turn: _WriteTurn | None = None  # looked up on the first write (the path resolved once)

    @property
    def conn(self) -> sqlite3.Connection:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = connect(self.path, synchronous=self.synchronous)
            self._local.conn = c
            with self._all_lock:
                self._all.append(c)
        return c

    def migrate(self, target: int | None = None) -> list[int]:
        if not self.migrations:
            raise RuntimeError("this Database was opened without migration folders (use hub.store.database())")
        return migrate(self.conn, self.migrations, target=target)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """The one write path: an IMMEDIATE transaction committed as a whole.

        Nested use joins the outer transaction."""
        c = self.conn
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield c
            finally:
                self._local.depth = depth
            return
        turn = self._turn
        if turn is None:
            turn = self._turn = _turn(self.path)
        turn.acquire(WRITE_WAIT_S)
        try:
            c.execute("BEGIN IMMEDIATE")
            self._local.depth = 1
            try:
                yield c
            except BaseException:
                self._local.depth = 0
                c.execute("ROLLBACK")
                raise
            self._local.depth = 0
            c.execute("COMMIT")
        finally:
            turn.release()

    def read(self) -> sqlite3.Connection:
        return self.conn

    def backup_to(self, dest: str | Path) -> None:
        """Online backup through SQLite's backup API (consistent while writers run)."""
        target = sqlite3.connect(str(dest))
        try:
            self.conn.backup(target)
        finally:
            target.close()

    def close(self) -> None:
        with self._all_lock:
            for c in self._all:
                try:
                    c.close()
                except Exception:
                    pass
            self._all.clear()
        self._local = threading.local()


def restore_from(src: str | Path, dest: str | Path) -> None:
    """Replace the database at ``dest`` with the backup ``src`` (SQLite backup API).

    The source is checked (integrity, schema table) before anything is touched."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        ok = source.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise ValueError(f"backup {src} failed integrity check: {ok}")
        if not source.execute("SELECT 1 FROM sqlite_master WHERE name='schema_migrations'").fetchone():
            raise ValueError(f"{src} is not a StoreHub database")
        target = sqlite3.connect(str(dest), timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()

"""Opening and initialising a hub data directory (shared by the CLI, server and bus): the database with every
declared domain's migrations, the store's identity, backup and restore."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from hub import domains
from hub.inventory import locations
from hub.kernel import settings
from hub.kernel.config import HubConfig
from hub.kernel.db import Database, restore_from

# The hub's secret key (badge HMACs, cookie signing) is a file beside hub.db, not a row in it; a backup
# carries it in this table of the backup file so a hub restored onto a new box still accepts its badges.
BACKUP_KEY_TABLE = "storehub_backup_secret"


def database(path: Path | str, *, synchronous: str = "FULL") -> Database:
    """The hub database at ``path`` with every declared domain's migrations (not yet applied)."""
    return Database(path, synchronous=synchronous, migrations=domains.migration_dirs())


def open_db(data_dir: Path | str | None = None) -> tuple[HubConfig, Database]:
    cfg = HubConfig(data_dir=Path(data_dir).resolve()) if data_dir else HubConfig()
    cfg.ensure_dirs()
    db = database(cfg.db_path)
    db.migrate()
    return cfg, db


def initialise(db: Database, *, store_id: str, store_name: str | None = None, currency: str | None = None,
               language: str | None = None, region: str | None = None, timezone: str | None = None) -> dict:
    """Write the store's settings and its root location. Safe to run again."""
    with db.write() as conn:
        settings.put(conn, "store_id", store_id)
        if store_name:
            settings.put(conn, "store_name", store_name)
        if currency:
            settings.put(conn, "currency", currency)
        if language:
            settings.put(conn, "language", language)
        if region:
            settings.put(conn, "barcode_region", region)
        if timezone:
            settings.put(conn, "timezone", timezone)
        if locations.get_by_code(conn, "STORE") is None:
            locations.create(conn, code="STORE", name=store_name or store_id, kind="store", actor="system:init")
        return settings.get_all(conn)


def backup(cfg: HubConfig, db: Database, dest: Path) -> None:
    """Online backup of the database plus the hub's secret key into one file (mode 0600: it holds secrets).

    Written to ``dest.tmp`` first and renamed, so a failed backup never leaves a half file under ``dest``."""
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        db.backup_to(tmp)
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute(f"CREATE TABLE {BACKUP_KEY_TABLE} (secret_key BLOB NOT NULL)")
            conn.execute(f"INSERT INTO {BACKUP_KEY_TABLE}(secret_key) VALUES (?)", (cfg.secret_key(),))
        finally:
            conn.close()
        os.chmod(tmp, 0o600)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def restore(cfg: HubConfig, src: Path) -> bool:
    """Replace the hub's database with the backup ``src`` and install the secret key it carries.

    Returns False when the backup has no key (made before backups carried it): the data directory's own
    key is kept, so staff badges must be enrolled again. Raises ValueError for a file that is not a hub
    backup (nothing is touched then)."""
    cfg.ensure_dirs()
    restore_from(src, cfg.db_path)
    conn = sqlite3.connect(str(cfg.db_path), isolation_level=None, timeout=30)
    try:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (BACKUP_KEY_TABLE,)).fetchone()
        key = conn.execute(f"SELECT secret_key FROM {BACKUP_KEY_TABLE}").fetchone() if has else None
        if has:
            conn.execute(f"DROP TABLE {BACKUP_KEY_TABLE}")
    finally:
        conn.close()
    if not key or not key[0]:
        return False
    tmp = cfg.secret_key_path.with_name(cfg.secret_key_path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(bytes(key[0]))
    tmp.replace(cfg.secret_key_path)
    return True

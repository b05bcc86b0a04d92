"""Opening and initialising a hub data directory (shared by the CLI, server and bus): the database with every
declared domain's migrations, the store's identity, backup and restore."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from hub import domains
from hub.inventory import locations
from hub.kernel import settings
from hub.kernel.config import HubConfig
from hub.kernel.db import Database, restore_from
from hub.kernel.errors import ValidationError

# The hub's secret key (badge HMACs, cookie signing) is a file beside hub.db, not a row in it; a backup
# carries it in this table of the backup file so a hub restored onto a new box still accepts its badges.
BACKUP_KEY_TABLE = "storehub_backup_secret"
# The other files a hub cannot work without that live beside hub.db, never in it: the personal-data key ring
# (members' phones and names are unreadable without it) and the store CA (enrolled phones and agents trust it),
# and the central's personal-data public key (without it a restored hub's facts go without their sealed fields).
# A backup carries them in this table; a restore puts them back with their modes.
BACKUP_FILES_TABLE = "storehub_backup_files"
BACKUP_FILES = ("pii.keys", "pki/store-ca.key", "pki/store-ca.crt", "central-pii.pub")


def database(path: Path | str, *, synchronous: str = "FULL") -> Database:
    """The hub database at ``path`` with every declared domain's migrations (not yet applied). A new file is
    created 0600 (SQLite gives its -wal and -shm files the same mode): it holds staff and store data."""
    path = Path(path)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return Database(path, synchronous=synchronous, migrations=domains.migration_dirs())


def open_db(data_dir: Path | str | None = None) -> tuple[HubConfig, Database]:
    cfg = HubConfig(data_dir=Path(data_dir).resolve()) if data_dir else HubConfig()
    cfg.ensure_dirs()
    db = database(cfg.db_path)
    db.migrate()
    return cfg, db


def initialise(
    db: Database,
    *,
    store_id: str,
    store_name: str | None = None,
    currency: str | None = None,
    language: str | None = None,
    region: str | None = None,
    timezone: str | None = None,
) -> dict:
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


# An encrypted backup: this magic line, a 16-byte scrypt salt, then a Fernet token (AES-128-CBC + HMAC-SHA256,
# from the `cryptography` library) of the plain backup file, keyed by scrypt(passphrase, salt).
ENCRYPTED_MAGIC = b"STOREHUB-ENCRYPTED-BACKUP-1\n"
_SCRYPT = {"length": 32, "n": 2**15, "r": 8, "p": 1}


class BackupError(ValidationError):
    """A backup or restore refused before anything was touched (missing folder, another store, passphrase)."""

    code = "backup_refused"


def _fernet(passphrase: str, salt: bytes) -> Fernet:
    if not passphrase:
        raise BackupError("an empty passphrase protects nothing", code="empty_passphrase")
    key = Scrypt(salt=salt, **_SCRYPT).derive(passphrase.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def _check_folder(dest: Path) -> None:
    if not dest.parent.is_dir():
        raise BackupError(
            f"folder {dest.parent} does not exist (is the USB drive mounted?); nothing was written",
            code="backup_folder_missing",
            details={"folder": str(dest.parent)},
        )
    if dest.is_dir():
        raise BackupError(
            f"{dest} is a folder: give a file name, e.g. {dest / 'hub-backup.db'}", code="backup_is_folder"
        )


def backup(cfg: HubConfig, db: Database, dest: Path, *, passphrase: str | None = None) -> None:
    """Online backup of the database plus the hub's secret key, personal-data key ring and store CA into one file
    (mode 0600: it holds secrets and staff data), encrypted with ``passphrase`` when one is given.

    Written to ``dest.tmp`` first and renamed, so a failed backup never leaves a half file under ``dest``."""
    dest = Path(dest)
    _check_folder(dest)
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
            conn.execute(
                f"CREATE TABLE {BACKUP_FILES_TABLE} (name TEXT PRIMARY KEY, mode INTEGER NOT NULL, data BLOB NOT NULL)"
            )
            for name in BACKUP_FILES:
                f = cfg.data_dir / name
                if f.is_file():
                    conn.execute(
                        f"INSERT INTO {BACKUP_FILES_TABLE}(name, mode, data) VALUES (?,?,?)",
                        (name, f.stat().st_mode & 0o777, f.read_bytes()),
                    )
        finally:
            conn.close()
        if passphrase is not None:
            salt = os.urandom(16)
            token = _fernet(passphrase, salt).encrypt(tmp.read_bytes())
            with open(tmp, "wb") as f:
                f.write(ENCRYPTED_MAGIC + salt + token)
        os.chmod(tmp, 0o600)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def is_encrypted(src: Path) -> bool:
    with open(src, "rb") as f:
        return f.read(len(ENCRYPTED_MAGIC)) == ENCRYPTED_MAGIC


def backup_identity(path: Path) -> dict[str, Any]:
    """Whose a (plain) hub database or backup is: store id and name, and the time of its last recorded change."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        vals = (
            dict(conn.execute("SELECT key, value FROM settings WHERE key IN ('store_id', 'store_name')"))
            if "settings" in names
            else {}
        )
        last = conn.execute("SELECT MAX(ts) FROM outbox").fetchone()[0] if "outbox" in names else None
    finally:
        conn.close()
    return {
        "store_id": json.loads(vals["store_id"]) if "store_id" in vals else None,
        "store_name": json.loads(vals["store_name"]) if "store_name" in vals else None,
        "last_change": last,
    }


def restore(cfg: HubConfig, src: Path, *, passphrase: str | None = None, force: bool = False) -> bool:
    """Replace the hub's database with the backup ``src`` and install the secret key it carries.

    An encrypted backup needs its passphrase. A backup of another store than the one this data directory holds is
    refused unless ``force`` (the error says whose it is). Returns False when the backup has no key (made before
    backups carried it): the data directory's own key is kept, so staff badges must be enrolled again. Raises
    ValueError for a file that is not a hub backup; nothing is touched on any refusal."""
    cfg.ensure_dirs()
    src = Path(src)
    plain = src
    decrypted: Path | None = None
    try:
        if is_encrypted(src):
            if passphrase is None:
                raise BackupError(f"{src} is encrypted: give its passphrase", code="passphrase_required")
            blob = src.read_bytes()[len(ENCRYPTED_MAGIC) :]
            try:
                data = _fernet(passphrase, blob[:16]).decrypt(blob[16:])
            except InvalidToken:
                raise BackupError("wrong passphrase (or the file was altered)", code="wrong_passphrase") from None
            decrypted = cfg.data_dir / ".restore.tmp"
            decrypted.unlink(missing_ok=True)
            fd = os.open(decrypted, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            plain = decrypted
        try:
            theirs = backup_identity(plain)
        except sqlite3.DatabaseError:
            raise ValueError(f"{src} is not a StoreHub backup") from None
        if cfg.db_path.exists() and not force:
            ours = backup_identity(cfg.db_path)
            if ours["store_id"] and theirs["store_id"] and ours["store_id"] != theirs["store_id"]:
                raise BackupError(
                    f"{src} is a backup of store {theirs['store_id']} ({theirs['store_name']}, last change"
                    f" {theirs['last_change']}); this hub is store {ours['store_id']} ({ours['store_name']})."
                    " Use --force to replace this store's data with it",
                    code="backup_of_another_store",
                    details={"backup": theirs, "hub": ours},
                )
        restore_from(plain, cfg.db_path)
    finally:
        if decrypted is not None:
            decrypted.unlink(missing_ok=True)
    conn = sqlite3.connect(str(cfg.db_path), isolation_level=None, timeout=30)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        key = (
            conn.execute(f"SELECT secret_key FROM {BACKUP_KEY_TABLE}").fetchone()
            if BACKUP_KEY_TABLE in tables
            else None
        )
        files = (
            conn.execute(f"SELECT name, mode, data FROM {BACKUP_FILES_TABLE}").fetchall()
            if BACKUP_FILES_TABLE in tables
            else []
        )
        for table in (BACKUP_KEY_TABLE, BACKUP_FILES_TABLE):
            if table in tables:
                conn.execute(f"DROP TABLE {table}")
    finally:
        conn.close()
    for name, mode, data in files:
        if name not in BACKUP_FILES:  # only the files a backup is meant to carry, never a path it names
            continue
        dest = cfg.data_dir / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        _write_private(dest, bytes(data), mode)
    if not key or not key[0]:
        return False
    _write_private(cfg.secret_key_path, bytes(key[0]), 0o600)
    return True


def _write_private(dest: Path, data: bytes, mode: int) -> None:
    """Write ``dest`` atomically (a temporary file renamed over it) with ``mode``, never wider than 0644."""
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode & 0o644)
    tmp.replace(dest)

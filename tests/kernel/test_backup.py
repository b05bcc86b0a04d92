"""Backups an operator can trust: a missing folder is a clear refusal, another store's backup is not restored by
accident, and a backup can be encrypted with a passphrase (it holds the secret key and staff data)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from hub.kernel.config import HubConfig
from hub.store import BackupError, backup, backup_identity, initialise, is_encrypted, open_db, restore
from tests.support.common import ROOT


def _hub(path, store_id):
    cfg, db = open_db(path)
    initialise(db, store_id=store_id, store_name=f"Store {store_id}")
    return cfg, db


def _storehub(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_backup_into_a_missing_folder_is_a_clear_refusal_not_a_traceback(tmp_path):
    out = _storehub("backup", str(tmp_path / "usb" / "hub-backup.db"), "--data-dir", str(tmp_path / "h"))
    assert out.returncode == 2
    assert "does not exist (is the USB drive mounted?)" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "usb").exists()  # nothing created on the SD card instead of the USB drive


def test_restoring_another_stores_backup_needs_force(tmp_path):
    cfg_a, db_a = _hub(tmp_path / "a", "shanghai-01")
    backup(cfg_a, db_a, tmp_path / "a.db")
    db_a.close()
    cfg_b, db_b = _hub(tmp_path / "b", "beijing-02")
    db_b.close()
    with pytest.raises(BackupError) as e:
        restore(cfg_b, tmp_path / "a.db")
    assert e.value.code == "backup_of_another_store" and "shanghai-01" in e.value.message
    assert backup_identity(cfg_b.db_path)["store_id"] == "beijing-02"  # untouched
    out = _storehub("restore", str(tmp_path / "a.db"), "--data-dir", str(tmp_path / "b"))
    assert out.returncode == 2 and "shanghai-01" in out.stderr and "--force" in out.stderr
    out = _storehub("restore", str(tmp_path / "a.db"), "--data-dir", str(tmp_path / "b"), "--force")
    assert out.returncode == 0, out.stderr
    assert backup_identity(cfg_b.db_path)["store_id"] == "shanghai-01"


def test_an_encrypted_backup_holds_no_plaintext_and_needs_its_passphrase(tmp_path):
    cfg, db = _hub(tmp_path / "a", "shanghai-01")
    backup(cfg, db, tmp_path / "enc.db", passphrase="correct horse battery staple")
    db.close()
    raw = (tmp_path / "enc.db").read_bytes()
    assert is_encrypted(tmp_path / "enc.db") and b"SQLite format 3" not in raw and b"shanghai-01" not in raw
    assert oct((tmp_path / "enc.db").stat().st_mode & 0o777) == "0o600"
    fresh = HubConfig(data_dir=tmp_path / "new")
    with pytest.raises(BackupError) as e:
        restore(fresh, tmp_path / "enc.db")
    assert e.value.code == "passphrase_required"
    with pytest.raises(BackupError) as e:
        restore(fresh, tmp_path / "enc.db", passphrase="wrong")
    assert e.value.code == "wrong_passphrase" and not fresh.db_path.exists()
    assert restore(fresh, tmp_path / "enc.db", passphrase="correct horse battery staple") is True
    assert backup_identity(fresh.db_path)["store_id"] == "shanghai-01"
    assert fresh.secret_key_path.read_bytes() == cfg.secret_key()
    assert not (fresh.data_dir / ".restore.tmp").exists()


def test_encrypted_backup_round_trip_through_the_command(tmp_path):
    _cfg, db = _hub(tmp_path / "a", "shanghai-01")
    db.close()
    env = {"STOREHUB_BACKUP_PASSPHRASE": "s3cret-pass"}
    out = _storehub("backup", str(tmp_path / "b.db"), "--encrypt", "--data-dir", str(tmp_path / "a"), env=env)
    assert out.returncode == 0 and "encrypted" in out.stdout, out.stderr
    out = _storehub(
        "restore", str(tmp_path / "b.db"), "--data-dir", str(tmp_path / "c"), env={"STOREHUB_BACKUP_PASSPHRASE": "nope"}
    )
    assert out.returncode == 2 and "wrong passphrase" in out.stderr
    out = _storehub("restore", str(tmp_path / "b.db"), "--data-dir", str(tmp_path / "c"), env=env)
    assert out.returncode == 0, out.stderr


def test_init_keeps_secrets_private_and_out_of_git(tmp_path):
    d = tmp_path / "storehub-data"
    out = _storehub("init", "--store", "shanghai-01", "--data-dir", str(d))
    assert out.returncode == 0, out.stderr
    assert oct(d.stat().st_mode & 0o777) == "0o700"
    _storehub("users", "add", "li", "--role", "associate", "--pin", "4821", "--badge", "B-LI-01", "--data-dir", str(d))
    assert (d / "hub.db").exists() and (d / "secret.key").exists()
    for f in d.rglob("*"):
        if f.is_file() and f.name != ".gitignore" and f.suffix not in (".crt", ".pem"):  # certificates are public
            assert oct(f.stat().st_mode & 0o777) == "0o600", f
    assert (d / ".gitignore").read_text().splitlines()[-1] == "*"
    repo = tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _storehub("init", "--store", "x", "--data-dir", str(repo / "storehub-data"))
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert status == ""


def test_a_backup_carries_the_personal_data_keys_and_the_store_ca(tmp_path):
    cfg, db = _hub(tmp_path / "a", "shanghai-01")
    (cfg.data_dir / "pii.keys").write_bytes(b'{"keys": "ring"}')
    os.chmod(cfg.data_dir / "pii.keys", 0o600)
    (cfg.data_dir / "pki").mkdir(exist_ok=True)
    (cfg.data_dir / "pki" / "store-ca.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\nx\n")
    os.chmod(cfg.data_dir / "pki" / "store-ca.key", 0o600)
    (cfg.data_dir / "pki" / "store-ca.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\ny\n")
    backup(cfg, db, tmp_path / "b.db", passphrase="pass phrase")
    db.close()
    fresh = HubConfig(data_dir=tmp_path / "new")
    restore(fresh, tmp_path / "b.db", passphrase="pass phrase")
    assert (fresh.data_dir / "pii.keys").read_bytes() == b'{"keys": "ring"}'
    assert oct((fresh.data_dir / "pii.keys").stat().st_mode & 0o777) == "0o600"
    assert (fresh.data_dir / "pki" / "store-ca.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY")
    assert oct((fresh.data_dir / "pki" / "store-ca.key").stat().st_mode & 0o777) == "0o600"
    conn = sqlite3.connect(fresh.db_path)
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name LIKE 'storehub_backup%'").fetchone()

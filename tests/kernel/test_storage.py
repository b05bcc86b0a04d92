"""Storage: migrations from empty and from every earlier version, backup and restore, demo seed."""

import sqlite3
import subprocess
import sys

from hub import domains
from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel.db import migrate, migration_files
from hub.store import database as Database


def test_migrations_from_empty_database(tmp_path):
    db = Database(tmp_path / "a.db")
    applied = db.migrate()
    assert applied == [v for v, _, _ in migration_files(domains.migration_dirs())]
    assert db.migrate() == []  # idempotent
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_migrations_from_each_previous_version_keep_data(tmp_path):
    versions = [v for v, _, _ in migration_files(domains.migration_dirs())]
    for i, v in enumerate(versions):
        path = tmp_path / f"v{v}.db"
        conn = sqlite3.connect(path, isolation_level=None)
        migrate(conn, domains.migration_dirs(), target=v)
        conn.execute(
            "INSERT INTO settings(key, value, updated_at) VALUES ('store_id', '\"s-1\"', '2026-01-01T00:00:00Z')"
        )
        conn.execute(
            "INSERT INTO items(id, sku, name_en, unit, price_minor, created_at, updated_at)"
            " VALUES ('i1', 'SKU1', 'Thing', 'each', 100, 'x', 'x')"
        )
        rest = migrate(conn, domains.migration_dirs())
        assert rest == versions[i + 1 :]
        assert conn.execute("SELECT sku FROM items").fetchone()[0] == "SKU1"
        assert conn.execute("SELECT value FROM settings WHERE key='store_id'").fetchone()[0] == '"s-1"'
        conn.close()


def test_backup_and_restore_round_trip(hubctx, sample, tmp_path, data_dir):
    with hubctx.db.write() as c:
        ledger.post(
            c, MovementRequest("receive", sample["milk"]["id"], sample["bin1"]["id"], 12, "delivery", "t", "k-1")
        )
    backup = tmp_path / "backup.db"
    r = subprocess.run(
        [sys.executable, "-m", "hub.cli", "backup", "--data-dir", str(data_dir), str(backup)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    with hubctx.db.write() as c:  # a change after the backup...
        ledger.post(c, MovementRequest("sale", sample["milk"]["id"], sample["bin1"]["id"], 5, "sale", "t", "k-2"))
    other = tmp_path / "restored"
    r = subprocess.run(
        [sys.executable, "-m", "hub.cli", "restore", "--data-dir", str(other), str(backup)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    restored = Database(other / "hub.db")
    conn = restored.read()
    assert ledger.stock_of(conn, sample["milk"]["id"], sample["bin1"]["id"])["on_hand"] == 12
    assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 4
    assert ledger.fold(conn) == ledger.projection(conn)
    # "A restored hub has everything": the secret key under which badge codes are HMAC'd comes along, so
    # staff badges still log in on a new box; the key does not stay behind as a table in hub.db.
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name='storehub_backup_secret'").fetchone()
    restored.close()
    assert (other / "secret.key").read_bytes() == (data_dir / "secret.key").read_bytes()
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    from hub.app import create_app
    from hub.kernel.config import HubConfig

    app2 = create_app(HubConfig(data_dir=other, testing=True))
    r = app2.test_client().post("/api/v1/auth/login", json={"badge": "BADGE-associate"})
    assert r.status_code == 200, r.get_json()
    app2.extensions["storehub"].db.close()


def test_restore_refuses_a_file_that_is_not_a_hub_backup(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"definitely not sqlite" * 100)
    r = subprocess.run(
        [sys.executable, "-m", "hub.cli", "restore", "--data-dir", str(tmp_path / "d"), str(junk)],
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0
    assert (
        not (tmp_path / "d" / "hub.db").exists()
        or sqlite3.connect(tmp_path / "d" / "hub.db").execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
    )


def test_demo_seed_is_a_believable_store(tmp_path):
    from hub.demo.runner import seed_store

    creds = seed_store(tmp_path / "demo", "demo-1")
    db = Database(tmp_path / "demo" / "hub.db")
    c = db.read()
    assert c.execute("SELECT COUNT(*) FROM items").fetchone()[0] >= 2000
    cats = {r[0] for r in c.execute("SELECT DISTINCT category FROM items")}
    assert {"grocery", "produce", "household", "apparel"} <= cats
    assert c.execute("SELECT COUNT(*) FROM items WHERE name_zh = '' OR name_en = ''").fetchone()[0] == 0
    assert (
        c.execute(
            "SELECT COUNT(*) FROM items WHERE unit = 'kg' AND variable_measure = 1 AND plu IS NOT NULL"
        ).fetchone()[0]
        > 10
    )
    from biip.gtin import Gtin

    for (g,) in c.execute("SELECT gtin FROM item_gtins"):
        Gtin.parse(g)  # raises on a wrong check digit
    assert c.execute("SELECT value FROM settings WHERE key='currency'").fetchone()[0] == '"CNY"'
    walk = [r[0] for r in c.execute("SELECT walk_seq FROM locations WHERE kind='bin' ORDER BY walk_seq")]
    assert len(walk) == len(set(walk)) and len(walk) > 100
    assert ledger.fold(c) == ledger.projection(c)
    assert {u for u, _, _ in creds} >= {"wang", "zhao", "chen"}
    again = seed_store(tmp_path / "demo", "demo-1")  # idempotent
    assert again == creds
    assert c.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 2074
    db.close()


def test_users_add_cli(tmp_path):
    d = str(tmp_path / "h")
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "users",
            "add",
            "mei",
            "--role",
            "associate",
            "--pin",
            "4821",
            "--data-dir",
            d,
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "users",
            "add",
            "boss",
            "--role",
            "manager",
            "--pin",
            "4821",
            "--data-dir",
            d,
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "password_required" in bad.stderr


def test_a_core_migration_added_later_reaches_a_hub_already_on_later_versions(tmp_path):
    """0002 (login throttle) was added after 0010-0050 shipped: a hub that has those gets it on the next start."""
    import shutil

    older = tmp_path / "migrations"
    older.mkdir()
    for _v, _name, path in migration_files(domains.migration_dirs()):
        if _v != 2:
            shutil.copy(path, older / path.name)
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrate(conn, [older])
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name='login_throttle'").fetchone()
    assert migrate(conn, domains.migration_dirs()) == [2]
    assert conn.execute("SELECT COUNT(*) FROM login_throttle").fetchone()[0] == 0
    conn.close()


def test_the_promotions_blob_moves_out_of_settings(tmp_path):
    """Migration 0051: a hub whose downlink kept promotions as one settings blob gets one row per promotion."""
    import json

    dirs = domains.migration_dirs()
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrate(conn, dirs, target=50)
    blob = {
        "tea-week": {"id": "tea-week", "name": "Tea week", "skus": ["TEA-100"], "percent_off": 10},
        "rice": {"id": "rice", "name": "Rice", "skus": ["RICE-5KG"], "price_minor": 4500},
    }
    conn.execute(
        "INSERT INTO settings(key, value, updated_at) VALUES ('promotions', ?, '2026-11-30T08:00:00.000Z')",
        (json.dumps(blob),),
    )
    assert migrate(conn, dirs, target=51) == [51]
    rows = {r[0]: json.loads(r[1]) for r in conn.execute("SELECT id, body FROM central_promotions")}
    assert rows == blob
    assert conn.execute("SELECT COUNT(*) FROM settings WHERE key = 'promotions'").fetchone()[0] == 0

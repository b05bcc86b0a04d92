"""Staff personal data at rest (issue 20): display names stored only encrypted on the hub (raw file and WAL hold no
plaintext, the outbox carries them only sealed to the central), the API output unchanged, migration 0004
encrypting names written before it, and one rotation command re-encrypting staff and members alike."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from hub import domains
from hub.auth import sessions, users
from hub.kernel import pii
from hub.kernel.db import migrate
from hub.members import identity
from tests.support.common import ROOT

NAMES = ["Quintessa Marlowe-Okafor", "欧阳娜娜测试员"]


def _raw(data_dir) -> bytes:
    return b"".join((data_dir / f"hub.db{s}").read_bytes() for s in ("", "-wal") if (data_dir / f"hub.db{s}").exists())


def _needles(name: str) -> list[bytes]:
    return [name.encode("utf-8"), name.encode("utf-16-le"), name.encode("utf-16-be")]


def _assert_absent(raw: bytes, names=NAMES) -> None:
    for n in names:
        for needle in _needles(n):
            assert needle not in raw, f"{n!r} found in the raw database bytes"


@pytest.fixture
def staff(hubctx):
    out = []
    with hubctx.db.write() as conn:
        for i, name in enumerate(NAMES):
            out.append(
                users.create(
                    conn,
                    username=f"staff{i}",
                    role="associate",
                    pin="2468",
                    display_name=name,
                    secret_key=hubctx.secret_key,
                )
            )
    return out


def test_display_names_are_encrypted_in_the_file_and_the_wal_and_read_back_plain(hubctx, staff, client, data_dir):
    # still inside the WAL (no checkpoint yet): neither the WAL nor the main file holds a name
    assert (data_dir / "hub.db-wal").exists()
    _assert_absent(_raw(data_dir))
    conn = hubctx.db.read()
    stored = dict(conn.execute("SELECT id, display_name FROM users WHERE username LIKE 'staff%'").fetchall())
    ring = pii.keyring(data_dir)
    assert {pii.key_id(v) for v in stored.values()} == {ring.current}
    # read paths give the plain name: the domain, the session join, the API
    assert [users.get(conn, u["id"])["display_name"] for u in staff] == NAMES
    r = client.post("/api/v1/auth/login", json={"user": "staff1", "pin": "2468"})
    assert r.status_code == 200, r.get_json()
    token = r.get_json()["token"]
    assert sessions.resolve(conn, token)["display_name"] == NAMES[1]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["display_name"] == NAMES[1]
    # a ciphertext copied to another row does not decrypt (the row id is associated data)
    with pytest.raises(pii.PiiError):
        ring.decrypt(stored[staff[0]["id"]], context=users.name_context(staff[1]["id"]))
    hubctx.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _assert_absent(_raw(data_dir))


def test_the_user_fact_carries_the_name_only_sealed_to_the_central(hubctx, data_dir, tmp_path):
    central = pii.SealKeys.open(tmp_path / "central")
    pii.set_central_key(data_dir, central.public_key())
    with hubctx.db.write() as conn:
        u = users.create(
            conn, username="sealed", role="associate", pin="1357", display_name=NAMES[0], secret_key=hubctx.secret_key
        )
        unsealed_before = conn.execute(
            "SELECT payload FROM outbox WHERE kind = 'user.upsert' ORDER BY seq LIMIT 1"
        ).fetchone()[0]
    rows = [
        json.loads(r[0])
        for r in hubctx.db.read().execute("SELECT payload FROM outbox WHERE kind = 'user.upsert' ORDER BY seq")
    ]
    fact = rows[-1]
    assert fact["id"] == u["id"] and "display_name" not in fact
    assert pii.is_sealed(fact["display_name_sealed"])
    assert central.unseal(fact["display_name_sealed"], context=f"user.upsert|{u['id']}|display_name") == NAMES[0]
    with pytest.raises(pii.PiiError):  # bound to its fact and row
        central.unseal(fact["display_name_sealed"], context="user.upsert|someone-else|display_name")
    with pytest.raises(pii.PiiError):  # and only the central's private key opens it
        pii.SealKeys.open(tmp_path / "impostor").unseal(
            fact["display_name_sealed"].replace(central.current, pii.SealKeys.open(tmp_path / "impostor").current),
            context=f"user.upsert|{u['id']}|display_name",
        )
    # users created before the hub had the key (the fixture's) went without the name, and said so
    assert json.loads(unsealed_before)["display_name_sealed"] is None
    hubctx.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _assert_absent(_raw(data_dir), [NAMES[0]])


def test_migration_0004_encrypts_names_written_before_it(tmp_path):
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    path = data_dir / "hub.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    dirs = domains.migration_dirs()
    migrate(conn, dirs, target=3)  # a hub from before 0004
    conn.execute(
        "INSERT INTO users(id, username, display_name, role, pin_hash, created_at) VALUES"
        " ('u1','old1',?,'associate','x','2025-01-01T00:00:00Z'), ('u2','old2',?,'manager','x','2025-01-01T00:00:00Z')",
        NAMES,
    )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert NAMES[0].encode() in path.read_bytes()  # the starting point really is plaintext on disk
    assert 4 in migrate(conn, dirs)
    stored = dict(conn.execute("SELECT id, display_name FROM users").fetchall())
    conn.row_factory = sqlite3.Row
    assert [users.display_name(conn, uid, stored[uid]) for uid in ("u1", "u2")] == NAMES
    assert all(v.startswith("pii1:") for v in stored.values())
    assert users.encrypt_plaintext_names(conn) == 0  # idempotent
    conn.close()
    _assert_absent(_raw(data_dir))


def test_one_rotation_command_reencrypts_staff_and_members(hubctx, staff, data_dir):
    with hubctx.db.write() as conn:
        m, _ = identity.enrol(
            conn,
            phone="13812345678",
            name="Rotating Member",
            consent={"purpose": "loyalty", "granted": True},
            actor="t",
        )
    old = pii.keyring(data_dir).current
    hubctx.db.close()
    env = {**os.environ, "STOREHUB_DATA_DIR": str(data_dir)}
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "pii", "rotate-key"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    new = result["new_key"]
    assert result["retired"] == [old] and result["members_reencrypted"] == 1
    assert result["staff_reencrypted"] >= len(NAMES)  # the fixture's users too
    conn = hubctx.db.read()
    assert {pii.key_id(r[0]) for r in conn.execute("SELECT display_name FROM users")} == {new}
    assert [users.get(conn, u["id"])["display_name"] for u in staff] == NAMES
    with hubctx.db.write() as c:
        assert identity.find_by_phone(c, "13812345678") == m["id"]
        assert identity.personal(c, m["id"], actor="t")["name"] == "Rotating Member"
    # the members' command is the same rotation (an alias)
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "members", "rotate-key"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    again = json.loads(out.stdout)
    assert again["retired"] == [new] and again["staff_reencrypted"] >= len(NAMES)
    assert [users.get(hubctx.db.read(), u["id"])["display_name"] for u in staff] == NAMES


def test_an_encrypted_backup_restores_names_and_the_central_key_and_holds_no_name(hubctx, staff, data_dir, tmp_path):
    from hub.kernel.config import HubConfig
    from hub.store import backup, restore

    public = pii.SealKeys.open(tmp_path / "central").public_key()
    pii.set_central_key(data_dir, public)
    dest = tmp_path / "backup.db"
    backup(hubctx.config, hubctx.db, dest, passphrase="a long pass phrase")
    _assert_absent(dest.read_bytes())
    fresh = HubConfig(data_dir=tmp_path / "restored")
    restore(fresh, dest, passphrase="a long pass phrase")
    assert pii.central_key(fresh.data_dir) == public
    conn = sqlite3.connect(fresh.db_path)
    conn.row_factory = sqlite3.Row
    assert [users.get(conn, u["id"])["display_name"] for u in staff] == NAMES  # pii.keys came back with it
    conn.close()

"""Personal data at rest: no plaintext in the raw database file (tables, WAL and outbox rows), keys outside the
database (0600), and key rotation as a command that re-encrypts and re-hashes and retires the old key."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from hub.kernel import pii
from hub.members import identity, workflow
from tests.support.common import ROOT

PEOPLE = [
    ("13812345678", "王小明", "1990-05-17"),
    ("+44 20 7946 0958", "Jane Roe", "1985-11-30"),
    ("15900001234", "Zhang Wei", "2001-01-09"),
]


def _needles(phone: str, name: str, birthday: str) -> list[bytes]:
    digits = "".join(c for c in phone if c.isdigit())
    national = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    forms = {digits, national, national[-10:], "+" + digits, name, birthday}
    return [f.encode("utf-8") for f in forms] + [name.encode("utf-16-le")]


def _raw(data_dir) -> bytes:
    out = b""
    for suffix in ("", "-wal", "-shm"):
        p = data_dir / f"hub.db{suffix}"
        if p.exists():
            out += p.read_bytes()
    return out


def _assert_no_plaintext(data_dir) -> None:
    raw = _raw(data_dir)
    for phone, name, bday in PEOPLE:
        for needle in _needles(phone, name, bday):
            assert needle not in raw, f"{needle!r} found in the raw database file"


def test_the_raw_database_file_holds_no_personal_plaintext(hubctx, enrol, client, auth, data_dir):
    for phone, name, bday in PEOPLE:
        m = enrol(phone, name=name, birthday=bday)
        with hubctx.db.write() as conn:
            workflow.earn_for_sale(conn, m["id"], {"id": f"sale-{m['id']}", "lines": [{"sku": "X", "net_minor": 999}]})
            identity.identify(conn, phone=phone, actor="test")
    # the same people again through the API (found, not duplicated), and a refused phone
    for phone, _name, _bday in PEOPLE:
        r = client.post(
            "/api/v1/members",
            json={"phone": phone, "consent": {"purpose": "loyalty", "granted": True}},
            headers=auth("associate"),
        )
        assert r.status_code == 200, r.get_json()
        assert client.post("/api/v1/members/identify", json={"phone": phone}, headers=auth()).status_code == 200
    conn = hubctx.db.read()
    facts = [
        json.loads(r[0])
        for r in conn.execute(
            "SELECT payload FROM outbox WHERE kind LIKE 'member%' OR kind = 'points.entry' OR kind = 'audit'"
        )
    ]
    assert any("phone_hash" in f for f in facts)
    text = json.dumps(facts, ensure_ascii=False)
    for phone, name, bday in PEOPLE:
        for needle in _needles(phone, name, bday):
            assert needle.decode("utf-8", "ignore") not in text or needle.startswith(b"\xff")
    hubctx.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _assert_no_plaintext(data_dir)
    # ... and the values are there, encrypted under a key id, the key file outside the database, 0600
    row = conn.execute("SELECT phone_enc, name_enc, birthday_enc, phone_hash FROM members LIMIT 1").fetchone()
    ring = pii.keyring(data_dir)
    assert all(pii.key_id(v) == ring.current for v in row[:3]) and row[3].startswith(ring.current + ":")
    keyfile = data_dir / pii.KEY_FILE
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    key_material = json.loads(keyfile.read_text())["keys"][ring.current]["enc"].encode()
    assert key_material not in _raw(data_dir)


def test_rotate_key_reencrypts_rehashes_and_retires_the_old_key(hubctx, enrol, data_dir):
    ids = [enrol(p, name=n, birthday=b)["id"] for p, n, b in PEOPLE]
    old = pii.keyring(data_dir).current
    hubctx.db.close()
    env = {**os.environ, "STOREHUB_DATA_DIR": str(data_dir)}
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "members", "rotate-key"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["members_reencrypted"] == len(PEOPLE) and result["retired"] == [old]
    new = result["new_key"]
    ring = pii.keyring(data_dir)
    assert ring.current == new and set(ring.keys) == {new}
    conn = hubctx.db.read()
    for r in conn.execute("SELECT phone_enc, name_enc, birthday_enc, phone_hash FROM members"):
        assert {pii.key_id(v) for v in r[:3]} == {new} and r[3].startswith(new + ":")
    with hubctx.db.write() as c:  # found by phone under the new key, decrypted by the new key
        for (phone, name, _b), mid in zip(PEOPLE, ids, strict=False):
            assert identity.find_by_phone(c, phone) == mid
            assert identity.personal(c, mid, actor="manager")["name"] == name
    shown = subprocess.run(
        [sys.executable, "-m", "hub.cli", "members", "keys"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    material = json.loads((data_dir / pii.KEY_FILE).read_text())["keys"][new]
    assert json.loads(shown.stdout)["current"] == new
    assert material["enc"] not in shown.stdout and material["mac"] not in shown.stdout
    hubctx.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _assert_no_plaintext(data_dir)


def test_a_rotation_half_done_still_finds_everyone(hubctx, enrol, data_dir):
    m = enrol("13812345678")
    ring = pii.keyring(data_dir)
    ring.add_key()  # new key current, nothing re-encrypted yet
    with hubctx.db.write() as conn:
        assert identity.find_by_phone(conn, "13812345678") == m["id"]
        assert (
            identity.enrol(conn, phone="138 1234 5678", consent={"purpose": "loyalty", "granted": True}, actor="t")[1]
            is False
        )
        assert len(identity.keys_in_use(conn)) == 1
        out = identity.reencrypt_all(conn, actor="t")
    assert out["members_reencrypted"] == 1 and len(out["retired"]) == 1

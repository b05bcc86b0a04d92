"""Personal data end to end (issue 15, issue 20): a hub seals members' and staff's personal fields to the central;
the central (gunicorn on PostgreSQL) stores them encrypted with its own key ring outside the database and finds
members by a keyed phone hash; rotation re-encrypts and lookups keep working; export / consent withdrawal /
erase from head office, the erase reaching every hub through the downlink — including one offline at the time —
while the points history stays. Raw bytes are checked: the hub's SQLite file and WAL, and the PostgreSQL rows as
text."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from hub.auth import users
from hub.cli import main
from hub.kernel import pii
from hub.members import identity, workflow
from sync.central import members as central_members
from sync.central import office, personal, stores
from sync.central.db import make_engine, migrate
from sync.worker import SyncError, SyncWorker, WorkerConfig
from tests.support.common import ROOT, free_port
from tests.support.sync import CentralProcess, PgSchema, make_hub, pg_available, storehub

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PHONE, E164 = "138 1234 5678", "+8613812345678"
NAME, BIRTHDAY = "Wilhelmina Zoltan-Pereira", "1979-04-23"
STAFF_NAME = "Katarzyna Brzęczyszczykiewicz"
CONSENT = {"purpose": "loyalty", "granted": True}
NEEDLES = [PHONE.replace(" ", ""), E164, NAME, BIRTHDAY, STAFF_NAME, "Brzęczyszczykiewicz"]


@pytest.fixture
def chain(tmp_path):
    if not pg_available():
        pytest.skip("PostgreSQL not reachable")
    schema = PgSchema("pii")
    engine = make_engine(schema.url)
    migrate(engine)
    central_dir = tmp_path / "central"
    personal.attach(engine, central_dir)
    public = personal.public_key(central_dir)  # created before the server starts; it reads the same files
    central = CentralProcess(schema.url, central_dir, free_port()).start()
    hubs = {}
    for sid in ("store-a", "store-b"):
        secret = stores.add_store(engine, sid)
        cfg, db, _ctx = make_hub(tmp_path / sid, sid)
        pii.set_central_key(cfg.data_dir, public)  # what provisioning does (storehub central add-store --hub-data-dir)
        hubs[sid] = {
            "cfg": cfg,
            "db": db,
            "worker": SyncWorker(db, WorkerConfig(central_url=central.url, store_id=sid, secret=secret, batch_size=50)),
        }
    office.add_user(engine, "boss", "boss-password-1", "admin")
    office.add_user(engine, "clerk", "clerk-password-1", "viewer")
    yield {"engine": engine, "central": central, "dir": central_dir, "url": schema.url, "hubs": hubs}
    central.kill()
    for h in hubs.values():
        h["db"].close()
    engine.dispose()
    schema.drop()


def _sync(worker, tries: int = 200) -> None:
    for _ in range(tries):
        try:
            while worker.push_once():
                pass
            while worker.pull_once():
                pass
            return
        except SyncError:
            time.sleep(0.1)
    raise AssertionError("could not sync")


def _token(url: str, user: str, password: str) -> dict[str, str]:
    r = requests.post(f"{url}/api/v1/auth/token", json={"username": user, "password": password}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _hub_raw(data_dir) -> bytes:
    return b"".join((data_dir / f"hub.db{s}").read_bytes() for s in ("", "-wal") if (data_dir / f"hub.db{s}").exists())


def _assert_hub_clean(hub) -> None:
    raw = _hub_raw(hub["cfg"].data_dir)
    for n in NEEDLES:
        assert n.encode("utf-8") not in raw, f"{n!r} in the hub's raw database bytes"


def _central_text(engine) -> str:
    """Every row of every table that may hold personal data, as PostgreSQL prints it."""
    out = []
    with engine.connect() as conn:
        for table in (
            "member_personal",
            "staff_personal",
            "member_consents",
            "personal_audit",
            "members",
            "events",
            "downlink_changes",
        ):
            out += [r[0] for r in conn.exec_driver_sql(f"SELECT t::text FROM {table} t")]
    return "\n".join(out)


def _assert_central_clean(engine) -> None:
    text = _central_text(engine)
    assert NAME not in text and E164 not in text
    for n in NEEDLES:
        assert n not in text, f"{n!r} in the central's rows"


def test_personal_data_sealed_stored_encrypted_rotated_exported_withdrawn_and_erased_everywhere(chain):
    engine, central, a, b = chain["engine"], chain["central"], chain["hubs"]["store-a"], chain["hubs"]["store-b"]
    with a["db"].write() as conn:
        m, _ = identity.enrol(conn, phone=PHONE, name=NAME, birthday=BIRTHDAY, consent=CONSENT, actor="t")
        workflow.earn_for_sale(conn, m["id"], {"id": "sale-1", "lines": [{"sku": "X", "net_minor": 12_345}]})
        staff = users.create(
            conn,
            username="kasia",
            role="associate",
            pin="2468",
            display_name=STAFF_NAME,
            secret_key=a["cfg"].secret_key(),
        )
    mid = m["id"]

    # --- on the hub: nothing readable at rest, the outbox included; the sealed fields open only at the central
    _assert_hub_clean(a)
    outbox = {
        r[0]: json.loads(r[1])
        for r in a["db"]
        .read()
        .execute("SELECT kind, payload FROM outbox WHERE kind IN ('member.enrolled','user.upsert')")
    }
    sealed = outbox["member.enrolled"]["personal"]
    seal = pii.SealKeys.open(chain["dir"])
    assert seal.unseal(sealed["phone"], context=f"member.enrolled|{mid}|phone") == E164
    assert seal.unseal(sealed["birthday"], context=f"member.enrolled|{mid}|birthday") == BIRTHDAY
    with pytest.raises(pii.PiiError):
        seal.unseal(sealed["name"], context=f"member.enrolled|{mid}|phone")  # a field moved does not open
    assert outbox["user.upsert"]["display_name_sealed"].startswith("seal1:" + seal.current + ":")

    # --- at the central: stored encrypted under its ring, no plaintext in any row
    _sync(a["worker"])
    _sync(b["worker"])  # store B learns the member (masked phone, birthday month) through the downlink
    assert b["db"].read().execute("SELECT phone_masked FROM members WHERE id = ?", (mid,)).fetchone()[0]
    ring = pii.keyring(chain["dir"])
    with engine.connect() as conn:
        row = (
            conn.execute(select(personal.member_personal).where(personal.member_personal.c.member_id == mid))
            .mappings()
            .one()
        )
        consents = conn.execute(select(func.count()).select_from(personal.member_consents)).scalar()
    assert all(pii.key_id(row[c]) == ring.current for c in ("phone_ct", "name_ct", "birthday_ct"))
    assert row["phone_hash"].startswith(ring.current + ":") and row["marketing"] is True and consents == 1
    assert personal.staff_name(engine, "store-a", staff["id"]) == STAFF_NAME
    assert mid in _central_text(engine) and staff["id"] in _central_text(engine)  # the rows checked are there
    _assert_central_clean(engine)

    # --- head office: find by phone (admin only, audited), export
    admin, viewer = _token(central.url, "boss", "boss-password-1"), _token(central.url, "clerk", "clerk-password-1")
    found = requests.get(f"{central.url}/api/v1/members/by-phone", params={"phone": PHONE}, headers=admin, timeout=10)
    assert found.status_code == 200, found.text
    assert found.json()["member_id"] == mid and found.json()["phone_masked"] == m["phone_masked"]
    assert (
        requests.get(f"{central.url}/api/v1/members/by-phone", params={"phone": PHONE}, headers=viewer, timeout=10)
    ).status_code == 403
    missing = requests.get(
        f"{central.url}/api/v1/members/by-phone", params={"phone": "13900000000"}, headers=admin, timeout=10
    )
    assert missing.status_code == 404
    exported = requests.get(f"{central.url}/api/v1/members/{mid}/export", headers=admin, timeout=10)
    assert exported.status_code == 200, exported.text
    doc = exported.json()
    assert doc["personal"] == {"phone": E164, "name": NAME, "birthday": BIRTHDAY}
    assert [c["action"] for c in doc["consents"]] == ["grant"] and doc["points"]["balance"] > 0
    assert len(doc["points"]["entries"]) == 1

    # --- rotation: a command; everything re-encrypted under the new key, the old one retired, lookups still work
    old = ring.current
    out = subprocess.run(
        storehub("central", "rotate-pii-key", "--dir", str(chain["dir"]), "--db", chain["url"]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    rotated = json.loads(out.stdout)
    assert rotated["retired"] == [old] and rotated["members_reencrypted"] == 1 and rotated["staff_reencrypted"] == 1
    ring = pii.keyring(chain["dir"])
    assert set(ring.keys) == {rotated["new_key"]}
    with engine.connect() as conn:
        row = (
            conn.execute(select(personal.member_personal).where(personal.member_personal.c.member_id == mid))
            .mappings()
            .one()
        )
    assert {pii.key_id(row[c]) for c in ("phone_ct", "name_ct", "birthday_ct")} == {rotated["new_key"]}
    again = requests.get(f"{central.url}/api/v1/members/by-phone", params={"phone": E164}, headers=admin, timeout=10)
    assert again.status_code == 200 and again.json()["member_id"] == mid  # the server picked up the new key file
    assert personal.staff_name(engine, "store-a", staff["id"]) == STAFF_NAME
    _assert_central_clean(engine)

    # --- consent withdrawn (recorded, no more marketing); the CLI export shows it
    w = requests.post(f"{central.url}/api/v1/members/{mid}/consent/withdraw", json={}, headers=admin, timeout=10)
    assert w.status_code == 200, w.text
    assert w.json()["withdrawn"] == ["loyalty"] and w.json()["marketing"] is False
    cli = CliRunner().invoke(main, ["central", "member-export", mid, "--dir", str(chain["dir"]), "--db", chain["url"]])
    assert cli.exit_code == 0, cli.output
    assert [c["action"] for c in json.loads(cli.output)["consents"]] == ["grant", "withdraw"]

    # --- erase while store B is offline: gone at the central, history kept, every hub told
    entries_before = _entries(engine, mid)
    e = requests.post(f"{central.url}/api/v1/members/{mid}/erase", headers=admin, timeout=10)
    assert e.status_code == 200, e.text
    with engine.connect() as conn:
        row = (
            conn.execute(select(personal.member_personal).where(personal.member_personal.c.member_id == mid))
            .mappings()
            .one()
        )
        cm = conn.execute(select(central_members.members).where(central_members.members.c.member_id == mid)).one()
        enrolled = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT payload::text FROM events WHERE kind = 'member.enrolled' AND payload->>'member_id' = %s", (mid,)
            )
        ]
        audit = [r[0] for r in conn.exec_driver_sql("SELECT action FROM personal_audit ORDER BY at")]
    assert row["phone_ct"] is None and row["name_ct"] is None and row["birthday_ct"] is None
    assert row["phone_hash"] is None and row["erased_at"]
    assert cm.status == "erased" and cm.phone_masked == "" and cm.birthday_month is None
    assert enrolled and all('"personal": null' in p or '"personal":null' in p for p in enrolled)
    assert _entries(engine, mid) == entries_before  # the points history stays, keyed by the anonymous id
    assert {"find", "export", "withdraw", "erase"} <= set(audit)
    assert (
        requests.get(f"{central.url}/api/v1/members/by-phone", params={"phone": PHONE}, headers=admin, timeout=10)
    ).status_code == 404
    _sync(a["worker"])
    for hub in (a, b):
        before = hub["db"].read().execute("SELECT status FROM members WHERE id = ?", (mid,)).fetchone()[0]
        if hub is b:
            assert before == "active"  # B was offline: not erased yet ...
            _sync(b["worker"])  # ... until it reconnects
        r = (
            hub["db"]
            .read()
            .execute(
                "SELECT status, phone_masked, phone_hash, phone_enc, name_enc, birthday_enc, birthday_month FROM members"
                " WHERE id = ?",
                (mid,),
            )
            .fetchone()
        )
        assert tuple(r) == ("erased", "", None, None, None, None, None), dict(r)
        assert hub["db"].read().execute("SELECT COUNT(*) FROM points_entries WHERE member_id = ?", (mid,)).fetchone()[
            0
        ] == (1 if hub is a else 0)
    with a["db"].write() as conn:
        assert identity.find_by_phone(conn, PHONE) is None  # the phone no longer finds anyone on the hub
    a["db"].conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _assert_hub_clean(a)
    _assert_central_clean(engine)


def _entries(engine, member_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(central_members.points_entries)
            .where(central_members.points_entries.c.member_id == member_id)
        ).scalar()


def test_provisioning_gives_the_hub_the_centrals_public_key(tmp_path):
    """`storehub central add-store --hub-data-dir` writes the credential and the central's personal-data public key
    beside it; `storehub central pii-public-key` prints the same key; `storehub pii set-central-key` refuses junk."""
    central_dir, hub_dir = tmp_path / "central", tmp_path / "hub"
    hub_dir.mkdir()
    db = f"sqlite:///{tmp_path / 'central.db'}"
    r = CliRunner()
    out = r.invoke(
        main,
        ["central", "add-store", "s1", "--dir", str(central_dir), "--db", db]
        + ["--hub-data-dir", str(hub_dir), "--central-url", "http://127.0.0.1:1"],
    )
    assert out.exit_code == 0, out.output
    printed = r.invoke(main, ["central", "pii-public-key", "--dir", str(central_dir)])
    assert printed.exit_code == 0 and printed.output.strip() == pii.central_key(hub_dir)
    assert pii.central_key(hub_dir) == pii.SealKeys.open(central_dir).public_key()
    assert oct((central_dir / pii.SEAL_KEY_FILE).stat().st_mode & 0o777) == "0o600"
    bad = r.invoke(main, ["pii", "set-central-key", "not-a-key", "--data-dir", str(hub_dir)])
    assert bad.exit_code == 2 and "public key" in bad.output
    assert pii.central_key(hub_dir) == printed.output.strip()  # unchanged


def test_a_hub_configured_without_the_key_learns_it_from_the_downlink(tmp_path):
    """A hub linked with only URL and secret (`storehub sync configure`) gets the central's personal-data key with
    its first downlink page; facts from then on carry the personal fields sealed, and the central stores them."""
    from sync.central.app import create_app
    from sync.central.config import CentralConfig
    from tests.support.sync import ThreadedCentral

    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
    server = ThreadedCentral(app)
    cfg, db, _ctx = make_hub(tmp_path / "hub", "s1")
    try:
        worker = SyncWorker(
            db, WorkerConfig(central_url=server.url, store_id="s1", secret=stores.add_store(engine, "s1"))
        )
        with db.write() as conn:  # before the key: the fact goes without the personal fields
            early, _ = identity.enrol(conn, phone="13900001111", name=NAME, consent=CONSENT, actor="t")
        assert pii.central_key(cfg.data_dir) is None
        _sync(worker)
        assert pii.central_key(cfg.data_dir) == personal.public_key(tmp_path / "central")
        with db.write() as conn:
            late, _ = identity.enrol(conn, phone=PHONE, name=NAME, birthday=BIRTHDAY, consent=CONSENT, actor="t")
        _sync(worker)
        facts = {
            json.loads(r[0])["member_id"]: json.loads(r[0])
            for r in db.read().execute("SELECT payload FROM outbox WHERE kind = 'member.enrolled'")
        }
        assert facts[early["id"]]["personal"] is None and pii.is_sealed(facts[late["id"]]["personal"]["phone"])
        with engine.connect() as conn:
            rows = {r.member_id: r for r in conn.execute(select(personal.member_personal)).all()}
        assert set(rows) == {late["id"]} and pii.key_id(rows[late["id"]].name_ct)
        assert personal.export(engine, late["id"], actor="t")["personal"]["name"] == NAME
        # a new seal key pair at the central: the hub follows it with its next downlink page
        out = CliRunner().invoke(
            main,
            ["central", "rotate-pii-key", "--seal-pair", "--dir", str(tmp_path / "central")]
            + ["--db", f"sqlite:///{tmp_path / 'central.db'}"],
        )
        assert out.exit_code == 0, out.output
        new_pair = json.loads(out.output)["new_seal_key"]
        _sync(worker)
        assert pii.seal_key_id(pii.parse_public_key(pii.central_key(cfg.data_dir))) == new_pair
        assert personal.export(engine, late["id"], actor="t")["personal"]["phone"] == E164  # re-encrypted, readable
    finally:
        server.close()
        db.close()
        engine.dispose()


def test_the_personal_routes_never_5xx_for_an_admin(tmp_path):
    """Schemathesis over /api/v1/members/... as a head-office admin (the read API's fuzz test logs in as a viewer,
    whom these routes refuse): unknown members, junk phones and regions are clear 4xx, never a server error."""
    import schemathesis

    from sync.central.app import create_app
    from sync.central.config import CentralConfig
    from tests.support.fuzz import assert_no_server_errors

    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    app = create_app(CentralConfig(data_dir=tmp_path / "c", testing=True), engine=engine)
    office.add_user(engine, "adam", "admin-pass-1234", "admin")
    r = app.test_client().post("/api/v1/auth/token", json={"username": "adam", "password": "admin-pass-1234"})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex="^/api/v1/members")
    assert_no_server_errors(
        schema, {"Authorization": f"Bearer {r.get_json()['token']}"}, min_operations=4, max_examples=30
    )
    engine.dispose()

"""Single-use coupons at head office (sync/central/coupons.py, docs/coupons.md) on PostgreSQL: issuance of unique
codes delivered through the downlink, the budget cap, a reservation exactly once when two hubs race for the same
codes over HTTP (a real ``storehub central serve``), and a double redemption by two stores offline found at sync
and reported."""

from __future__ import annotations

import csv
import io
import re
import threading

import pytest

from hub.kernel.errors import NotFound, ValidationError
from hub.promotions import coupon_link
from hub.promotions import coupons as hub_coupons
from hub.synclink import state
from sync.central import coupons, downlink, stores
from sync.central.db import make_engine, migrate
from sync.worker import SyncWorker, WorkerConfig
from tests.support.common import free_port
from tests.support.promotions import promo
from tests.support.sync import CentralProcess, PgSchema, make_hub, pg_available

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not pg_available(), reason="PostgreSQL not reachable")]

A, B = "store-a", "store-b"
PID = "P-CPN"
SECRETS: dict[str, str] = {}  # each store's sync secret (shown once, when the store is added)


@pytest.fixture
def engine():
    schema = PgSchema("cpn")
    eng = make_engine(schema.url, pool_size=8)
    migrate(eng)
    SECRETS.clear()
    for sid in (A, B):
        SECRETS[sid] = stores.add_store(eng, sid, sid)
    downlink.author(eng, "promotion", promo(PID, "percent_off", {"percent": 10}, coupon="SPRING", phase="item"))
    downlink.author(eng, "promotion", promo("P-OPEN", "percent_off", {"percent": 5}, phase="item"))
    yield eng
    eng.dispose()
    schema.drop()


def test_issuance_unique_delivered_and_exported(engine):
    a = coupons.issue(engine, PID, 2000, actor="hq")
    b = coupons.issue(engine, PID, 500, member_id="M1", offline=True, store_id=A, actor="hq")
    assert len(set(a["codes"]) | set(b["codes"])) == 2500
    assert all(hub_coupons.well_formed(c) == c for c in a["codes"] + b["codes"])
    # the whole-chain batch reaches both stores, the store's own batch only that store
    seen = {
        sid: {ch["key"] for ch in downlink.changes_for(engine, sid, 0, 2000)["changes"] if ch["kind"] == "coupon"}
        for sid in (A, B)
    }
    assert seen == {A: {a["batch_id"], b["batch_id"]}, B: {a["batch_id"]}}
    change = next(ch for ch in downlink.changes_for(engine, A, 0, 2000)["changes"] if ch["key"] == b["batch_id"])
    assert change["payload"]["member_id"] == "M1" and change["payload"]["offline"] is True
    assert change["payload"]["issuer_store"] == A and sorted(change["payload"]["codes"]) == sorted(b["codes"])
    rows = list(csv.DictReader(io.StringIO(coupons.batch_csv(engine, b["batch_id"]))))
    assert len(rows) == 500 and {r["member_id"] for r in rows} == {"M1"}
    assert all(r["printed"].replace("-", "") == r["code"] for r in rows)
    listed = {x["batch_id"]: x for x in coupons.batches(engine)}
    assert listed[a["batch_id"]]["n"] == 2000 and listed[a["batch_id"]]["redeemed"] == 0

    with pytest.raises(ValidationError) as exc:
        coupons.issue(engine, "P-OPEN", 5)
    assert exc.value.code == "coupon_promotion_not_gated"
    with pytest.raises(NotFound):
        coupons.issue(engine, "P-NONE", 5)
    for n in (0, coupons.MAX_BATCH + 1, True):
        with pytest.raises(ValidationError):
            coupons.issue(engine, PID, n)


def test_budget_cap_refuses_reservations_over_it(engine):
    got = coupons.issue(engine, PID, 6)["codes"]
    coupons.set_budget(engine, PID, max_redemptions=3, max_discount_minor=1000)
    assert coupons.reserve(engine, A, got[0], "S1", discount_minor=400)["status"] == "reserved"
    assert coupons.reserve(engine, A, got[1], "S2", discount_minor=500)["status"] == "reserved"
    over = coupons.reserve(engine, B, got[2], "S3", discount_minor=200)  # 900 + 200 > 1000
    assert over == {"status": "refused", "reason": "budget_discount", "code": got[2]}
    assert coupons.reserve(engine, B, got[2], "S3", discount_minor=100)["status"] == "reserved"
    assert coupons.reserve(engine, B, got[3], "S4", discount_minor=0)["reason"] == "budget_redemptions"
    b = coupons.budget(engine, PID)
    assert (b["redemptions"], b["discount_minor"]) == (3, 1000)
    # the same sale asking again is answered the same; another sale is refused
    again = coupons.reserve(engine, A, got[0], "S1", discount_minor=400)
    assert again["status"] == "reserved" and again["again"] is True
    assert coupons.reserve(engine, B, got[0], "S9", discount_minor=1)["reason"] == "used"
    assert coupons.budget(engine, PID)["redemptions"] == 3
    with pytest.raises(ValidationError) as exc:
        coupons.reserve(engine, A, got[4][:-1] + ("2" if got[4][-1] != "2" else "3"), "S5", discount_minor=1)
    assert exc.value.code == "coupon_malformed"
    assert coupons.reserve(engine, A, hub_coupons.new_code(), "S6", discount_minor=1)["reason"] == "unknown"


def _hub(tmp_path, engine, central, sid):
    secret = SECRETS[sid]
    cfg, db, _ = make_hub(tmp_path / sid, sid)
    state.write_credentials(tmp_path / sid, central_url=central.url, store_id=sid, secret=secret)
    worker = SyncWorker(db, WorkerConfig(central_url=central.url, store_id=sid, secret=secret, timeout_s=5))
    return {"db": db, "worker": worker, "dir": tmp_path / sid}


def test_two_hubs_racing_reserve_each_code_once_and_offline_doubles_are_reported(engine, tmp_path):
    central = CentralProcess(engine.url.render_as_string(hide_password=False), tmp_path / "central", free_port())
    central.start()
    try:
        hubs = {sid: _hub(tmp_path, engine, central, sid) for sid in (A, B)}
        race = coupons.issue(engine, PID, 20)["codes"]
        offline = coupons.issue(engine, PID, 1, offline=True)["codes"][0]
        coupons.set_budget(engine, PID, max_redemptions=15, max_discount_minor=None)
        for h in hubs.values():
            while h["worker"].pull_once():
                pass
        assert hub_coupons.lookup(hubs[A]["db"].read(), offline)["offline_ok"] == 1

        answers: dict[tuple[str, str], dict] = {}
        go = threading.Barrier(2)

        def till(sid: str) -> None:
            go.wait()
            for i, code in enumerate(race):
                got = coupon_link.reserve(hubs[sid]["dir"], code, f"{sid}-sale-{i}", 100, timeout_s=10)
                assert got is not None
                answers[(sid, code)] = got

        threads = [threading.Thread(target=till, args=(sid,)) for sid in (A, B)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        winners = [(sid, c) for (sid, c), ans in answers.items() if ans["status"] == "reserved"]
        assert len(answers) == 40
        assert len(winners) == 15 and len({c for _, c in winners}) == 15  # never one code twice; the cap holds
        refused = {ans["reason"] for ans in answers.values() if ans["status"] == "refused"}
        assert refused <= {"used", "budget_redemptions"} and "budget_redemptions" in refused
        assert coupons.budget(engine, PID)["redemptions"] == 15
        # asked again by the same sale (a retried tender): the same answer, counted once
        sid, code = winners[0]
        i = race.index(code)
        assert coupon_link.reserve(hubs[sid]["dir"], code, f"{sid}-sale-{i}", 100)["status"] == "reserved"
        assert coupons.budget(engine, PID)["redemptions"] == 15

        # both stores offline: the adapter says so within its timeout, the offline rules accept the offline code
        central.kill()
        coupons.set_budget(engine, PID, max_redemptions=None, max_discount_minor=None)
        for sid, h in hubs.items():
            assert coupon_link.reserve(h["dir"], offline, f"{sid}-off", 250, timeout_s=1) is None
            with h["db"].write() as w:
                row = hub_coupons.lookup(w, offline)
                hub_coupons.redeem(w, row, sale_id=f"{sid}-off", store_id=sid, discount_minor=250, reservation=None)
        central.start()
        for h in hubs.values():
            while h["worker"].push_once():
                pass
        doubles = coupons.double_redemptions(engine)
        assert [d["code"] for d in doubles] == [offline]
        assert sorted((r["store_id"], r["sale_id"], r["online"]) for r in doubles[0]["redemptions"]) == [
            (A, f"{A}-off", False),
            (B, f"{B}-off", False),
        ]
        assert coupons.budget(engine, PID)["redemptions"] == 17  # both discounts were given
        for h in hubs.values():  # pushed again (a replay): counted once
            h["worker"].push_once()
        assert coupons.budget(engine, PID)["redemptions"] == 17
    finally:
        central.kill()


def _login(c, user: str, pw: str) -> str:
    page = c.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert c.post("/login", data={"username": user, "password": pw, "csrf": csrf, "next": "/"}).status_code == 302
    return re.search(r'name="csrf" value="([^"]+)"', c.get("/coupons").get_data(as_text=True)).group(1)


def test_read_api_and_office_page(engine, tmp_path):
    from sync.central import office
    from sync.central.app import create_app
    from sync.central.config import CentralConfig

    app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
    office.add_user(engine, "olivia", "office-pass-123", "viewer")
    office.add_user(engine, "adam", "admin-pass-1234", "admin")
    c = app.test_client()

    def tok(u, p):
        return {
            "Authorization": "Bearer "
            + c.post("/api/v1/auth/token", json={"username": u, "password": p}).get_json()["token"]
        }

    admin, viewer = tok("adam", "admin-pass-1234"), tok("olivia", "office-pass-123")
    body = {"promotion_id": PID, "n": 25, "offline": True}
    assert c.post("/api/v1/coupons/batches", json=body, headers=viewer).status_code == 403
    r = c.post("/api/v1/coupons/batches", json=body, headers=admin)
    assert r.status_code == 200, r.get_json()
    batch = r.get_json()
    assert len(set(batch["codes"])) == 25
    r = c.post("/api/v1/coupons/batches", json={"promotion_id": "P-OPEN", "n": 2}, headers=admin)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "coupon_promotion_not_gated"
    got = c.get(f"/api/v1/coupons/batches/{batch['batch_id']}/codes.csv", headers=admin)
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert sorted(r["code"] for r in csv.DictReader(io.StringIO(got.get_data(as_text=True)))) == sorted(batch["codes"])
    r = c.put(f"/api/v1/coupons/budgets/{PID}", json={"max_redemptions": 1, "max_discount_minor": None}, headers=admin)
    assert r.status_code == 200 and r.get_json()["max_redemptions"] == 1
    assert coupons.reserve(engine, A, batch["codes"][0], "S1", discount_minor=10)["status"] == "reserved"
    assert coupons.reserve(engine, A, batch["codes"][1], "S2", discount_minor=10)["reason"] == "budget_redemptions"
    listed = c.get("/api/v1/coupons/batches", headers=viewer).get_json()["items"]
    assert [(b["batch_id"], b["redeemed"]) for b in listed] == [(batch["batch_id"], 1)]
    assert c.get("/api/v1/coupons/doubles", headers=viewer).get_json() == {"items": []}

    # a double redemption reported by two stores' facts (exactly as the hubs send them)
    from sync.central import ingest

    code = batch["codes"][2]
    for n, sid in enumerate((A, B), start=1):
        fact = {
            "code": code,
            "promotion_id": PID,
            "sale_id": f"{sid}-s",
            "discount_minor": 100,
            "online": False,
            "at": f"2026-12-01T0{n}:00:00.000Z",
            "reserved_as": f"{sid}-cart",
        }
        ev = {"seq": 1, "id": f"e-{sid}", "kind": "coupon.redeemed", "ts": fact["at"], "payload": fact}
        ingest.apply_batch(engine, sid, {"store_id": sid, "after": 0, "through": 1, "events": [ev]})
    assert [d["code"] for d in c.get("/api/v1/coupons/doubles", headers=viewer).get_json()["items"]] == [code]

    # the office page: a viewer sees batches and doubles, in Chinese too, but cannot issue
    _login(c, "olivia", "office-pass-123")
    zh = c.get("/coupons?lang=zh-CN").get_data(as_text=True)
    assert "重复核销" in zh and code in zh and batch["batch_id"] in zh and "仅管理员可发放券码" in zh
    c2 = app.test_client()
    csrf = _login(c2, "adam", "admin-pass-1234")
    page = c2.post("/coupons?lang=en", data={"csrf": csrf, "promotion_id": PID, "n": "3", "store_id": A})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Issued: 3" in html
    new_batch = re.search(r'href="/coupons/([^"]+)\.csv"', html).group(1)
    rows = list(csv.DictReader(io.StringIO(c2.get(f"/coupons/{new_batch}.csv").get_data(as_text=True))))
    assert len(rows) == 3 and {r["issuer_store"] for r in rows} == {A}
    bad = c2.post("/coupons", data={"csrf": csrf, "promotion_id": "P-OPEN", "n": "3"})
    assert bad.status_code == 400 and "coupon_promotion_not_gated" in bad.get_data(as_text=True)


def test_cli_issues_a_batch_as_csv(engine, tmp_path):
    import subprocess

    from tests.support.sync import ROOT, storehub

    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "codes.csv"
    cmd = storehub(
        "central", "issue-coupons", "--db", url, "--dir", str(tmp_path / "c"), PID, "7", "--offline", "--csv", str(out)
    )
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 7 and {r["offline"] for r in rows} == {"1"}
    assert all(hub_coupons.well_formed(r["printed"]) == r["code"] for r in rows)
    bad = subprocess.run(
        storehub("central", "issue-coupons", "--db", url, "--dir", str(tmp_path / "c"), "P-OPEN", "2"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "coupon_promotion_not_gated" in bad.stderr


def test_till_reserves_online_and_the_central_counts_it_once(engine, tmp_path, hubctx, client, auth):
    """The hub's own routes against a central on PostgreSQL: the tender reserves the code (online), the sale
    records it with the fact, the push folds it without counting it again; over the cap the tender is refused and
    nothing is recorded."""
    import json
    import uuid

    from hub.inventory import catalog
    from hub.kernel import settings
    from sync.central.app import create_app
    from sync.central.config import CentralConfig
    from tests.support.sync import ThreadedCentral

    server = ThreadedCentral(create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine))
    try:
        sid = settings.get(hubctx.db.read(), "store_id")
        secret = stores.add_store(engine, sid, sid)
        state.write_credentials(hubctx.config.data_dir, central_url=server.url, store_id=sid, secret=secret)
        worker = SyncWorker(hubctx.db, WorkerConfig(central_url=server.url, store_id=sid, secret=secret, timeout_s=5))
        a, b = coupons.issue(engine, PID, 2)["codes"]  # not usable offline: only head office can confirm them
        coupons.set_budget(engine, PID, max_redemptions=1, max_discount_minor=None)
        while worker.pull_once():
            pass
        with hubctx.db.write() as conn:
            catalog.create_item(
                conn,
                {"sku": "COLA-330", "name_en": "Cola", "unit": "each", "price_minor": 1000, "gtins": ["6901234567892"]},
                actor="test",
            )

        def call(method, path, body=None):
            r = client.open(f"/api/v1/checkout{path}", method=method, json=body, headers=auth("associate"))
            return r.status_code, r.get_json()

        assert call("POST", "/tills/T1/shifts", {"float_counted": {"10000": 1}})[0] == 201

        def sell(code):
            st, c = call("POST", "/tills/T1/carts", {})
            assert st == 201, c
            assert call("POST", f"/carts/{c['id']}/scan", {"code": "6901234567892"})[0] == 200
            st, c = call("POST", f"/carts/{c['id']}/coupons", {"code": code})
            assert st == 200 and c["total_minor"] == 900, c  # 10% off
            pay = {"method": "cash", "amount_minor": 900, "received_minor": 900, "idempotency_key": uuid.uuid4().hex}
            return c["id"], call("POST", f"/carts/{c['id']}/tenders", pay)

        cart_a, (st, done) = sell(a)
        assert st == 200, done
        held = coupons.budget(engine, PID)
        assert held["redemptions"] == 1 and held["discount_minor"] == 100
        conn = hubctx.db.read()
        fact = json.loads(conn.execute("SELECT payload FROM outbox WHERE kind = 'coupon.redeemed'").fetchone()[0])
        assert fact["code"] == a and fact["online"] is True and fact["reserved_as"] == cart_a

        _cart_b, (st, err) = sell(b)  # over the cap: head office refuses, the sale is not recorded
        assert st == 422 and err["error"]["code"] == "coupon_refused"
        assert err["error"]["details"]["reason"] == "budget_redemptions"
        conn = hubctx.db.read()
        assert conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'coupon.redeemed'").fetchone()[0] == 1

        while worker.push_once():
            pass
        assert coupons.budget(engine, PID)["redemptions"] == 1  # reserved online: not counted twice
        assert coupons.double_redemptions(engine) == []

        # a reservation the cart does not use is given back: the code taken out, or the cart voided
        coupons.set_budget(engine, PID, max_redemptions=3, max_discount_minor=None)

        def holder(code):
            with engine.connect() as c:
                return c.execute(
                    coupons.select(coupons.coupon_codes.c.reserved_sale).where(coupons.coupon_codes.c.code == code)
                ).scalar()

        assert holder(b) is None  # refused over the cap: nothing is held
        cid = _cart_b  # still open, with the cola and the code; the refusal is asked again now the cap is higher
        st, err = call("POST", f"/carts/{cid}/complete")  # reserves, then refuses: nothing paid yet
        assert st == 409 and err["error"]["code"] == "tender_short"
        assert holder(b) == cid and coupons.budget(engine, PID)["redemptions"] == 2
        st, c = call("DELETE", f"/carts/{cid}/coupons/{b}")
        assert st == 200 and c["coupons"] == []
        assert holder(b) is None and coupons.budget(engine, PID)["redemptions"] == 1
        assert call("POST", f"/carts/{cid}/coupons", {"code": b})[0] == 200
        assert call("POST", f"/carts/{cid}/complete")[0] == 409
        assert holder(b) == cid
        assert call("POST", f"/carts/{cid}/void", {"reason": "customer left"})[0] == 200
        assert holder(b) is None and coupons.budget(engine, PID)["redemptions"] == 1
    finally:
        server.server.shutdown()

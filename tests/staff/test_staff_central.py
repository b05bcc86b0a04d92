"""Head office's payroll across stores: two real hubs approve a pay period, push their facts through the real sync
path to the central (PostgreSQL and SQLite), and the central's export of the period holds each store's approved
figures — hours by category to the second, commission as approved — the same bytes twice, and the same facts
pushed again count once. (Commission from till sales is tested on the hub, tests/staff/test_staff_demand.py:
the till dates a sale today, inside no period that has ended.)"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.auth import users
from hub.kernel import settings
from hub.protocol.timeutil import iso
from hub.staff import attendance, payroll, roster
from hub.synclink import state
from sync.central import office, stores
from sync.central import staff as central_staff
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine
from sync.worker import SyncWorker, WorkerConfig
from tests.support.sync import ThreadedCentral, central_db_url, make_hub

SH = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2025, 10, 13), date(2025, 10, 19)  # a week without a holiday


def at(day: date, hh: int, mm: int = 0) -> str:
    return iso(datetime(day.year, day.month, day.day, hh, mm, tzinfo=SH))


def work(db, uid, day, start, end):
    with db.write() as c:
        attendance.punch(c, uid, "in", source="pin", at=at(day, *start))
        attendance.punch(c, uid, "out", source="pin", at=at(day, *end))


def _push(db, url, store, secret):
    worker = SyncWorker(db, WorkerConfig(central_url=url, store_id=store, secret=secret))
    while worker.push_once():
        pass


def _hub_b(tmp_path):
    _cfg, db, _ctx = make_hub(tmp_path / "hub-b", "store-b")
    with db.write() as c:
        settings.put(c, "timezone", "Asia/Shanghai")
        mgr = users.create(c, username="mgr", role="manager", secret_key=b"k" * 32, password="manager-pass-1")["id"]
        wu = users.create(c, username="wu", role="associate", secret_key=b"k" * 32, pin="8888")["id"]
        roster.set_profile(c, wu, skills=[], employee_no="B-007", actor=mgr)
    for i in range(5):  # 5 × 9 h: 40 regular, 5 overtime
        work(db, wu, FIRST + timedelta(days=i), (9, 0), (18, 0))
    with db.write() as c:
        payroll.approve(c, FIRST, LAST, actor=mgr)
    return db


@pytest.fixture(params=["postgres", "sqlite"])
def two_stores(request, tmp_path, hubctx, crew):
    db_a = hubctx.db
    with db_a.write() as c:
        settings.put(c, "timezone", "Asia/Shanghai")
        roster.set_profile(c, crew["li"], skills=["till"], employee_no="A-001", actor=crew["supervisor"])
    work(db_a, crew["li"], FIRST + timedelta(days=5), (22, 0), (23, 30))  # Saturday night: rest day and night
    work(db_a, crew["zhang"], FIRST, (8, 0), (12, 0))
    with db_a.write() as c:
        payroll.approve(c, FIRST, LAST, actor=crew["manager"])
    db_b = _hub_b(tmp_path)
    with central_db_url(request.param, tmp_path, "staffpay") as url:
        engine = make_engine(url)
        app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
        server = ThreadedCentral(app)
        secret_a, secret_b = stores.add_store(engine, "store-a"), stores.add_store(engine, "store-b")
        office.add_user(engine, "olivia", "office-pass-123", "admin")
        office.add_user(engine, "victor", "office-pass-456", "viewer")
        try:
            _push(db_a, server.url, "store-a", secret_a)
            _push(db_b, server.url, "store-b", secret_b)
            yield {
                "app": app,
                "engine": engine,
                "db_a": db_a,
                "db_b": db_b,
                "url": server.url,
                "secrets": (secret_a, secret_b),
            }
        finally:
            server.close()
            engine.dispose()
            db_b.close()


def _approved_rows(db) -> list[dict]:
    [row] = db.read().execute("SELECT payload FROM outbox WHERE kind = 'staff.payroll.approved'").fetchall()
    return json.loads(row[0])["rows"]


def test_central_payroll_export_holds_every_stores_approved_figures(two_stores):
    engine = two_stores["engine"]
    with engine.connect() as conn:
        data = central_staff.export_csv(conn, FIRST, LAST)
        again = central_staff.export_csv(conn, FIRST - timedelta(days=3), LAST + timedelta(days=3))
        outside = central_staff.export_csv(conn, FIRST + timedelta(days=1), LAST)
    assert data == again  # the same approved periods: the same bytes
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(list(csv.DictReader(io.StringIO(outside.decode("utf-8-sig"))))) == 0  # a period cut in two: none
    assert [(r["store_id"], r["employee_no"]) for r in rows][-1] == ("store-b", "B-007")
    wu = rows[-1]
    assert (wu["regular_hours"], wu["overtime_hours"], wu["worked_seconds"]) == ("40.00", "5.00", str(45 * 3600))
    assert (wu["multiplier_overtime"], wu["multiplier_night"]) == ("1.5", "0.2")
    li = next(r for r in rows if r["employee_no"] == "A-001")
    assert (li["rest_day_hours"], li["night_hours"], li["worked_seconds"]) == ("1.50", "1.50", str(90 * 60))
    # the central's file agrees with each store's approved rows, second by second
    for store, db in (("store-a", two_stores["db_a"]), ("store-b", two_stores["db_b"])):
        mine = {r["user_id"]: r for r in _approved_rows(db)}
        theirs = {r["user_id"]: r for r in rows if r["store_id"] == store}
        assert set(mine) == set(theirs)
        for uid, r in mine.items():
            assert int(theirs[uid]["worked_seconds"]) == r["seconds"]["worked"]
            assert int(theirs[uid]["commission_minor"]) == r["commission_minor"]
    # pushed again (a re-registered hub resending): nothing counts twice
    with two_stores["db_a"].write() as c:
        state.put(c, "uplink_cursor", 0)
    _push(two_stores["db_a"], two_stores["url"], "store-a", two_stores["secrets"][0])
    with engine.connect() as conn:
        assert central_staff.export_csv(conn, FIRST, LAST) == data


def _token(c, user, password):
    r = c.post("/api/v1/auth/token", json={"username": user, "password": password})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_central_payroll_csv_route_is_for_admins(two_stores):
    c = two_stores["app"].test_client()
    q = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    r = c.get("/api/v1/staff/payroll.csv", query_string=q, headers=_token(c, "olivia", "office-pass-123"))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    with two_stores["engine"].connect() as conn:
        assert r.data == central_staff.export_csv(conn, FIRST, LAST)
    assert f"payroll-{FIRST.isoformat()}-{LAST.isoformat()}.csv" in r.headers["Content-Disposition"]
    viewer = _token(c, "victor", "office-pass-456")
    assert c.get("/api/v1/staff/payroll.csv", query_string=q, headers=viewer).status_code == 403
    bad = c.get("/api/v1/staff/payroll.csv", query_string={"from": "2025-13-01", "to": "x"}, headers=viewer)
    assert bad.status_code in (400, 403)

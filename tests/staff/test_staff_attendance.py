"""Attendance in the domain: punches (repeat within a minute, out without in), a supervisor closing a missing
clock-out, corrections (never by the person themselves), and the payroll export — its totals equal the
attendance facts, the same period gives the same bytes, and an approved period is locked."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from hub.kernel import settings
from hub.kernel.errors import Conflict, Forbidden
from hub.protocol.timeutil import iso
from hub.staff import attendance, payroll

SH = ZoneInfo("Asia/Shanghai")


def t(day: date, hh: int, mm: int = 0, ss: int = 0) -> str:
    return iso(datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=SH))


def work(db, uid, day, start, end, brk=None):
    with db.write() as c:
        attendance.punch(c, uid, "in", source="pin", at=t(day, *start))
        if brk:
            attendance.punch(c, uid, "break_start", source="pin", at=t(day, *brk[0]))
            attendance.punch(c, uid, "break_end", source="pin", at=t(day, *brk[1]))
        attendance.punch(c, uid, "out", source="pin", at=t(day, *end))


def facts(db, kind):
    return [
        json.loads(r[0]) for r in db.read().execute("SELECT payload FROM outbox WHERE kind = ? ORDER BY seq", (kind,))
    ]


def test_two_clock_ins_within_a_minute_count_once_and_out_without_in_is_refused(hubctx, crew):
    db, li = hubctx.db, crew["li"]
    day = date(2025, 11, 10)
    with db.write() as c:
        with pytest.raises(Conflict) as e:
            attendance.punch(c, li, "out", source="pin", at=t(day, 8))
    assert e.value.code == "not_clocked_in"
    with db.write() as c:
        first = attendance.punch(c, li, "in", source="pin", at=t(day, 9, 0, 0))
        again = attendance.punch(c, li, "in", source="pin", at=t(day, 9, 0, 40))
    assert first["counted"] and not again["counted"] and again["session_id"] == first["session_id"]
    rows = db.read().execute("SELECT counted FROM staff_punches WHERE user_id = ? ORDER BY at", (li,)).fetchall()
    assert [r[0] for r in rows] == [1, 0]  # both kept, one counted
    with db.write() as c:
        with pytest.raises(Conflict) as e:
            attendance.punch(c, li, "in", source="pin", at=t(day, 9, 5))
    assert e.value.code == "already_clocked_in"
    with db.write() as c:
        attendance.punch(c, li, "out", source="pin", at=t(day, 17))
    [s] = attendance.sessions_between(db.read(), day, day, user_id=li)
    assert s["worked_s"] == 8 * 3600 and s["ended_by"] == "clock"


def test_a_disabled_person_cannot_clock(hubctx, crew):
    with hubctx.db.write() as c:
        c.execute("UPDATE users SET active = 0 WHERE id = ?", (crew["zhang"],))
    with hubctx.db.write() as c, pytest.raises(Forbidden) as e:
        attendance.punch(c, crew["zhang"], "in", source="pin")
    assert e.value.code == "user_disabled"


def test_missing_clock_out_closed_by_a_supervisor_with_a_reason(hubctx, crew):
    db = hubctx.db
    day = date(2025, 11, 11)
    with db.write() as c:
        sid = attendance.punch(c, crew["li"], "in", source="pin", at=t(day, 9))["session_id"]
    ex = attendance.exceptions_between(db.read(), day, day)
    assert [(e["kind"], e["session_id"]) for e in ex if e["kind"] == "missing_clock_out"] == [
        ("missing_clock_out", sid)
    ]
    with db.write() as c, pytest.raises(Forbidden) as e:
        attendance.close_missing(c, sid, ended_at=t(day, 17), reason="forgot", actor=crew["associate"])
    assert e.value.code == "wrong_role"
    with db.write() as c:
        s = attendance.close_missing(
            c, sid, ended_at=t(day, 17), reason="left at 17:00, seen by CCTV", actor=crew["supervisor"]
        )
    assert s["ended_by"] == "supervisor" and s["worked_s"] == 8 * 3600 and s["revision"] == 2
    [fact] = [f for f in facts(db, "staff.attendance") if f["revision"] == 2]
    assert fact["reason"] == "left at 17:00, seen by CCTV"
    audit = db.read().execute("SELECT actor FROM audit_log WHERE action = 'staff.close_missing'").fetchall()
    assert [a[0] for a in audit] == [crew["supervisor"]]


def test_corrections_need_another_supervisor(hubctx, crew):
    db = hubctx.db
    day = date(2025, 11, 12)
    work(db, crew["supervisor"], day, (9, 0), (12, 0))
    [s] = attendance.sessions_between(db.read(), day, day, user_id=crew["supervisor"])
    with db.write() as c:
        corr = attendance.request_correction(
            c,
            user_id=crew["supervisor"],
            session_id=s["id"],
            started_at=t(day, 9),
            ended_at=t(day, 17),
            reason="clocked out early by mistake",
            actor=crew["supervisor"],
        )
    with db.write() as c, pytest.raises(Forbidden) as e:
        attendance.decide_correction(c, corr["id"], approve=True, actor=crew["supervisor"])
    assert e.value.code == "own_correction"
    with db.write() as c, pytest.raises(Forbidden):  # an associate cannot ask for someone else
        attendance.request_correction(
            c, user_id=crew["li"], started_at=t(day, 9), ended_at=t(day, 10), reason="x", actor=crew["associate"]
        )
    with db.write() as c:
        done = attendance.decide_correction(c, corr["id"], approve=True, actor=crew["supervisor2"], note="ok")
    assert done["status"] == "approved"
    [s2] = attendance.sessions_between(db.read(), day, day, user_id=crew["supervisor"])
    assert s2["worked_s"] == 8 * 3600 and s2["ended_by"] == "correction" and s2["revision"] == 3
    actions = [
        r[0]
        for r in db.read().execute("SELECT action FROM audit_log WHERE action LIKE 'staff.correction%' ORDER BY ts")
    ]
    assert actions == ["staff.correction_requested", "staff.correction_approved"]
    with db.write() as c, pytest.raises(Conflict):
        attendance.decide_correction(c, corr["id"], approve=False, actor=crew["supervisor2"])


def test_payroll_export_totals_equal_the_attendance_facts_and_are_reproducible(hubctx, crew):
    db = hubctx.db
    with db.write() as c:
        settings.put(c, "staff.statutory_days", [])
    first, last = date(2025, 9, 29), date(2025, 10, 12)
    for i in range(14):
        day = first + timedelta(days=i)
        work(db, crew["li"], day, (8, 0), (18, 30), brk=((12, 0), (12, 45)))
        if i % 2:
            work(db, crew["zhang"], day, (14, 0), (23, 15))
    # a correction approved and one session closed by a supervisor also count as facts
    with db.write() as c:
        corr = attendance.request_correction(
            c,
            user_id=crew["zhang"],
            started_at=t(last, 6),
            ended_at=t(last, 9, 30),
            reason="forgot to clock an early delivery",
            actor=crew["zhang"],
        )
        attendance.decide_correction(c, corr["id"], approve=True, actor=crew["supervisor"])
    latest: dict[str, dict] = {}
    for f in facts(db, "staff.attendance"):
        if f["revision"] >= latest.get(f["session_id"], {"revision": 0})["revision"]:
            latest[f["session_id"]] = f
    by_user: dict[str, int] = {}
    for f in latest.values():
        by_user[f["user_id"]] = by_user.get(f["user_id"], 0) + f["worked_s"]

    data, _name, _media = payroll.export(db.read(), first, last, "csv")
    text = data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text.split("\r\n\r\n")[0])))
    assert {r["username"]: int(r["worked_seconds"]) for r in rows} == {
        "li": by_user[crew["li"]],
        "zhang": by_user[crew["zhang"]],
    }
    report = payroll.compute(db.read(), first, last)
    for p in report["people"]:
        s = p["seconds"]
        assert s["regular"] + s["overtime"] + s["rest_day"] + s["holiday"] == by_user[p["user_id"]]
    li = next(p["seconds"] for p in report["people"] if p["username"] == "li")
    # 9 h 45 min a day: Sep 29/30 and Oct 9-10 working days (8 + 1.75 overtime), Oct 11 a working Saturday
    assert li["holiday"] == 4 * 9.75 * 3600  # Oct 1, 2, 3 and 6
    assert li["rest_day"] == 5 * 9.75 * 3600  # Oct 4, 5, 7, 8 and the Sunday Oct 12
    assert li["regular"] == 5 * 8 * 3600 and li["overtime"] == 5 * 1.75 * 3600
    zhang = next(p["seconds"] for p in report["people"] if p["username"] == "zhang")
    assert zhang["night"] == 7 * 75 * 60 + 0  # 22:00-23:15 on seven days; 06:00-09:30 is day
    assert text.splitlines()[0].split(",")[:4] == ["employee_no", "username", "name", "regular_hours"]

    # reproducible: the same period gives the same bytes, CSV and XLSX
    assert payroll.export(db.read(), first, last, "csv")[0] == data
    x1 = payroll.export(db.read(), first, last, "xlsx")[0]
    assert payroll.export(db.read(), first, last, "xlsx")[0] == x1
    sheet = load_workbook(io.BytesIO(x1)).active
    header = [c.value for c in sheet[1]]
    xrows = [dict(zip(header, [c.value for c in r], strict=True)) for r in sheet.iter_rows(min_row=2)]
    assert sum(r["worked_seconds"] for r in xrows) == sum(by_user.values())

    # approved: locked, and the stored bytes are what is served
    with db.write() as c, pytest.raises(Forbidden):
        payroll.approve(c, first, last, actor=crew["supervisor"])  # a manager approves
    with db.write() as c:
        done = payroll.approve(c, first, last, actor=crew["manager"])
    assert done["sha256_csv"] == hashlib.sha256(data).hexdigest()
    assert done["sha256_xlsx"] == hashlib.sha256(x1).hexdigest()
    [fact] = facts(db, "staff.payroll.approved")
    assert fact["totals_s"]["worked"] == sum(by_user.values())
    with db.write() as c, pytest.raises(Conflict) as e:
        attendance.request_correction(
            c, user_id=crew["li"], started_at=t(first, 8), ended_at=t(first, 19), reason="late change", actor=crew["li"]
        )
    assert e.value.code == "period_locked"
    with db.write() as c, pytest.raises(Conflict) as e:
        payroll.approve(c, first, last, actor=crew["manager"])
    assert e.value.code == "period_locked"
    with db.write() as c:  # the attendance under a locked period is not changed behind its back
        c.execute("UPDATE staff_profiles SET employee_no = 'x'")
        settings.put(
            c, "staff.pay_multipliers", {"regular": 1, "overtime": 2, "rest_day": 2, "holiday": 3, "night": 0.5}
        )
    assert payroll.export(db.read(), first, last, "csv")[0] == data


def test_approval_waits_for_open_sessions_and_pending_corrections(hubctx, crew):
    db = hubctx.db
    day = date(2025, 11, 3)
    with db.write() as c:
        attendance.punch(c, crew["li"], "in", source="pin", at=t(day, 9))
    with db.write() as c, pytest.raises(Conflict) as e:
        payroll.approve(c, day, day + timedelta(days=6), actor=crew["manager"])
    assert e.value.code == "open_sessions"
    with db.write() as c, pytest.raises(Conflict) as e:
        payroll.approve(c, date.today(), date.today(), actor=crew["manager"])
    assert e.value.code == "period_not_over"

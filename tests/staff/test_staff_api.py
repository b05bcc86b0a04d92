"""Staff over HTTP: clocking by PIN session, the roster (a shift that breaks a rule is refused naming it, copy,
publish, each person sees only their own published shifts, changes after publishing are live), leave decided by
another supervisor, corrections, the payroll export as CSV/XLSX, and the screens served in both languages."""

from __future__ import annotations

import json
from datetime import date, timedelta

from hub import domains
from hub.kernel import settings

NEXT_MONDAY = date.today() + timedelta(days=7 - date.today().weekday())


def fact_kinds(hubctx):
    return [r[0] for r in hubctx.db.read().execute("SELECT kind FROM outbox ORDER BY seq")]


def pin_headers(client, username, pin):
    r = client.post("/api/v1/auth/login", json={"user": username, "pin": pin})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_clock_in_break_and_out_by_pin_session(client, auth, crew):
    h = auth("associate")
    assert client.get("/api/v1/staff/me", headers=h).get_json()["clocked_in"] is False
    r = client.post("/api/v1/staff/clock", json={"action": "out"}, headers=h)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_clocked_in"
    r = client.post("/api/v1/staff/clock", json={"action": "in"}, headers=h)
    assert r.status_code == 201 and r.get_json()["counted"] is True
    again = client.post("/api/v1/staff/clock", json={"action": "in"}, headers=h).get_json()
    assert again["counted"] is False  # a second clock-in within a minute: kept, not counted
    assert client.post("/api/v1/staff/clock", json={"action": "break_start"}, headers=h).status_code == 201
    assert client.get("/api/v1/staff/me", headers=h).get_json()["on_break"] is True
    assert client.post("/api/v1/staff/clock", json={"action": "out"}, headers=h).status_code == 201
    today = date.today().isoformat()
    rec = client.get("/api/v1/staff/me/record", query_string={"from": today, "to": today}, headers=h).get_json()
    assert len(rec["sessions"]) == 1 and rec["sessions"][0]["ended_by"] == "clock"
    assert client.post("/api/v1/staff/clock", json={"action": "lunch"}, headers=h).status_code == 400
    r = client.get("/api/v1/staff/me/record", query_string={"from": "2025-02-30", "to": today}, headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_date"


def test_roster_rules_refuse_with_the_rule_named_then_publish_and_notify(client, auth, hubctx, crew):
    sup, assoc = auth("supervisor"), auth("associate")
    li = pin_headers(client, "li", "4444")
    wk = NEXT_MONDAY.isoformat()
    r = client.put(f"/api/v1/staff/people/{crew['li']}", json={"skills": ["till"], "employee_no": "E-001"}, headers=sup)
    assert r.status_code == 200
    add = lambda body: client.post("/api/v1/staff/shifts", json=body, headers=sup)  # noqa: E731
    base = {"role": "cashier", "area": "front"}
    r = add({**base, "user_id": crew["li"], "day": wk, "start": "14:00", "end": "23:00", "skill": "till"})
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    tue = (NEXT_MONDAY + timedelta(days=1)).isoformat()
    r = add({**base, "user_id": crew["li"], "day": tue, "start": "07:00", "end": "15:00"})
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "roster_rule_broken" and err["details"]["rules"] == ["min_rest"]
    assert "min_rest" in err["message"]
    r = add({**base, "user_id": crew["zhang"], "day": wk, "start": "09:00", "end": "17:00", "skill": "till"})
    assert r.get_json()["error"]["details"]["rules"] == ["skill"]
    r = add({**base, "user_id": crew["li"], "day": wk, "start": "08:00", "end": "15:00"})
    assert set(r.get_json()["error"]["details"]["rules"]) == {"double_booking", "max_hours_day"}
    assert add({**base, "user_id": crew["zhang"], "day": tue, "start": "09:00", "end": "17:00"}).status_code == 201
    assert (
        client.post(
            "/api/v1/staff/shifts",
            json={**base, "user_id": crew["li"], "day": wk, "start": "09:00", "end": "17:00"},
            headers=assoc,
        ).status_code
        == 403
    )

    # not published: nobody sees a draft
    assert client.get(f"/api/v1/staff/me/shifts/{wk}", headers=li).get_json()["shifts"] == []
    r = client.post(f"/api/v1/staff/roster/{wk}/publish", headers=sup)
    assert r.status_code == 200 and r.get_json()["status"] == "published"
    mine = client.get(f"/api/v1/staff/me/shifts/{wk}", headers=li).get_json()
    assert [s["id"] for s in mine["shifts"]] == [first["id"]]  # Li sees Li's shift only
    assert "staff.roster.published" in fact_kinds(hubctx) and "staff.roster.published" in domains.live_kinds()
    # a change after publishing is a live fact naming the people it touches
    r = client.patch(f"/api/v1/staff/shifts/{first['id']}", json={"start": "13:00"}, headers=sup)
    assert r.status_code == 200, r.get_json()
    [changed] = [
        json.loads(p[0])
        for p in hubctx.db.read().execute("SELECT payload FROM outbox WHERE kind = 'staff.roster.changed'")
    ]
    assert changed["user_ids"] == [crew["li"]] and changed["version"] == 2 and changed["change"] == "updated"

    # copy into the following week: every shift is checked; the week view lists the days' kinds
    nxt = (NEXT_MONDAY + timedelta(days=7)).isoformat()
    r = client.post(f"/api/v1/staff/roster/{nxt}/copy", headers=sup).get_json()
    assert len(r["copied"]) == 2 and r["refused"] == []
    again = client.post(f"/api/v1/staff/roster/{nxt}/copy", headers=sup).get_json()
    assert again["copied"] == [] and {x["code"] for x in again["refused"]} == {"roster_rule_broken"}
    week = client.get(f"/api/v1/staff/roster/{nxt}", headers=sup).get_json()
    assert len(week["shifts"]) == 2 and len(week["days"]) == 7 and week["violations"] == []
    r = client.get("/api/v1/staff/roster/2025-11-11", headers=sup)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "week_not_monday"


def test_leave_is_decided_by_a_supervisor_and_then_breaks_the_roster(client, auth, crew):
    sup = auth("supervisor")
    li = pin_headers(client, "li", "4444")
    wed = (NEXT_MONDAY + timedelta(days=2)).isoformat()
    assert (
        client.post(
            "/api/v1/staff/shifts",
            json={"user_id": crew["li"], "day": wed, "start": "09:00", "end": "17:00", "role": "r", "area": "a"},
            headers=sup,
        ).status_code
        == 201
    )
    r = client.post("/api/v1/staff/leave", json={"first_day": wed, "last_day": wed, "kind": "sick"}, headers=li)
    assert r.status_code == 201
    leave = r.get_json()
    assert (
        client.post(f"/api/v1/staff/leave/{leave['id']}/decision", json={"approve": True}, headers=li).status_code
        == 403
    )
    r = client.post(f"/api/v1/staff/leave/{leave['id']}/decision", json={"approve": True}, headers=sup)
    assert r.get_json()["status"] == "approved"
    week = client.get(f"/api/v1/staff/roster/{NEXT_MONDAY.isoformat()}", headers=sup).get_json()
    assert [v["rule"] for v in week["violations"]] == ["on_leave"]
    r = client.post(f"/api/v1/staff/roster/{NEXT_MONDAY.isoformat()}/publish", headers=sup)
    assert r.status_code == 409 and r.get_json()["error"]["details"]["rules"] == ["on_leave"]
    assert client.get("/api/v1/staff/me/leave", headers=li).get_json()["items"][0]["status"] == "approved"


def test_correction_by_the_person_themselves_is_refused(client, auth, crew):
    sup = auth("supervisor")
    y = (date.today() - timedelta(days=1)).isoformat()
    r = client.post(
        "/api/v1/staff/corrections",
        json={"started_at": f"{y}T01:00:00Z", "ended_at": f"{y}T09:00:00Z", "reason": "forgot my badge"},
        headers=sup,
    )
    assert r.status_code == 201
    corr = r.get_json()
    r = client.post(f"/api/v1/staff/corrections/{corr['id']}/decision", json={"approve": True}, headers=sup)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "own_correction"
    sup2 = pin_headers(client, "supervisor2", "3333")
    r = client.post(f"/api/v1/staff/corrections/{corr['id']}/decision", json={"approve": True}, headers=sup2)
    assert r.status_code == 200 and r.get_json()["status"] == "approved"
    r = client.post(
        "/api/v1/staff/corrections",
        json={"started_at": "yesterday morning", "ended_at": f"{y}T09:00:00Z", "reason": "x"},
        headers=sup,
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_time"
    rep = client.get("/api/v1/staff/attendance", query_string={"from": y, "to": y}, headers=sup).get_json()
    assert [s["ended_by"] for s in rep["sessions"]] == ["correction"]


def test_payroll_export_over_http(client, auth, hubctx, crew):
    y = (date.today() - timedelta(days=1)).isoformat()
    sup, mgr = auth("supervisor"), auth("manager")
    client.post(
        "/api/v1/staff/corrections",
        json={
            "user_id": crew["li"],
            "started_at": f"{y}T01:00:00Z",
            "ended_at": f"{y}T10:30:00Z",
            "reason": "paper timesheet",
        },
        headers=sup,
    )
    corr = client.get("/api/v1/staff/corrections", query_string={"status": "pending"}, headers=sup).get_json()
    sup2 = pin_headers(client, "supervisor2", "3333")
    client.post(f"/api/v1/staff/corrections/{corr['items'][0]['id']}/decision", json={"approve": True}, headers=sup2)
    q = {"from": y, "to": y}
    summary = client.get("/api/v1/staff/payroll", query_string=q, headers=sup).get_json()
    assert summary["totals_s"]["worked"] == 9.5 * 3600 and summary["approved"] is None
    r = client.get("/api/v1/staff/payroll/export", query_string=q, headers=sup)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"] and "li" in r.get_data(as_text=True)
    x = client.get("/api/v1/staff/payroll/export", query_string={**q, "format": "xlsx"}, headers=sup)
    assert x.data[:2] == b"PK"
    assert (
        client.post("/api/v1/staff/payroll/approve", json={"first_day": y, "last_day": y}, headers=sup).status_code
        == 403
    )
    r = client.post("/api/v1/staff/payroll/approve", json={"first_day": y, "last_day": y}, headers=mgr)
    assert r.status_code == 201, r.get_json()
    assert (
        client.get("/api/v1/staff/payroll/export", query_string=q, headers=sup).data
        == hubctx.db.read().execute("SELECT csv FROM staff_pay_periods").fetchone()[0]
    )


def test_settings_and_screens(client, auth, hubctx):
    doc = client.get("/api/v1/settings/schema", headers=auth("associate")).get_json()
    assert doc["staff.roster_rules"]["default"]["min_rest_hours"] == 11
    with hubctx.db.write() as conn:
        settings.put(conn, "staff.clock_devices", {"scanner-1": "toggle"})
    screens = client.get("/screens.json").get_json()["screens"]
    assert "staff" in screens and "staff_roster" in screens
    for path in (
        "/screens/staff.js",
        "/screens/staff_roster.js",
        "/i18n/staff.en.json",
        "/i18n/staff.zh-CN.json",
        "/i18n/staff_roster.en.json",
        "/i18n/staff_roster.zh-CN.json",
    ):
        assert client.get(path).status_code == 200, path

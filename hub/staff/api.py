"""Staff routes: each is a JSON Schema plus one domain call in one transaction (hub/staff/*).

``/staff/me/…`` is a person's own record (any role); the roster, other people's attendance, corrections and
leave decisions need a supervisor, approving a pay period a manager — the domain checks the role again, and
refuses a decision about oneself."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from hub.http.context import actor, db, device
from hub.http.framework import endpoint
from hub.staff import attendance, clock, demand, payroll, roster

bp = Blueprint("staff", __name__)

_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_DAY = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_HHMM = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}
_TIME = {"type": "string", "minLength": 10, "maxLength": 40}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_NAME = {"type": "string", "minLength": 1, "maxLength": 40, "pattern": r"\S"}
_OBJ: dict[str, Any] = {"type": "object"}
_DAY_Q = {"type": "string", "maxLength": 10, "required": True}
WEEK_PATH = {"week": _DAY}


def _body(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required or [], "properties": props}


def _day(text: str, field: str = "day"):
    return attendance.parse_day(text, field)


# --- clocking and my own record -----------------------------------------------------------------------------


@endpoint(bp, "GET", "/staff/me", summary="Am I clocked in, on a break; my last punch", role="associate", response=_OBJ)
def my_state():
    return attendance.state(db().read(), actor())


@endpoint(
    bp,
    "POST",
    "/staff/clock",
    summary="Clock in, out or a break as the logged-in person (PIN on a handheld)",
    role="associate",
    statuses=[201, 409],
    body=_body({"action": {"enum": list(attendance.ACTIONS)}}, ["action"]),
)
def clock_me(body):
    with db().write() as conn:
        return attendance.punch(conn, actor(), body["action"], source="pin", actor=actor(), device=device()), 201


@endpoint(
    bp,
    "GET",
    "/staff/me/record",
    summary="My sessions, hours, exceptions and corrections between two days",
    role="associate",
    query={"from": _DAY_Q, "to": _DAY_Q},
    statuses=[400],
    response=_OBJ,
)
def my_record(query):
    return attendance.my_record(db().read(), actor(), _day(query["from"], "from"), _day(query["to"], "to"))


@endpoint(
    bp,
    "GET",
    "/staff/me/shifts/<week>",
    summary="My shifts of a published week and the kind of each day",
    role="associate",
    path=WEEK_PATH,
    statuses=[400, 422],
    response=_OBJ,
)
def my_shifts(week):
    return roster.my_shifts(db().read(), actor(), _day(week, "week"))


@endpoint(
    bp,
    "GET",
    "/staff/me/performance",
    summary="My sales, items per hour, refunds taken back and commission between two days",
    role="associate",
    query={"from": _DAY_Q, "to": _DAY_Q},
    statuses=[400],
    response=_OBJ,
)
def my_performance(query):
    return payroll.performance(db().read(), _day(query["from"], "from"), _day(query["to"], "to"), user_id=actor())


@endpoint(bp, "GET", "/staff/me/leave", summary="My leave requests", role="associate")
def my_leave():
    return {"items": roster.leave_requests(db().read(), user_id=actor())}


@endpoint(
    bp,
    "PUT",
    "/staff/me/availability",
    summary="When I can work, per weekday (none listed: any time)",
    role="associate",
    statuses=[400],
    body=_body(
        {
            "windows": {
                "type": "array",
                "maxItems": 7,
                "items": _body(
                    {
                        "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
                        "from": _HHMM,
                        "to": {"type": "string", "pattern": r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"},
                    },
                    ["weekday", "from", "to"],
                ),
            }
        },
        ["windows"],
    ),
)
def my_availability(body):
    with db().write() as conn:
        return {"windows": roster.set_availability(conn, actor(), body["windows"], actor=actor(), device=device())}


# --- leave --------------------------------------------------------------------------------------------------


@endpoint(
    bp,
    "POST",
    "/staff/leave",
    summary="Ask for leave (for myself; a supervisor may ask for anyone)",
    role="associate",
    statuses=[201, 400, 403],
    body=_body(
        {
            "user_id": _ID,
            "first_day": _DAY,
            "last_day": _DAY,
            "kind": {"enum": ["annual", "sick", "personal", "other"]},
            "note": {"type": "string", "maxLength": 200},
        },
        ["first_day", "last_day", "kind"],
    ),
)
def request_leave(body):
    with db().write() as conn:
        return roster.request_leave(
            conn,
            user_id=body.get("user_id") or actor(),
            first_day=_day(body["first_day"], "first_day"),
            last_day=_day(body["last_day"], "last_day"),
            kind=body["kind"],
            note=body.get("note"),
            actor=actor(),
            device=device(),
        ), 201


@endpoint(
    bp,
    "GET",
    "/staff/leave",
    summary="Leave requests (pending first for a decision)",
    role="supervisor",
    query={"status": {"type": "string", "enum": ["pending", "approved", "rejected"]}},
)
def list_leave(query):
    return {"items": roster.leave_requests(db().read(), status=query.get("status"))}


@endpoint(
    bp,
    "POST",
    "/staff/leave/<leave_id>/decision",
    summary="Approve or reject someone's leave",
    role="supervisor",
    path={"leave_id": _ID},
    statuses=[403, 404, 409],
    body=_body({"approve": {"type": "boolean"}}, ["approve"]),
)
def decide_leave(leave_id, body):
    with db().write() as conn:
        return roster.decide_leave(conn, leave_id, approve=body["approve"], actor=actor(), device=device())


# --- people and the roster ----------------------------------------------------------------------------------


@endpoint(bp, "GET", "/staff/people", summary="Active people with roles, skills and payroll numbers", role="supervisor")
def people():
    return {"items": roster.directory(db().read())}


@endpoint(
    bp,
    "PUT",
    "/staff/people/<user_id>",
    summary="A person's skills and payroll number",
    role="supervisor",
    path={"user_id": _ID},
    statuses=[404, 409],
    body=_body(
        {
            "skills": {"type": "array", "maxItems": 20, "items": _NAME},
            "employee_no": {"type": ["string", "null"], "maxLength": 40},
        },
        ["skills"],
    ),
)
def set_profile(user_id, body):
    with db().write() as conn:
        return roster.set_profile(
            conn, user_id, skills=body["skills"], employee_no=body.get("employee_no"), actor=actor(), device=device()
        )


@endpoint(
    bp,
    "GET",
    "/staff/roster/<week>",
    summary="A roster week: shifts, rule violations, leave, holidays",
    role="supervisor",
    path=WEEK_PATH,
    statuses=[400, 422],
    response=_OBJ,
)
def get_week(week):
    return roster.week(db().read(), _day(week, "week"))


@endpoint(
    bp,
    "POST",
    "/staff/roster/<week>/copy",
    summary="Copy last week's shifts (each checked; refused ones listed)",
    role="supervisor",
    path=WEEK_PATH,
    statuses=[400],
)
def copy_week(week):
    with db().write() as conn:
        return roster.copy_previous(conn, _day(week, "week"), actor=actor(), device=device())


@endpoint(
    bp,
    "POST",
    "/staff/roster/<week>/publish",
    summary="Publish a week: each person sees their shifts",
    role="supervisor",
    path=WEEK_PATH,
    statuses=[400, 409],
)
def publish_week(week):
    with db().write() as conn:
        return roster.publish(conn, _day(week, "week"), actor=actor(), device=device())


@endpoint(
    bp,
    "GET",
    "/staff/roster/<week>/demand",
    summary="Staff needed per hour from the sales history, coverage, and a suggested roster (not saved)",
    role="supervisor",
    path=WEEK_PATH,
    query={"weeks": {"type": "integer", "minimum": 1, "maximum": 26}},
    statuses=[400, 422],
    response=_OBJ,
)
def week_demand(week, query):
    return demand.plan(db().read(), _day(week, "week"), weeks=query.get("weeks"))


_SUGGESTED = {
    "type": "object",
    "additionalProperties": False,
    "required": ["user_id", "day", "start", "end"],
    "properties": {"user_id": _ID, "day": _DAY, "start": _HHMM, "end": _HHMM, "role": _NAME, "area": _NAME},
}


@endpoint(
    bp,
    "POST",
    "/staff/roster/<week>/suggestion",
    summary="Add the accepted (or edited) suggested shifts, each checked; refused ones listed with the rule",
    role="supervisor",
    path=WEEK_PATH,
    body=_body({"shifts": {"type": "array", "minItems": 1, "maxItems": 500, "items": _SUGGESTED}}, ["shifts"]),
    statuses=[201, 400, 422],
)
def accept_suggestion(week, body):
    with db().write() as conn:
        return demand.accept(conn, _day(week, "week"), body["shifts"], actor=actor(), device=device()), 201


_SHIFT = {
    "user_id": _ID,
    "day": _DAY,
    "start": _HHMM,
    "end": _HHMM,
    "role": _NAME,
    "area": _NAME,
    "skill": {"type": ["string", "null"], "minLength": 1, "maxLength": 40},
}


@endpoint(
    bp,
    "POST",
    "/staff/shifts",
    summary="Add a shift (refused naming the rule it would break)",
    role="supervisor",
    statuses=[201, 404, 409],
    body=_body(_SHIFT, ["user_id", "day", "start", "end", "role", "area"]),
)
def add_shift(body):
    with db().write() as conn:
        return roster.add_shift(
            conn,
            user_id=body["user_id"],
            day=_day(body["day"]),
            start=body["start"],
            end=body["end"],
            role=body["role"],
            area=body["area"],
            skill=body.get("skill"),
            actor=actor(),
            device=device(),
        ), 201


@endpoint(
    bp,
    "PATCH",
    "/staff/shifts/<shift_id>",
    summary="Move, reassign or change a shift (checked like a new one)",
    role="supervisor",
    path={"shift_id": _ID},
    statuses=[404, 409],
    body=_body(_SHIFT),
)
def update_shift(shift_id, body):
    with db().write() as conn:
        return roster.update_shift(
            conn,
            shift_id,
            actor=actor(),
            device=device(),
            user_id=body.get("user_id"),
            day=_day(body["day"]) if "day" in body else None,
            start=body.get("start"),
            end=body.get("end"),
            role=body.get("role"),
            area=body.get("area"),
            skill=body.get("skill"),
            clear_skill="skill" in body and body["skill"] is None,
        )


@endpoint(
    bp,
    "DELETE",
    "/staff/shifts/<shift_id>",
    summary="Remove a shift",
    role="supervisor",
    path={"shift_id": _ID},
    statuses=[404],
)
def remove_shift(shift_id):
    with db().write() as conn:
        return roster.remove_shift(conn, shift_id, actor=actor(), device=device())


# --- attendance for supervisors -----------------------------------------------------------------------------


@endpoint(
    bp,
    "GET",
    "/staff/attendance",
    summary="Sessions and exceptions between two days; refused badge scans",
    role="supervisor",
    query={"from": _DAY_Q, "to": _DAY_Q, "user_id": {"type": "string", "maxLength": 64}},
    statuses=[400],
    response=_OBJ,
)
def attendance_report(query):
    conn = db().read()
    first, last = _day(query["from"], "from"), _day(query["to"], "to")
    return {
        "exceptions": attendance.exceptions_between(conn, first, last, user_id=query.get("user_id")),
        "sessions": attendance.sessions_between(conn, first, last, user_id=query.get("user_id")),
        "refusals": clock.refusals(conn),
    }


@endpoint(
    bp,
    "POST",
    "/staff/sessions/<session_id>/close",
    summary="Close a missing clock-out with a reason",
    role="supervisor",
    path={"session_id": _ID},
    statuses=[400, 403, 404, 409],
    body=_body({"ended_at": _TIME, "reason": _TEXT}, ["ended_at", "reason"]),
)
def close_session(session_id, body):
    with db().write() as conn:
        return attendance.close_missing(
            conn, session_id, ended_at=body["ended_at"], reason=body["reason"], actor=actor(), device=device()
        )


@endpoint(
    bp,
    "POST",
    "/staff/corrections",
    summary="Ask for a correction of a session (or a forgotten one)",
    role="associate",
    statuses=[201, 400, 403, 404, 409],
    body=_body(
        {"user_id": _ID, "session_id": _ID, "started_at": _TIME, "ended_at": _TIME, "reason": _TEXT},
        ["started_at", "ended_at", "reason"],
    ),
)
def request_correction(body):
    with db().write() as conn:
        return attendance.request_correction(
            conn,
            user_id=body.get("user_id") or actor(),
            session_id=body.get("session_id"),
            started_at=body["started_at"],
            ended_at=body["ended_at"],
            reason=body["reason"],
            actor=actor(),
            device=device(),
        ), 201


@endpoint(
    bp,
    "GET",
    "/staff/corrections",
    summary="Corrections (pending ones wait for a supervisor)",
    role="supervisor",
    query={"status": {"type": "string", "enum": ["pending", "approved", "rejected"]}},
)
def list_corrections(query):
    return {"items": attendance.corrections(db().read(), status=query.get("status"))}


@endpoint(
    bp,
    "POST",
    "/staff/corrections/<correction_id>/decision",
    summary="Approve or reject a correction (never one's own)",
    role="supervisor",
    path={"correction_id": _ID},
    statuses=[403, 404, 409],
    body=_body({"approve": {"type": "boolean"}, "note": {"type": "string", "maxLength": 200}}, ["approve"]),
)
def decide_correction(correction_id, body):
    with db().write() as conn:
        return attendance.decide_correction(
            conn, correction_id, approve=body["approve"], note=body.get("note"), actor=actor(), device=device()
        )


# --- payroll ------------------------------------------------------------------------------------------------


@endpoint(
    bp,
    "GET",
    "/staff/payroll",
    summary="A pay period's hours per person and category (no pay computed)",
    role="supervisor",
    query={"from": _DAY_Q, "to": _DAY_Q},
    statuses=[400, 422],
    response=_OBJ,
)
def payroll_summary(query):
    return payroll.summary(db().read(), _day(query["from"], "from"), _day(query["to"], "to"))


@endpoint(
    bp,
    "GET",
    "/staff/performance",
    summary="Each person's sales, items per hour, refunds taken back and commission between two days",
    role="supervisor",
    query={"from": _DAY_Q, "to": _DAY_Q},
    statuses=[400, 422],
    response=_OBJ,
)
def team_performance(query):
    return payroll.performance(db().read(), _day(query["from"], "from"), _day(query["to"], "to"))


@endpoint(
    bp,
    "GET",
    "/staff/payroll/export",
    summary="A pay period's export as CSV or XLSX (stored bytes once approved)",
    role="supervisor",
    statuses=[400, 422],
    query={"from": _DAY_Q, "to": _DAY_Q, "format": {"type": "string", "enum": ["csv", "xlsx"], "default": "csv"}},
)
def payroll_export(query):
    data, name, media = payroll.export(
        db().read(), _day(query["from"], "from"), _day(query["to"], "to"), query["format"]
    )
    return Response(
        data,
        mimetype=media.split(";")[0],
        content_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@endpoint(
    bp,
    "POST",
    "/staff/payroll/approve",
    summary="Approve and lock a pay period that has ended",
    role="manager",
    statuses=[201, 400, 409],
    body=_body({"first_day": _DAY, "last_day": _DAY}, ["first_day", "last_day"]),
)
def payroll_approve(body):
    with db().write() as conn:
        return payroll.approve(
            conn,
            _day(body["first_day"], "first_day"),
            _day(body["last_day"], "last_day"),
            actor=actor(),
            device=device(),
        ), 201

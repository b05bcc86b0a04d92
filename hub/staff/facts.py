"""Facts the staff domain records in the outbox, each with its JSON Schema (see docs/facts.md).

Attendance reaches the central exactly once through the outbox like every fact: ``staff.attendance`` carries a
session's whole current state with a ``revision``, so the central (and anyone reconciling the payroll export)
keeps the highest revision per session. Nothing personal is live except the roster facts, which carry user ids
only so a handheld can tell whether its own shifts changed."""

from __future__ import annotations

from hub.domain import Fact, object_schema

_STR = {"type": "string"}
_TS = {"type": "string", "pattern": r"Z$"}
_TS_OR_NULL = {"type": ["string", "null"], "pattern": r"Z$"}
_STR_OR_NULL = {"type": ["string", "null"]}
_DAY = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
# Why a badge scan at a clock point clocked nobody (hub.staff.clock).
REFUSALS = (
    "unknown_badge",
    "user_disabled",
    "not_clocked_in",
    "already_clocked_in",
    "not_on_break",
    "already_on_break",
    "out_before_in",
    "period_locked",
    "other",
)
_NOTE = (
    "Kept in the central's raw events table (sync/central/ingest.py stores every accepted event) until the "
    "central has a staff projection; head office's payroll across stores is later work (docs/staff.md)."
)

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="staff.punch",
        schema=object_schema(
            {
                "id": _STR,
                "user_id": _STR,
                "action": {"enum": ["in", "out", "break_start", "break_end"]},
                "at": _TS,
                "source": {"enum": ["badge", "pin"]},
                "device_id": _STR_OR_NULL,
                "event_id": _STR_OR_NULL,
                "counted": {"type": "boolean"},
                "session_id": _STR_OR_NULL,
            }
        ),
        description="A clock punch: badge at a clock point or PIN on a handheld. A repeat of the same punch within "
        "the repeat window is kept with counted false.",
        projected=False,
        note=_NOTE,
    ),
    Fact(
        kind="staff.clock_refused",
        schema=object_schema(
            {
                "device_id": _STR,
                "event_id": _STR,
                "at": _TS,
                "reason": {"enum": list(REFUSALS)},
                "user_id": _STR_OR_NULL,
            }
        ),
        description="A badge scan at a clock point clocked nobody (unknown or disabled badge, a clock-out without a "
        "clock-in, a break that does not fit). The scan itself stays in device_scans.",
        projected=False,
        note=_NOTE,
    ),
    Fact(
        kind="staff.attendance",
        schema=object_schema(
            {
                "session_id": _STR,
                "user_id": _STR,
                "revision": {"type": "integer", "minimum": 1},
                "started_at": _TS,
                "ended_at": _TS_OR_NULL,
                "break_s": {"type": "integer", "minimum": 0},
                "worked_s": {"type": "integer", "minimum": 0},
                "ended_by": {"enum": ["clock", "supervisor", "correction", None]},
                "reason": _STR_OR_NULL,
            }
        ),
        description="A work session's current state (opened, closed by a clock-out, closed by a supervisor, "
        "changed by an approved correction). The highest revision per session is the truth.",
        projected=False,
        note=_NOTE,
    ),
    Fact(
        kind="staff.correction",
        schema=object_schema(
            {
                "id": _STR,
                "session_id": _STR_OR_NULL,
                "user_id": _STR,
                "status": {"enum": ["pending", "approved", "rejected"]},
                "started_at": _TS,
                "ended_at": _TS,
                "reason": _STR,
                "requested_by": _STR,
                "decided_by": _STR_OR_NULL,
            }
        ),
        description="A correction of a person's attendance was requested or decided by a supervisor.",
        projected=False,
        note=_NOTE,
    ),
    Fact(
        kind="staff.leave",
        schema=object_schema(
            {
                "id": _STR,
                "user_id": _STR,
                "first_day": _DAY,
                "last_day": _DAY,
                "kind": _STR,
                "status": {"enum": ["pending", "approved", "rejected"]},
                "decided_by": _STR_OR_NULL,
            }
        ),
        description="A leave request was made or decided.",
        projected=False,
        note=_NOTE,
    ),
    Fact(
        kind="staff.roster.published",
        schema=object_schema(
            {
                "week_start": _DAY,
                "version": {"type": "integer", "minimum": 1},
                "user_ids": {"type": "array", "items": _STR},
                "shifts": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "id": _STR,
                            "user_id": _STR,
                            "starts_at": _TS,
                            "ends_at": _TS,
                            "role": _STR,
                            "area": _STR,
                            "skill": _STR_OR_NULL,
                        }
                    ),
                },
            }
        ),
        description="A week's roster was published: each person's handheld shows their shifts.",
        live=True,
        projected=False,
        note=_NOTE,
    ),
    Fact(
        kind="staff.roster.changed",
        schema=object_schema(
            {
                "week_start": _DAY,
                "version": {"type": "integer", "minimum": 1},
                "change": {"enum": ["added", "updated", "removed"]},
                "shift_id": _STR,
                "user_ids": {"type": "array", "items": _STR},
            }
        ),
        description="A shift of a published week was added, moved or removed: the people named are notified.",
        live=True,
        projected=False,
        note=_NOTE,
    ),
    Fact(
        kind="staff.payroll.approved",
        schema=object_schema(
            {
                "first_day": _DAY,
                "last_day": _DAY,
                "approved_by": _STR,
                "sha256_csv": _STR,
                "sha256_xlsx": _STR,
                "people": {"type": "integer", "minimum": 0},
                "totals_s": object_schema(
                    {
                        k: {"type": "integer", "minimum": 0}
                        for k in ("regular", "overtime", "rest_day", "holiday", "night", "worked")
                    }
                ),
                "multipliers": {"type": "object"},
                "rows": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "user_id": _STR,
                            "employee_no": _STR,
                            "seconds": object_schema(
                                {
                                    k: {"type": "integer", "minimum": 0}
                                    for k in ("regular", "overtime", "rest_day", "holiday", "night", "worked")
                                }
                            ),
                            "net_sales_minor": {"type": "integer"},
                            "refunded_minor": {"type": "integer"},
                            "commission_minor": {"type": "integer"},
                        }
                    ),
                },
            },
            required=["first_day", "last_day", "approved_by", "sha256_csv", "sha256_xlsx", "people", "totals_s"],
        ),
        description="A pay period's export was approved and locked: the same bytes are served from now on. Its rows "
        "(per person: employee number, seconds per category, net sales, refunds taken back, commission) are head "
        "office's payroll across stores (sync/central/staff.py).",
    ),
)

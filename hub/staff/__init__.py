"""Staff: attendance by badge at a clock point or PIN on a handheld, weekly rosters checked against rules kept
as data, leave, and the payroll export per pay period (hours only: StoreHub computes no taxes or net pay).
Declared once here; see docs/staff.md."""

from hub.domain import Domain, Setting
from hub.staff.facts import FACTS

_HOURS = {"type": "number", "minimum": 0, "maximum": 168}
_HHMM = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}
_MULT = {"type": "number", "minimum": 0, "maximum": 10}
_PCT = {"type": "number", "minimum": 0, "maximum": 100}

SETTINGS = (
    Setting(
        "staff.clock_devices",
        {},
        {
            "type": "object",
            "maxProperties": 200,
            "propertyNames": {"pattern": "^[a-z0-9-]{1,64}$"},
            "additionalProperties": {"enum": ["toggle", "in", "out", "break"]},
        },
        "Clock points",
        "Devices whose badge scans clock staff, by device id: toggle (in, then out), in, out, or break (start, "
        "then end). A badge scanned at any other device is only a scan.",
    ),
    Setting(
        "staff.repeat_window_s",
        60,
        {"type": "integer", "minimum": 0, "maximum": 600},
        "Repeat punch window",
        "A second punch by the same person within this many seconds of their last one is kept but not "
        "counted (a badge scanned twice).",
    ),
    Setting(
        "staff.late_grace_min",
        5,
        {"type": "integer", "minimum": 0, "maximum": 120},
        "Lateness grace",
        "Minutes after a shift's start before a clock-in is late (and before its end for an early leave).",
    ),
    Setting(
        "staff.missing_clock_out_h",
        14,
        {"type": "number", "minimum": 1, "maximum": 48},
        "Missing clock-out after",
        "Hours after a clock-in with no clock-out before the session shows as a missing clock-out.",
    ),
    Setting(
        "staff.roster_rules",
        {"min_rest_hours": 11, "max_hours_day": 10, "max_hours_week": 44},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["min_rest_hours", "max_hours_day", "max_hours_week"],
            "properties": {"min_rest_hours": _HOURS, "max_hours_day": _HOURS, "max_hours_week": _HOURS},
        },
        "Roster rules",
        "Checked on every roster change: least rest between two shifts, most hours a day and a week.",
    ),
    Setting(
        "staff.overtime_rules",
        {"daily_after_hours": 8, "weekly_after_hours": 40},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["daily_after_hours", "weekly_after_hours"],
            "properties": {"daily_after_hours": _HOURS, "weekly_after_hours": _HOURS},
        },
        "Overtime rules",
        "Working-day hours beyond these a day or a week (Monday to Sunday) are overtime.",
    ),
    Setting(
        "staff.night_window",
        {"from": "22:00", "to": "06:00"},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["from", "to"],
            "properties": {"from": _HHMM, "to": _HHMM},
        },
        "Night hours",
        "Local times between which worked hours are also night hours.",
    ),
    Setting(
        "staff.pay_multipliers",
        {"regular": 1, "overtime": 1.5, "rest_day": 2, "holiday": 3, "night": 0.2},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["regular", "overtime", "rest_day", "holiday", "night"],
            "properties": {"regular": _MULT, "overtime": _MULT, "rest_day": _MULT, "holiday": _MULT, "night": _MULT},
        },
        "Pay multipliers",
        "Written into the payroll export beside each category's hours; night is a premium on top of the "
        "hours' own category.",
    ),
    Setting(
        "staff.statutory_days",
        [],
        {
            "type": "array",
            "maxItems": 100,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        },
        "Statutory holidays",
        "Dates paid as statutory holidays. Leave empty to take them from chinese-calendar; list a year's "
        "dates when one falls on a weekend (listing any date of a year replaces that year's).",
    ),
    Setting(
        "staff.demand_targets",
        {
            "till_items_per_hour": 120,
            "min_staff": 1,
            "open": "08:00",
            "close": "22:00",
            "shift_hours": 8,
            "history_weeks": 4,
            "skill": "till",
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "till_items_per_hour",
                "min_staff",
                "open",
                "close",
                "shift_hours",
                "history_weeks",
                "skill",
            ],
            "properties": {
                "till_items_per_hour": {"type": "integer", "minimum": 1, "maximum": 10000},
                "min_staff": {"type": "integer", "minimum": 0, "maximum": 100},
                "open": _HHMM,
                "close": {"type": "string", "pattern": r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"},
                "shift_hours": {"type": "integer", "minimum": 1, "maximum": 12},
                "history_weeks": {"type": "integer", "minimum": 1, "maximum": 26},
                "skill": {"type": ["string", "null"], "maxLength": 40},
            },
        },
        "Roster demand targets",
        "How the suggested roster is made: items a person scans per hour at the till, the least crew in opening "
        "hours, opening hours, a suggested shift's length, the weeks of sales history averaged, and the skill a "
        "suggested shift needs.",
    ),
    Setting(
        "staff.commission_rules",
        {"default_percent": 0, "categories": {}, "exclude_categories": [], "exclude_skus": [], "tiers": []},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["default_percent", "categories", "exclude_categories", "exclude_skus", "tiers"],
            "properties": {
                "default_percent": _PCT,
                "categories": {"type": "object", "maxProperties": 500, "additionalProperties": _PCT},
                "exclude_categories": {"type": "array", "maxItems": 500, "items": {"type": "string"}},
                "exclude_skus": {"type": "array", "maxItems": 5000, "items": {"type": "string"}},
                "tiers": {
                    "type": "array",
                    "maxItems": 20,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["from_minor", "bonus_percent"],
                        "properties": {
                            "from_minor": {"type": "integer", "minimum": 0},
                            "bonus_percent": _PCT,
                        },
                    },
                },
            },
        },
        "Commission rules",
        "Percent of net sales per item category (default_percent for the rest), categories and SKUs that earn "
        "nothing, and tiers: above from_minor of a pay period's commissionable net sales, bonus_percent more on the "
        "part above. Returns take back the commission of the sale they refund.",
    ),
)

DOMAIN = Domain(
    name="staff",
    summary="attendance by badge or PIN, rosters with rules as data, leave, payroll export (hours only)",
    package="hub.staff",
    routes=("hub.staff.api:bp",),
    cli=(("staff", "hub.staff.cli:staff_group"),),
    handlers=(("scan", "hub.staff.clock:on_scan"),),
    facts=FACTS,
    settings=SETTINGS,
    migrations=True,
    screens=("staff", "staff_roster"),
)

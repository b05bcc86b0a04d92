"""Facts the stocktake domain records in the outbox: count sessions (``sessions.py``), scans, location changes and
undos (``scans.py``), RFID tag reads (the tag ingest), recounts and approval (``approval.py``).

Quantities are integers in the item's base unit (pieces, or grams for ``kg`` items); money is integer minor units.
The counts' stock corrections themselves are ``movement`` facts of kind ``count`` (declared by inventory)."""

from __future__ import annotations

from hub.domain import Fact, object_schema

SESSION_KINDS = ["full", "cycle"]  # hub.stocktake.sessions.KINDS
# count.session says open (created or reopened), review (closed) or cancelled; approval is count.approved
SESSION_STATUSES = ["open", "review", "cancelled"]
SCAN_SOURCES = ["scan", "manual", "recount"]  # count_scans.source
WARNINGS = ["wrong_zone"]  # hub.stocktake.scans._zone_warning

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 0}
_TS = {"type": "string", "format": "date-time"}
_PCT = {"type": ["number", "null"], "minimum": 0, "maximum": 100}
_TOTALS = object_schema({"scans": _COUNT, "items": _COUNT})  # the counter's live scans and distinct items

_RAW_ONLY = (
    "Not folded into any central table (projections.py folds only count.approved of the count.* kinds): "
    "kept only in the central's raw events table (sync/central/ingest.py stores every accepted event "
    "there), readable by kind through the central read API's GET /events."
)

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="count.session",
        schema=object_schema(
            {
                "id": _STR,
                "status": {"type": "string", "enum": SESSION_STATUSES},
                "name": _STR,  # only when the session is created
                "kind": {"type": "string", "enum": SESSION_KINDS},  # only when the session is created
                "reason": {"type": "string", "minLength": 1, "maxLength": 200},  # only when cancelled: why
                "ts": _TS,
            },
            required=["id", "status", "ts"],
        ),
        description="A count session was opened, closed for review, reopened or cancelled (with the reason).",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="count.location",
        schema=object_schema(
            {
                "session_id": _STR,
                "counter": _STR,  # the counting user's id
                "location_id": _STR,
                "warnings": {"type": "array", "items": {"type": "string", "enum": WARNINGS}},
                "ts": _TS,
            }
        ),
        description="A counter scanned a location label and now counts at that location.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="count.scan",
        schema=object_schema(
            {
                "session_id": _STR,
                "counter": _STR,
                "device": _STR_OR_NULL,
                "scan_id": _STR,
                "item_id": _STR,
                "sku": _STR,
                "location_id": _STR,
                "qty": _INT,  # > 0; a recount scan may be negative
                "source": {"type": "string", "enum": SCAN_SOURCES},
                "line_qty": _INT,  # the line's counted quantity after this scan
                "totals": _TOTALS,
                "ts": _TS,
            }
        ),
        description="A counter counted an item at a location (a scan, a manual entry or a recount).",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="count.undo",
        schema=object_schema(
            {
                "session_id": _STR,
                "counter": _STR,
                "scan_id": _STR,  # the scan taken back
                "item_id": _STR,
                "location_id": _STR,
                "qty": _INT,
                "line_qty": _INT,
                "totals": _TOTALS,
                "ts": _TS,
            }
        ),
        description="A counter took back their latest count scan.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="count.rfid",
        schema=object_schema(
            {
                "session_id": _STR,
                "epcs": {"type": "integer", "minimum": 1},  # tags written in this batch
                "reads": {"type": "integer", "minimum": 1},
                "ts": _TS,
            }
        ),
        description="A batch of RFID tag reads was recorded for a count session.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="count.recount",
        schema={
            **object_schema(
                {
                    "session_id": _STR,
                    "status": {"type": "string", "enum": ["requested", "done"]},
                    "ts": _TS,
                    # status "requested": the lines to recount and who should
                    "lines": {
                        "type": "array",
                        "minItems": 1,
                        "items": object_schema({"item_id": _STR, "location_id": _STR}),
                    },
                    "assigned_to": _STR_OR_NULL,
                    # status "done": one recounted line and its quantity
                    "item_id": _STR,
                    "location_id": _STR,
                    "qty": _INT,
                },
                required=["session_id", "status", "ts"],
            ),
            "allOf": [
                {
                    "if": {"properties": {"status": {"const": "requested"}}},
                    "then": {"required": ["lines", "assigned_to"]},
                },
                {
                    "if": {"properties": {"status": {"const": "done"}}},
                    "then": {"required": ["item_id", "location_id", "qty"]},
                },
            ],
        },
        description="A supervisor asked for lines to be recounted, or a recount of one line was finished.",
        live=True,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="count.approved",
        schema=object_schema(
            {
                "session_id": _STR,
                "approved_by": _STR,
                "ts": _TS,
                "totals": object_schema(
                    {
                        "lines": _COUNT,
                        "lines_exact": _COUNT,
                        "lines_with_variance": _COUNT,
                        "lines_uncounted_zeroed": _COUNT,
                        "lines_excluded": _COUNT,
                        "lines_mixed": _COUNT,
                        "expected_units": _COUNT,  # "each" items only
                        "counted_units": _COUNT,
                        "net_variance_units": _INT,
                        "abs_variance_units": _COUNT,
                        "shrink_cost_minor": {"type": "integer", "maximum": 0},
                        "gain_cost_minor": _COUNT,
                        "net_variance_cost_minor": _INT,
                        "expected_cost_minor": _COUNT,
                        "line_accuracy_pct": _PCT,
                        "unit_accuracy_pct": _PCT,
                        "value_accuracy_pct": _PCT,
                        "movements": _COUNT,  # count movements posted to the ledger
                    }
                ),
            }
        ),
        description="A count was approved: its variances were posted to the ledger as count movements.",
        live=True,
        projected=True,
    ),
)

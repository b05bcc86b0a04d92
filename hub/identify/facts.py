"""Facts the identify domain records in the outbox: codes staff scanned that the hub did not know
(``hub/identify/resolve.py:report_unknown``)."""

from __future__ import annotations

from hub.domain import Fact, object_schema

# hub.identify.barcode.KINDS: what the code parsed as (null when it could not be read at all)
CODE_KINDS = ["gtin", "gs1", "variable_measure", "location", "badge", "order"]

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="unknown_code.report",
        schema=object_schema(
            {
                "id": _STR,
                "code": {"type": "string", "minLength": 1},  # the raw scan as sent
                "kind": {"type": ["string", "null"], "enum": [*CODE_KINDS, None]},
                "gtin": {"type": ["string", "null"], "pattern": "^[0-9]{14}$"},
                "parse_error": _STR_OR_NULL,  # the BarcodeError code when the code was unreadable
                "note": _STR,
                "location_id": _STR_OR_NULL,
                "reported_by": _STR,
                "device": _STR_OR_NULL,
                "ts": {"type": "string", "format": "date-time"},
            }
        ),
        description="A staff member reported a scanned code the hub could not resolve, for the catalog team.",
        live=False,
        projected=False,
        note="Not folded into any central table: kept only in the central's raw events table (sync/central/ingest.py "
        "stores every accepted event there), readable by kind through the central read API's GET /events.",
    ),
)

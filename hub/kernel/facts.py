"""Facts the kernel records in the outbox: the audit trail (``hub/kernel/audit.py``)."""

from __future__ import annotations

from hub.domain import Fact, object_schema

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="audit",
        schema=object_schema(
            {
                "id": _STR,  # the audit_log row's id
                "actor": _STR,  # user id, device id or "system:<process>"
                "device": _STR_OR_NULL,
                "action": _STR,  # e.g. "item.create", "order.cancelled"
                "target": _STR_OR_NULL,
                "details": {"type": ["object", "null"]},
            }
        ),
        description="Someone (a user, a device or a hub process) did a state-changing action; the audit log entry.",
        live=False,
        projected=False,
        note="Not folded into any central table: kept only in the central's raw events table (sync/central/ingest.py "
        "stores every accepted event there), readable by kind through the central read API's GET /events.",
    ),
)

"""Facts the sync link records in the outbox: local overrides of centrally managed values and the outcome of
applying each downlink page (``hub/synclink/downlink.py``).

``downlink.py`` also records ``user.upsert`` for users the central sends; that kind is declared once, by auth
(``hub/auth/facts.py``), with the same payload (``users.get``)."""

from __future__ import annotations

from hub.domain import Fact, object_schema

ENTITIES = ["item", "setting"]  # what a store may override (downlink.set_override)
REMOVAL_REASONS = ["removed", "policy"]  # removed by staff, or no longer allowed by the central's policy

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_VERSION = {"type": "integer", "minimum": 0}
_COUNT = {"type": "integer", "minimum": 0}

_RAW_ONLY = (
    "Not folded into any central table: kept only in the central's raw events table "
    "(sync/central/ingest.py stores every accepted event there), readable by kind through the central "
    "read API's GET /events."
)

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="override.set",
        schema=object_schema(
            {
                "entity": {"type": "string", "enum": ENTITIES},
                "key": _STR,  # the item id or the setting key
                "field": _STR,  # an item field, or "value" for a setting
                "value": {},  # the store's own value: any JSON
            }
        ),
        description="A store manager overrode a centrally managed item field or setting with a local value.",
        live=False,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="override.removed",
        schema=object_schema(
            {
                "entity": {"type": "string", "enum": ENTITIES},
                "key": _STR,
                "field": _STR,
                "reason": {"type": "string", "enum": REMOVAL_REASONS},
            }
        ),
        description="A local override ended (removed, or the central's policy stopped allowing it); "
        "the central value is back.",
        live=False,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="sync.downlink_applied",
        schema=object_schema(
            {
                "from": _VERSION,  # the downlink version before the page
                "version": _VERSION,  # the version now
                "applied": _COUNT,
                "rejected": _COUNT,
            }
        ),
        description="The hub applied a page of centrally authored changes and moved to a new downlink version.",
        live=False,
        projected=False,
        note=_RAW_ONLY,
    ),
    Fact(
        kind="sync.downlink_rejected",
        schema=object_schema(
            {
                "version": _VERSION,  # the rejected change's downlink version
                "kind": _STR_OR_NULL,  # item, setting, user, promotion, policy (as sent)
                "key": _STR_OR_NULL,
                "error": _STR,
            }
        ),
        description="The hub could not apply one centrally authored change and skipped it.",
        live=False,
        projected=False,
        note=_RAW_ONLY,
    ),
)

"""Facts the members domain records in the outbox, each with its JSON Schema (see docs/facts.md).

No fact carries a phone number, a name or a full birthday in plain text: the central gets the member's card
number, the masked phone, the birthday month and the hub's keyed hash of the phone (``phone_hash``: HMAC-SHA256
under this hub's key, tagged with its key id). The full personal data travels only *sealed to the central*
(``member.enrolled``'s ``personal``: each field encrypted to the central's X25519 public key, hub/kernel/pii.py
``seal``), so the outbox row on the hub is unreadable without the central's private key; the central keeps it
encrypted at rest (sync/central/personal.py). A hub not yet given the central's key sends ``personal: null``.
None of these facts is live: personal data and balances never go to the associates' live stream."""

from __future__ import annotations

from hub.domain import Fact, object_schema

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_INT = {"type": "integer"}
SEALED = {"type": "string", "pattern": "^seal1:s[0-9a-f]{8}:[A-Za-z0-9_-]+$"}  # hub.kernel.pii.seal
SEALED_OR_NULL = {**SEALED, "type": ["string", "null"]}

FACTS: tuple[Fact, ...] = (
    Fact(
        kind="member.enrolled",
        schema=object_schema(
            {
                "member_id": _STR,
                "card_no": {"type": "string", "pattern": "^[0-9]{12}$"},
                "phone_hash": {"type": "string", "pattern": "^k[0-9a-f]{8}:[0-9a-f]{64}$"},
                "phone_masked": {"type": "string", "pattern": r"^[0-9+ *]{5,24}$"},
                "birthday_month": {"type": ["integer", "null"], "minimum": 1, "maximum": 12},
                "tier": _STR,
                "tier_since": _STR,
                "store_id": _STR,
                "enrolled_at": _STR,
                "consent": object_schema({"purpose": _STR, "terms_version": _STR, "at": _STR}),
                # sealed to the central, each bound to "member.enrolled|<member id>|<field>"; null: no central key
                "personal": {
                    "type": ["object", "null"],
                    "properties": {"phone": SEALED, "name": SEALED_OR_NULL, "birthday": SEALED_OR_NULL},
                    "required": ["phone", "name", "birthday"],
                    "additionalProperties": False,
                },
            },
            required=[
                "member_id",
                "card_no",
                "phone_hash",
                "phone_masked",
                "birthday_month",
                "tier",
                "tier_since",
                "store_id",
                "enrolled_at",
                "consent",
            ],
            extra=False,
        ),
        description="A member enrolled at this store (till view only: masked phone, birthday month, card number).",
        live=False,
        projected=True,
    ),
    Fact(
        kind="member.consent",
        schema=object_schema(
            {"member_id": _STR, "purpose": _STR, "terms_version": _STR, "granted": {"type": "boolean"}, "at": _STR},
            extra=False,
        ),
        description="A member gave (or withdrew) consent for a purpose under a version of the terms.",
        live=False,
        projected=True,  # the central's consent register (member_consents, sync/central/personal.py)
    ),
    Fact(
        kind="member.tier_changed",
        schema=object_schema(
            {
                "member_id": _STR,
                "from_tier": _STR_OR_NULL,
                "to_tier": _STR,
                "reason": {"enum": ["upgrade", "period_end"]},
                "spend_12m_minor": _INT,
                "at": _STR,
                "store_id": _STR,
            },
            extra=False,
        ),
        description="A member moved tier: at once on a sale crossing a threshold, or down at the period end.",
        live=False,
        projected=True,
    ),
    Fact(
        kind="points.entry",
        schema=object_schema(
            {
                "id": _STR,  # UUIDv7: the central merges entries by this id
                "member_id": _STR,
                "kind": {"enum": ["earn", "burn", "adjust", "reverse"]},
                "points": _INT,  # signed
                "spend_minor": _INT,
                "ref": _STR_OR_NULL,
                "lot_id": _STR_OR_NULL,
                "reason": _STR_OR_NULL,
                "approver": _STR_OR_NULL,
                "store_id": _STR,
                "at": _STR,
            },
            extra=False,
        ),
        description="One entry of a member's points ledger (append-only); balances are the fold of entries.",
        live=False,
        projected=True,
    ),
)

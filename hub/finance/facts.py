"""Facts the finance domain records in the outbox, each with its JSON Schema (see docs/facts.md).

One entry per line of FACTS: other finance modules add their kinds beside these."""

from __future__ import annotations

from hub.domain import Fact, object_schema

_DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_STATE = {"type": "string", "enum": ["open", "closing", "closed", "reconciled", "locked"]}
_DAY = {
    "business_date": _DATE,
    "state": _STATE,
    "from_state": _STATE,
    "by": {"type": "string"},
    "at": {"type": "string"},
    "note": {"type": "string"},
}
_RAW = "Kept in the central's raw events table (the store-day's state per store) until a finance projection exists."

DAY_CLOSING = Fact(
    kind="finance.day.closing",
    schema=object_schema({**_DAY, "blockers": {"type": "array", "items": {"type": "object"}}}),
    description="A store's business day began closing; blockers lists what the tills still owe (Z reports, "
    "open shifts, payments in flight).",
    projected=False,
    note=_RAW,
)
DAY_CLOSED = Fact(
    kind="finance.day.closed",
    schema=object_schema(
        {
            **_DAY,
            "totals": object_schema(
                {
                    "sales": {"type": "integer"},
                    "returns": {"type": "integer"},
                    "net_sales_minor": {"type": "integer"},
                    "refunds_minor": {"type": "integer"},
                }
            ),
        }
    ),
    description="A store's business day closed: every till's Z report in, nothing being paid.",
    projected=False,
    note=_RAW,
)
DAY_RECONCILED = Fact(
    kind="finance.day.reconciled",
    schema=object_schema(
        {
            **_DAY,
            "differences": {"type": "integer", "minimum": 0},
            "tenders": {"type": "array", "items": {"type": "object"}},
        }
    ),
    description="A store's day was reconciled: the settlement per tender is frozen with its differences.",
    projected=False,
    note=_RAW,
)
DAY_LOCKED = Fact(
    kind="finance.day.locked",
    schema=object_schema(
        {
            **_DAY,
            "journal_lines": {"type": "integer", "minimum": 0},
            "journal_total_minor": {"type": "integer", "minimum": 0},
        }
    ),
    description="A store's day was locked: its journal is frozen and nothing posts into it any more.",
    projected=False,
    note=_RAW,
)
DAY_REOPENED = Fact(
    kind="finance.day.reopened",
    schema=object_schema(_DAY),
    description="A manager moved a day back (closing/closed → open, reconciled → closed) with a reason.",
    projected=False,
    note=_RAW,
)
STATEMENT_IMPORTED = Fact(
    kind="finance.statement.imported",
    schema=object_schema(
        {
            "id": {"type": "string"},
            "provider": {"type": "string", "enum": ["wechatpay", "alipay"]},
            "bill_date": _DATE,
            "merchant_id": {"type": "string"},
            "rows": {"type": "integer"},
            "payments_minor": {"type": "integer"},
            "refunds_minor": {"type": "integer"},
            "fees_minor": {"type": "integer"},
            "sha256": {"type": "string"},
        }
    ),
    description="A payment provider's daily statement was imported for settlement.",
    projected=False,
    note=_RAW,
)
CORRECTION_POSTED = Fact(
    kind="finance.correction.posted",
    schema=object_schema(
        {
            "id": {"type": "string"},
            "business_date": _DATE,
            "corrects_date": _DATE,
            "debit_account": {"type": "string"},
            "credit_account": {"type": "string"},
            "amount_minor": {"type": "integer", "minimum": 1},
            "memo": {"type": "string"},
            "actor": {"type": "string"},
            "at": {"type": "string"},
        }
    ),
    description="A correction of a sealed day was posted into an open day, with a reference to the day it corrects.",
    projected=False,
    note=_RAW,
)

FACTS: tuple[Fact, ...] = (
    DAY_CLOSING,
    DAY_CLOSED,
    DAY_RECONCILED,
    DAY_LOCKED,
    DAY_REOPENED,
    STATEMENT_IMPORTED,
    CORRECTION_POSTED,
)

"""Approved stock counts per store (projection of the hub's ``count.approved`` facts).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "count_sessions",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("approved_ts", sa.String(40), nullable=False),
        sa.Column("lines", sa.BigInteger, nullable=False),
        sa.Column("lines_exact", sa.BigInteger, nullable=False),
        sa.Column("shrink_cost_minor", sa.BigInteger, nullable=False),
        sa.Column("gain_cost_minor", sa.BigInteger, nullable=False),
        sa.Column("expected_cost_minor", sa.BigInteger, nullable=False),
    )
    # Events already stored before this revision are folded in from the event log.
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT store_id, payload, hub_ts FROM events WHERE kind = 'count.approved'")
    ).fetchall()
    import json

    for store_id, payload, ts in rows:
        p = json.loads(payload) if isinstance(payload, str) else payload
        tot = p.get("totals") or {}
        if not p.get("session_id"):
            continue
        bind.execute(
            sa.text("INSERT INTO count_sessions VALUES (:s, :sid, :ts, :l, :le, :sh, :g, :e)"),
            {
                "s": store_id,
                "sid": str(p["session_id"])[:64],
                "ts": p.get("ts") or ts,
                "l": int(tot.get("lines") or 0),
                "le": int(tot.get("lines_exact") or 0),
                "sh": int(tot.get("shrink_cost_minor") or 0),
                "g": int(tot.get("gain_cost_minor") or 0),
                "e": int(tot.get("expected_cost_minor") or 0),
            },
        )


def downgrade() -> None:
    raise NotImplementedError("central migrations are forward-only")

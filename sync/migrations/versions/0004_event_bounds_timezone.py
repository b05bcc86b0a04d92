"""Events refused for their time (kept, never folded) and the store's timezone.

``rejected_events`` keeps every event the central would not file under a month
partition (a hub clock at 1970 or years ahead, an unreadable time), keyed like
every per-store table by ``store_id`` first; ``stores.rejected_total`` counts
them. ``stores.timezone`` is the IANA zone the hub reports with each push; the
head-office day figures use the store's local day.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rejected_events",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("hub_ts", sa.String(40), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    with op.batch_alter_table("stores") as b:
        b.add_column(sa.Column("rejected_total", sa.BigInteger, nullable=False, server_default="0"))
        b.add_column(sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"))


def downgrade() -> None:
    raise NotImplementedError("central migrations are forward-only")

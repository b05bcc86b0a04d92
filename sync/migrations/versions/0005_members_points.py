"""Members and their points at the central (sync/central/members.py, docs/members.md).

``points_entries`` holds every store's entries keyed by their global id (UUIDv7; expiry entries by a uuid5 of
their lot), so a replayed push can never insert one twice; ``member_points`` is the chain-wide balance (the fold
of the entries) and ``member_store_points`` each store's part of it, which the downlink sends to the stores;
``points_overdraws`` reports burns merged into a balance below zero. ``members`` holds the till view the hubs
send (card number, masked phone, birthday month, keyed phone hash, tier) — no plain personal data.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("member_id", sa.String(40), primary_key=True),
        sa.Column("home_store", sa.String(64), nullable=False),
        sa.Column("card_no", sa.String(16), nullable=False),
        sa.Column("phone_hash", sa.String(80)),
        sa.Column("phone_masked", sa.String(32), nullable=False),
        sa.Column("birthday_month", sa.Integer),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("tier_since", sa.String(32), nullable=False),
        sa.Column("enrolled_at", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    )
    op.create_index("members_card", "members", ["card_no"], unique=True)
    op.create_table(
        "points_entries",
        sa.Column("entry_id", sa.String(40), primary_key=True),
        sa.Column("member_id", sa.String(40), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("spend_minor", sa.BigInteger, nullable=False),
        sa.Column("lot_id", sa.String(40)),
        sa.Column("ref", sa.String(128)),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("merged_at", sa.String(32), nullable=False),
    )
    op.create_index("points_entries_member", "points_entries", ["member_id", "at"])
    op.create_table(
        "member_points",
        sa.Column("member_id", sa.String(40), primary_key=True),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("entries", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "member_store_points",
        sa.Column("member_id", sa.String(40), primary_key=True),
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("points", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "points_overdraws",
        sa.Column("entry_id", sa.String(40), primary_key=True),
        sa.Column("member_id", sa.String(40), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("balance_after", sa.BigInteger, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("found_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("central migrations are forward-only")

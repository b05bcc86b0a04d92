"""Single-use coupons (issue 14, docs/coupons.md; sync/central/coupons.py).

``coupon_batches`` (one row per issued batch), ``coupon_codes`` (each code, and the store and sale that holds it),
``coupon_budgets`` (per promotion: the cap and what has been counted against it) and ``coupon_redemptions`` (the
hubs' ``coupon.redeemed`` facts; a code with two rows was redeemed twice).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupon_batches",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("promotion_id", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("member_id", sa.String(64)),
        sa.Column("offline", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("issuer_store", sa.String(64)),
        sa.Column("issued_by", sa.String(64), nullable=False, server_default=""),
        sa.Column("issued_at", sa.String(40), nullable=False),
        sa.Column("downlink_version", sa.BigInteger),
    )
    op.create_table(
        "coupon_codes",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("promotion_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(64)),
        sa.Column("offline", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("issuer_store", sa.String(64)),
        sa.Column("reserved_store", sa.String(64)),
        sa.Column("reserved_sale", sa.String(64)),
        sa.Column("reserved_at", sa.String(40)),
        sa.Column("discount_minor", sa.BigInteger),
    )
    op.create_index("coupon_codes_promotion", "coupon_codes", ["promotion_id"])
    op.create_table(
        "coupon_budgets",
        sa.Column("promotion_id", sa.String(64), primary_key=True),
        sa.Column("max_redemptions", sa.Integer),
        sa.Column("max_discount_minor", sa.BigInteger),
        sa.Column("redemptions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("discount_minor", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "coupon_redemptions",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("sale_id", sa.String(64), primary_key=True),
        sa.Column("promotion_id", sa.String(64), nullable=False),
        sa.Column("discount_minor", sa.BigInteger, nullable=False),
        sa.Column("online", sa.Boolean, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("coupon_redemptions")
    op.drop_table("coupon_budgets")
    op.drop_index("coupon_codes_promotion", table_name="coupon_codes")
    op.drop_table("coupon_codes")
    op.drop_table("coupon_batches")

"""Sales at the central: the checkout's ``sale.completed`` / ``sale.returned`` facts folded (issue 19).

``sales`` is one row per sale or return (keyed by the store and the hub's sale/return id, so a fact arriving a
second time by any path inserts nothing and moves no rollup), ``sale_lines`` its lines with the item's category
and cost as the central knew them when the sale was folded. Two rollups, maintained in the ingest transaction,
are what the head-office pages read (they never scan lines): ``sales_hourly`` (store × local day × local hour:
baskets, units, money) and ``sales_item_daily`` (store × local day × item × category: units, money, cost).
Every per-store table is keyed by ``store_id`` first (the Citus distribution key, see docs/sync.md).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _money(*names: str) -> list[sa.Column]:
    return [sa.Column(n, sa.BigInteger, nullable=False, server_default="0") for n in names]


def upgrade() -> None:
    op.create_table(
        "sales",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("sale_id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),  # sale | return
        sa.Column("original_sale_id", sa.String(40)),
        sa.Column("day", sa.Date, nullable=False),  # the store's local day of ts
        sa.Column("hour", sa.Integer, nullable=False),  # the store's local hour of ts
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("business_date", sa.String(10)),
        sa.Column("till_id", sa.String(64), nullable=False),
        sa.Column("receipt_code", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("units", sa.BigInteger, nullable=False),
        *_money("gross_minor", "discount_minor", "net_minor", "tax_minor"),
    )
    op.create_index("sales_store_day", "sales", ["store_id", "day"])
    op.create_table(
        "sale_lines",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("sale_id", sa.String(40), primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("item_id", sa.String(40), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("category", sa.Text, nullable=False, server_default=""),
        sa.Column("qty", sa.BigInteger, nullable=False),  # pieces, or grams when weighed
        sa.Column("units", sa.BigInteger, nullable=False),  # pieces; a weighed line is one unit
        sa.Column("weighed", sa.Boolean, nullable=False),
        *_money("gross_minor", "discount_minor", "net_minor", "tax_minor"),
        sa.Column("cost_minor", sa.BigInteger),  # NULL: cost unknown when folded
    )
    op.create_index("sale_lines_store_day", "sale_lines", ["store_id", "day"])
    op.create_table(
        "sales_hourly",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("hour", sa.Integer, primary_key=True),
        *_money(
            "sales",
            "returns",
            "units",
            "returned_units",
            "gross_minor",
            "discount_minor",
            "net_minor",
            "tax_minor",
            "refund_minor",
        ),
    )
    op.create_index("sales_hourly_day", "sales_hourly", ["day"])
    op.create_table(
        "sales_item_daily",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("item_id", sa.String(40), primary_key=True),
        sa.Column("category", sa.String(200), primary_key=True),
        sa.Column("sku", sa.String(64), nullable=False),
        *_money(
            "lines",
            "units",
            "qty",
            "returned_units",
            "gross_minor",
            "discount_minor",
            "net_minor",
            "tax_minor",
            "refund_minor",
            "cost_minor",
            "costed_net_ex_tax_minor",
        ),
    )
    op.create_index("sales_item_daily_day", "sales_item_daily", ["day"])


def downgrade() -> None:
    raise NotImplementedError("central migrations are forward-only")

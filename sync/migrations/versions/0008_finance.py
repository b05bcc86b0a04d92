"""Finance at the central: COGS and shrink folded from the hubs' ``finance.stock_cost`` facts, other expenses and
budgets per store × month × line (issue 18, sync/central/finance.py).

``finance_cost_daily`` (store × local day × category × line ``cogs``/``shrink``) is additive, maintained in the
ingest transaction like the other rollups; ``finance_expenses`` and ``finance_budgets`` are entered or imported by
head office. A covering index on ``sales_item_daily`` lets a month's P&L for every store read the sales rollup
without touching its heap (``pnl_month_100_stores_ms``). Every per-store table is keyed by ``store_id`` first.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finance_cost_daily",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),  # the store's local day of the movement
        sa.Column("category", sa.String(200), primary_key=True),
        sa.Column("line", sa.String(8), primary_key=True),  # cogs | shrink
        sa.Column("cost_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("qty", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("movements", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("finance_cost_daily_day", "finance_cost_daily", ["day", "store_id"])
    for name, width in (("finance_expenses", 64), ("finance_budgets", 16)):
        op.create_table(
            name,
            sa.Column("store_id", sa.String(64), primary_key=True),
            sa.Column("month", sa.Date, primary_key=True),  # first day of the month
            sa.Column("line", sa.String(width), primary_key=True),
            sa.Column("amount_minor", sa.BigInteger, nullable=False),
            sa.Column("entered_by", sa.String(64), nullable=False),
            sa.Column("entered_at", sa.String(32), nullable=False),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX sales_item_daily_pnl ON sales_item_daily (day, store_id, category)"
            " INCLUDE (gross_minor, discount_minor, net_minor, tax_minor, refund_minor)"
        )
    else:
        op.create_index("sales_item_daily_pnl", "sales_item_daily", ["day", "store_id", "category"])


def downgrade() -> None:
    raise NotImplementedError("central migrations are forward-only")

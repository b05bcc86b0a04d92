"""Head office's payroll across stores (issue 17, docs/staff.md "Central payroll export").

``staff_payroll``: one row per store × approved pay period × person, folded from the hubs' ``staff.payroll.approved``
facts (sync/central/staff.py); an approved period never changes, so rows are only ever inserted.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CATEGORIES = ("regular", "overtime", "rest_day", "holiday", "night")
MONEY = ("net_sales_minor", "refunded_minor", "commission_minor")


def upgrade() -> None:
    op.create_table(
        "staff_payroll",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("first_day", sa.Date, primary_key=True),
        sa.Column("last_day", sa.Date, primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("employee_no", sa.String(64), nullable=False, server_default=""),
        *(sa.Column(f"{k}_s", sa.BigInteger, nullable=False, server_default="0") for k in (*CATEGORIES, "worked")),
        *(sa.Column(f"mult_{k}", sa.Numeric(6, 3), nullable=False, server_default="0") for k in CATEGORIES),
        *(sa.Column(k, sa.BigInteger, nullable=False, server_default="0") for k in MONEY),
        sa.Column("approved_by", sa.String(64), nullable=False, server_default=""),
    )
    op.create_index("staff_payroll_period", "staff_payroll", ["first_day", "last_day"])


def downgrade() -> None:
    op.drop_index("staff_payroll_period", table_name="staff_payroll")
    op.drop_table("staff_payroll")

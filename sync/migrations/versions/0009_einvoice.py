"""E-invoices on request and their red invoices (issue 18, docs/einvoice.md).

``einvoices``: one row per invoiced receipt (primary key store × receipt code, ``order_no`` unique: the provider's
idempotency key), a state machine requested → issuing → issued / failed. ``einvoice_reds``: one row per return of
an invoiced sale (primary key store × return id), requested → confirmed → issuing → issued / failed, or
``excluded`` when the blue invoice already left that return out.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _common() -> list[sa.Column]:
    return [
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False, server_default=""),
        sa.Column("invoice_no", sa.String(64), nullable=False, server_default=""),
        sa.Column("pdf_url", sa.Text, nullable=False, server_default=""),
        sa.Column("total_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("ex_tax_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("tax_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("fail_code", sa.String(40), nullable=False, server_default=""),
        sa.Column("fail_message", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.String(40), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "einvoices",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("receipt_code", sa.String(64), primary_key=True),
        sa.Column("order_no", sa.String(140), nullable=False, unique=True),
        sa.Column("sale_id", sa.String(40), nullable=False),
        sa.Column("buyer_kind", sa.String(12), nullable=False),
        sa.Column("buyer_name", sa.String(200), nullable=False),
        sa.Column("buyer_tax_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("email", sa.String(200), nullable=False, server_default=""),
        sa.Column("invoice_code", sa.String(64), nullable=False, server_default=""),
        sa.Column("requested_at", sa.String(40), nullable=False),
        *_common(),
    )
    op.create_index("einvoices_state", "einvoices", ["state"])
    op.create_table(
        "einvoice_reds",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("return_id", sa.String(40), primary_key=True),
        sa.Column("receipt_code", sa.String(64), nullable=False),
        sa.Column("order_no", sa.String(140), nullable=False, unique=True),
        sa.Column("confirm_no", sa.String(64), nullable=False, server_default=""),
        sa.Column("confirm_status", sa.String(4), nullable=False, server_default=""),
        sa.Column("created_at", sa.String(40), nullable=False),
        *_common(),
    )
    op.create_index("einvoice_reds_state", "einvoice_reds", ["state"])


def downgrade() -> None:
    op.drop_table("einvoice_reds")
    op.drop_table("einvoices")

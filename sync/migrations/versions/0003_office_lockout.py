"""Head-office logins: failed attempts and temporary lockout.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("office_users") as b:
        b.add_column(sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"))
        b.add_column(sa.Column("locked_until", sa.String(32)))


def downgrade() -> None:
    raise NotImplementedError("central migrations are forward-only")

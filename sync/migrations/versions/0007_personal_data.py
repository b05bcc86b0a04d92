"""Personal data at the central, encrypted at rest (issue 20; issue 15's "full personal data stays at the central").

``member_personal`` holds one member's full personal data — phone (E.164), name, birthday — each column an
AES-GCM ciphertext of the central's PII key ring (``sync/central/personal.py``; the key file sits beside the
central's config, outside the database) bound to its table/column/row; ``phone_hash`` is the central's keyed hash
of the phone, the only way to find a member by phone. ``member_consents`` is the consent history (grant /
withdrawal: purpose, time, version of the terms) — who agreed to what and when, no identifying data.
``staff_personal`` holds the staff display names the stores send, encrypted the same way. ``personal_audit``
records every head-office look at or action on personal data (find by phone, export, withdraw, erase). Erasing
a member crypto-shreds the row (the ciphertexts are replaced by nothing) and keeps ``erased_at``; the member's
sales and points history stay, keyed by the anonymous member id.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_personal",
        sa.Column("member_id", sa.String(40), primary_key=True),
        sa.Column("phone_hash", sa.String(80)),
        sa.Column("phone_ct", sa.Text),
        sa.Column("name_ct", sa.Text),
        sa.Column("birthday_ct", sa.Text),
        sa.Column("source_store", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("marketing", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("erased_at", sa.String(32)),
    )
    op.create_index("member_personal_phone", "member_personal", ["phone_hash"])
    op.create_table(
        "member_consents",
        sa.Column("member_id", sa.String(40), primary_key=True),
        sa.Column("consent_id", sa.String(120), primary_key=True),  # store:<id>:<event id> | office:<uuid>
        sa.Column("action", sa.String(16), nullable=False),  # grant | withdraw
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("terms_version", sa.String(32), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("source", sa.String(80), nullable=False),  # store:<id> | office:<username>
    )
    op.create_table(
        "staff_personal",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(40), primary_key=True),
        sa.Column("display_name_ct", sa.Text),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "personal_audit",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),  # find | export | withdraw | erase | rotate
        sa.Column("member_id", sa.String(40)),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("personal_audit_member", "personal_audit", ["member_id", "at"])


def downgrade() -> None:
    raise NotImplementedError("central migrations are forward-only")

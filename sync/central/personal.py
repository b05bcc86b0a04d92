"""Personal data at the central, encrypted at rest (issue 15, issue 20). See sync/migrations/versions/0007."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Text, false

from sync.central import schema as t

member_personal = Table(
    "member_personal",
    t.metadata,
    Column("member_id", String(40), primary_key=True),
    Column("phone_hash", String(80)),
    Column("phone_ct", Text),
    Column("name_ct", Text),
    Column("birthday_ct", Text),
    Column("source_store", String(64), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("marketing", Boolean, nullable=False, server_default=false()),
    Column("erased_at", String(32)),
)
Index("member_personal_phone", member_personal.c.phone_hash)

member_consents = Table(
    "member_consents",
    t.metadata,
    Column("member_id", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("action", String(16), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("terms_version", String(32), nullable=False),
    Column("at", String(32), nullable=False),
    Column("source", String(80), nullable=False),
)

staff_personal = Table(
    "staff_personal",
    t.metadata,
    Column("store_id", String(64), primary_key=True),
    Column("user_id", String(40), primary_key=True),
    Column("display_name_ct", Text),
    Column("updated_at", String(32), nullable=False),
)

personal_audit = Table(
    "personal_audit",
    t.metadata,
    Column("id", String(40), primary_key=True),
    Column("at", String(32), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(32), nullable=False),
    Column("member_id", String(40)),
    Column("detail", JSON, nullable=False),
)
Index("personal_audit_member", personal_audit.c.member_id, personal_audit.c.at)

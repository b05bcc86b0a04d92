"""Central baseline: stores, events (partitioned by month on PostgreSQL), projections,
downlink and head-office users.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = sa.String
T = sa.Text
B = sa.BigInteger


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "stores",
        sa.Column("store_id", S(64), primary_key=True),
        sa.Column("name", T, nullable=False),
        sa.Column("secret_digest", S(64), nullable=False),
        sa.Column("created_at", S(32), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("hw_seq", B, nullable=False),
        sa.Column("max_seq", B, nullable=False),
        sa.Column("events_total", B, nullable=False),
        sa.Column("duplicates_total", B, nullable=False),
        sa.Column("last_push_at", S(32)),
        sa.Column("last_event_ts", S(32)),
        sa.Column("downlink_version", B, nullable=False),
        sa.Column("downlink_reported_at", S(32)),
    )
    op.create_table(
        "store_ranges",
        sa.Column("store_id", S(64), primary_key=True),
        sa.Column("after_seq", B, primary_key=True),
        sa.Column("through_seq", B, nullable=False),
        sa.Column("recorded_at", S(32), nullable=False),
    )
    if pg:
        # Declarative partitioning by month; monthly partitions are created on demand
        # by sync.central.db.ensure_partitions before a batch touching a new month.
        op.execute(
            "CREATE TABLE events ("
            " store_id VARCHAR(64) NOT NULL, month DATE NOT NULL, seq BIGINT NOT NULL,"
            " event_id VARCHAR(40) NOT NULL, kind VARCHAR(64) NOT NULL, hub_ts VARCHAR(40) NOT NULL,"
            " received_at VARCHAR(32) NOT NULL, payload JSON NOT NULL,"
            " PRIMARY KEY (store_id, month, seq)) PARTITION BY RANGE (month)"
        )
    else:
        op.create_table(
            "events",
            sa.Column("store_id", S(64), primary_key=True),
            sa.Column("month", sa.Date, primary_key=True),
            sa.Column("seq", B, primary_key=True),
            sa.Column("event_id", S(40), nullable=False),
            sa.Column("kind", S(64), nullable=False),
            sa.Column("hub_ts", S(40), nullable=False),
            sa.Column("received_at", S(32), nullable=False),
            sa.Column("payload", sa.JSON, nullable=False),
        )
    op.create_index("events_store_seq", "events", ["store_id", "seq"])
    op.create_index("events_kind", "events", ["kind", "store_id"])
    op.create_table(
        "store_items",
        sa.Column("store_id", S(64), primary_key=True),
        sa.Column("item_id", S(40), primary_key=True),
        sa.Column("sku", S(64), nullable=False),
        sa.Column("name_en", T, nullable=False),
        sa.Column("name_zh", T, nullable=False),
        sa.Column("category", T, nullable=False),
        sa.Column("unit", S(8), nullable=False),
        sa.Column("price_minor", B, nullable=False),
        sa.Column("cost_minor", B, nullable=False),
        sa.Column("reorder_point", B, nullable=False),
        sa.Column("safety_stock", B, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("seq", B, nullable=False),
    )
    op.create_index("store_items_sku", "store_items", ["sku"])
    op.create_table(
        "store_locations",
        sa.Column("store_id", S(64), primary_key=True),
        sa.Column("location_id", S(40), primary_key=True),
        sa.Column("code", S(64), nullable=False),
        sa.Column("name", T, nullable=False),
        sa.Column("kind", S(16), nullable=False),
    )
    op.create_table(
        "stock",
        sa.Column("store_id", S(64), primary_key=True),
        sa.Column("item_id", S(40), primary_key=True),
        sa.Column("location_id", S(40), primary_key=True),
        sa.Column("on_hand", B, nullable=False),
        sa.Column("reserved", B, nullable=False),
    )
    op.create_index("stock_item", "stock", ["item_id"])
    op.create_table(
        "daily_movements",
        sa.Column("store_id", S(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("item_id", S(40), primary_key=True),
        sa.Column("kind", S(32), primary_key=True),
        sa.Column("lines", B, nullable=False),
        sa.Column("qty", B, nullable=False),
        sa.Column("abs_qty", B, nullable=False),
        sa.Column("zero_lines", B, nullable=False),
    )
    op.create_index("daily_movements_day", "daily_movements", ["day"])
    op.create_table(
        "order_status",
        sa.Column("store_id", S(64), primary_key=True),
        sa.Column("order_id", S(64), primary_key=True),
        sa.Column("status", S(32), primary_key=True),
        sa.Column("first_ts", S(40), nullable=False),
    )
    op.create_table(
        "devices",
        sa.Column("store_id", S(64), primary_key=True),
        sa.Column("device_id", S(128), primary_key=True),
        sa.Column("device_kind", S(64), nullable=False),
        sa.Column("online", sa.Boolean, nullable=False),
        sa.Column("last_seen_ts", S(40), nullable=False),
        sa.Column("last_event", S(64), nullable=False),
        sa.Column("seq", B, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("store_id", S(64), primary_key=True),
        sa.Column("alert_id", S(128), primary_key=True),
        sa.Column("severity", S(16), nullable=False),
        sa.Column("message", T, nullable=False),
        sa.Column("raised_ts", S(40), nullable=False),
        sa.Column("cleared_ts", S(40)),
    )
    op.create_table(
        "downlink_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", B, nullable=False),
    )
    op.execute("INSERT INTO downlink_head(id, version) VALUES (1, 0)")
    op.create_table(
        "downlink_changes",
        sa.Column("version", B, primary_key=True, autoincrement=False),
        sa.Column("scope", S(64), nullable=False),
        sa.Column("kind", S(32), nullable=False),
        sa.Column("key", S(128), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("author", S(64), nullable=False),
        sa.Column("created_at", S(32), nullable=False),
    )
    op.create_index("downlink_scope_version", "downlink_changes", ["scope", "version"])
    op.create_table(
        "office_users",
        sa.Column("id", S(40), primary_key=True),
        sa.Column("username", S(64), nullable=False, unique=True),
        sa.Column("password_hash", T, nullable=False),
        sa.Column("role", S(16), nullable=False),
        sa.Column("created_at", S(32), nullable=False),
    )
    op.create_table(
        "office_tokens",
        sa.Column("digest", S(64), primary_key=True),
        sa.Column("user_id", S(40), nullable=False),
        sa.Column("created_at", S(32), nullable=False),
        sa.Column("expires_at", S(32), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("central migrations are forward-only")

"""The central's tables (SQLAlchemy Core). Migrations in ``sync/migrations`` create them.

Times are ISO-8601 UTC text (``...Z``) — they sort correctly and survive both
PostgreSQL and SQLite unchanged; ``day``/``month`` columns are real dates for
grouping and partitioning. ``events`` is keyed (store_id, month, seq): ``month``
is the first day of the month of the hub's own timestamp of the outbox row, which
is immutable, so a replayed row always lands on the same key. On PostgreSQL the
table is declaratively partitioned by ``month`` (see docs/sync.md)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

stores = Table(
    "stores",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("name", Text, nullable=False, default=""),
    Column("secret_digest", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("hw_seq", BigInteger, nullable=False, default=0),  # contiguous high-water: all seq <= hw stored
    Column("max_seq", BigInteger, nullable=False, default=0),
    Column("events_total", BigInteger, nullable=False, default=0),
    Column("duplicates_total", BigInteger, nullable=False, default=0),
    Column("last_push_at", String(32)),
    Column("last_event_ts", String(32)),  # hub ts of the newest stored event
    Column("downlink_version", BigInteger, nullable=False, default=0),  # version the hub reports it runs
    Column("downlink_reported_at", String(32)),
    Column("rejected_total", BigInteger, nullable=False, server_default="0"),  # events refused for their time
    Column("timezone", String(64), nullable=False, server_default="UTC"),  # IANA zone the hub reports
)

# Events refused for their time (outside the accepted window, or unreadable): kept here, never
# filed under a month partition, never folded into projections; covered by the high-water mark
# like any stored event, so they are neither lost nor counted twice.
rejected_events = Table(
    "rejected_events",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("event_id", String(40), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("hub_ts", String(40), nullable=False),
    Column("code", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
)

# Covered ranges above the high-water mark, waiting for the gap below them to fill.
store_ranges = Table(
    "store_ranges",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("after_seq", BigInteger, primary_key=True),
    Column("through_seq", BigInteger, nullable=False),
    Column("recorded_at", String(32), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("month", Date, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("event_id", String(40), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("hub_ts", String(40), nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Index("events_store_seq", "store_id", "seq"),
    Index("events_kind", "kind", "store_id"),
)

store_items = Table(
    "store_items",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("item_id", String(40), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name_en", Text, nullable=False, default=""),
    Column("name_zh", Text, nullable=False, default=""),
    Column("category", Text, nullable=False, default=""),
    Column("unit", String(8), nullable=False, default="each"),
    Column("price_minor", BigInteger, nullable=False, default=0),
    Column("cost_minor", BigInteger, nullable=False, default=0),
    Column("reorder_point", BigInteger, nullable=False, default=0),
    Column("safety_stock", BigInteger, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    Column("seq", BigInteger, nullable=False),
    Index("store_items_sku", "sku"),
)

store_locations = Table(
    "store_locations",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("location_id", String(40), primary_key=True),
    Column("code", String(64), nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("kind", String(16), nullable=False),
)

stock = Table(
    "stock",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("item_id", String(40), primary_key=True),
    Column("location_id", String(40), primary_key=True),
    Column("on_hand", BigInteger, nullable=False, default=0),
    Column("reserved", BigInteger, nullable=False, default=0),
    Index("stock_item", "item_id"),
)

daily_movements = Table(
    "daily_movements",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("item_id", String(40), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("lines", BigInteger, nullable=False, default=0),
    Column("qty", BigInteger, nullable=False, default=0),  # signed on-hand change
    Column("abs_qty", BigInteger, nullable=False, default=0),
    Column("zero_lines", BigInteger, nullable=False, default=0),  # count lines that confirmed the book
    Index("daily_movements_day", "day"),
)

order_status = Table(
    "order_status",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("order_id", String(64), primary_key=True),
    Column("status", String(32), primary_key=True),
    Column("first_ts", String(40), nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("device_id", String(128), primary_key=True),
    Column("device_kind", String(64), nullable=False, default=""),
    Column("online", Boolean, nullable=False, default=True),
    Column("last_seen_ts", String(40), nullable=False),
    Column("last_event", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("alert_id", String(128), primary_key=True),
    Column("severity", String(16), nullable=False, default="warning"),
    Column("message", Text, nullable=False, default=""),
    Column("raised_ts", String(40), nullable=False),
    Column("cleared_ts", String(40)),
)

# Approved stock counts (hub fact ``count.approved`` with the session's frozen totals).
count_sessions = Table(
    "count_sessions",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("session_id", String(64), primary_key=True),
    Column("approved_ts", String(40), nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("lines_exact", BigInteger, nullable=False),
    Column("shrink_cost_minor", BigInteger, nullable=False),  # <= 0
    Column("gain_cost_minor", BigInteger, nullable=False),  # >= 0
    Column("expected_cost_minor", BigInteger, nullable=False),
)

# Downlink: centrally authored changes, numbered in commit order (see downlink.author).
downlink_head = Table(
    "downlink_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)

downlink_changes = Table(
    "downlink_changes",
    metadata,
    Column("version", BigInteger, primary_key=True, autoincrement=False),
    Column("scope", String(64), nullable=False),  # '*' = every store, else one store_id
    Column("kind", String(32), nullable=False),  # item | setting | user | promotion | policy
    Column("key", String(128), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("author", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Index("downlink_scope_version", "scope", "version"),
)

office_users = Table(
    "office_users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),  # viewer | admin
    Column("created_at", String(32), nullable=False),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("locked_until", String(32)),
)

office_tokens = Table(
    "office_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", String(40), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
)

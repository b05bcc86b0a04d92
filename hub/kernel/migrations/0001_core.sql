-- Core schema: settings, catalog, locations, stock ledger, staff, audit, outbox.
-- Numbering: 0001-0009 core, 0010-0019 catalog/barcodes, 0020-0029 device bus,
-- 0030-0039 stocktake, 0040-0049 orders, 0050-0059 sync, 0060-0069 handheld.

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,             -- JSON
  updated_at TEXT NOT NULL
);

CREATE TABLE items (
  id TEXT PRIMARY KEY,             -- UUIDv7
  sku TEXT NOT NULL UNIQUE,
  name_en TEXT NOT NULL DEFAULT '',
  name_zh TEXT NOT NULL DEFAULT '',
  brand TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL DEFAULT '',
  unit TEXT NOT NULL CHECK (unit IN ('each','kg')),   -- stock qty: pieces for 'each', grams for 'kg'
  price_minor INTEGER NOT NULL CHECK (price_minor >= 0),  -- per piece, or per kg for 'kg'
  cost_minor INTEGER NOT NULL DEFAULT 0 CHECK (cost_minor >= 0),
  variable_measure INTEGER NOT NULL DEFAULT 0 CHECK (variable_measure IN (0,1)),
  plu TEXT,
  safety_stock INTEGER NOT NULL DEFAULT 0,
  reorder_point INTEGER NOT NULL DEFAULT 0,
  unit_weight_g INTEGER CHECK (unit_weight_g IS NULL OR unit_weight_g > 0),
  active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX items_category ON items(category);
CREATE INDEX items_plu ON items(plu) WHERE plu IS NOT NULL;

CREATE TABLE item_gtins (
  gtin TEXT PRIMARY KEY CHECK (length(gtin) = 14),   -- GTIN-14, zero padded
  item_id TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE
);
CREATE INDEX item_gtins_item ON item_gtins(item_id);

CREATE TABLE locations (
  id TEXT PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,       -- printed on the label as SHL-<code>
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('store','area','aisle','bay','bin')),
  parent_id TEXT REFERENCES locations(id),
  walk_seq INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE INDEX locations_parent ON locations(parent_id);

-- The ledger: immutable. Every stock change is one row.
CREATE TABLE movements (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  idempotency_key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  item_id TEXT NOT NULL REFERENCES items(id),
  location_id TEXT NOT NULL REFERENCES locations(id),
  qty_delta INTEGER NOT NULL,          -- on-hand change (pieces or grams)
  reserved_delta INTEGER NOT NULL,     -- reserved change
  reason TEXT NOT NULL,
  ref TEXT,                            -- what caused it: order id, count session id, transfer id...
  actor TEXT NOT NULL,                 -- user id, device id or 'system:<process>'
  device TEXT,
  ts TEXT NOT NULL
);
CREATE INDEX movements_item_loc ON movements(item_id, location_id);
CREATE INDEX movements_ref ON movements(ref) WHERE ref IS NOT NULL;
CREATE INDEX movements_ts ON movements(ts);

CREATE TRIGGER movements_no_update BEFORE UPDATE ON movements
BEGIN SELECT RAISE(ABORT, 'movements are immutable'); END;
CREATE TRIGGER movements_no_delete BEFORE DELETE ON movements
BEGIN SELECT RAISE(ABORT, 'movements are immutable'); END;

-- Projection of the ledger, maintained in the same transaction as each movement.
CREATE TABLE stock (
  item_id TEXT NOT NULL REFERENCES items(id),
  location_id TEXT NOT NULL REFERENCES locations(id),
  on_hand INTEGER NOT NULL DEFAULT 0,
  reserved INTEGER NOT NULL DEFAULT 0,
  last_seq INTEGER NOT NULL,
  PRIMARY KEY (item_id, location_id)
) WITHOUT ROWID;
CREATE INDEX stock_location ON stock(location_id);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('associate','supervisor','manager','admin')),
  language TEXT NOT NULL DEFAULT 'en',
  pin_hash TEXT,
  password_hash TEXT,
  badge_digest TEXT UNIQUE,        -- HMAC of the badge code (looked up on scan)
  active INTEGER NOT NULL DEFAULT 1,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  locked_until TEXT,
  created_at TEXT NOT NULL
);

CREATE TABLE sessions (
  token_digest TEXT PRIMARY KEY,   -- sha256 of the bearer token / cookie value
  user_id TEXT NOT NULL REFERENCES users(id),
  kind TEXT NOT NULL CHECK (kind IN ('token','cookie')),
  csrf_token TEXT,
  device TEXT,
  created_at TEXT NOT NULL,
  last_used_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Append-only audit log of state-changing actions.
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  ts TEXT NOT NULL,
  actor TEXT NOT NULL,
  device TEXT,
  action TEXT NOT NULL,
  target TEXT,
  details TEXT                       -- JSON
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

-- Transactional outbox: every fact the hub records, in the same transaction,
-- numbered by a per-store monotonically increasing sequence for sync.
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  ts TEXT NOT NULL,
  payload TEXT NOT NULL              -- JSON
);
CREATE TRIGGER outbox_no_update BEFORE UPDATE ON outbox
BEGIN SELECT RAISE(ABORT, 'outbox rows are immutable'); END;

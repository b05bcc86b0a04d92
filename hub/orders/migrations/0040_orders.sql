-- Orders and picking: orders from several channels, lines, reservations per location,
-- pick lists and tasks, picks (idempotent by client key), pack verification, print
-- requests, returns and the status history used by SLA timers and analytics.
-- Quantities: pieces for 'each' items, grams for 'kg' items. Money: integer minor units.

CREATE TABLE order_counter (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last INTEGER NOT NULL
);
INSERT INTO order_counter(id, last) VALUES (1, 100000);

CREATE TABLE orders (
  id TEXT PRIMARY KEY,                 -- UUIDv7
  ref TEXT NOT NULL UNIQUE,            -- printed as the order code SHO-<ref>
  channel TEXT NOT NULL CHECK (channel IN ('web','app','phone','in_store')),
  external_id TEXT,                    -- the channel's own order number
  status TEXT NOT NULL CHECK (status IN ('new','backordered','allocated','picking','picked','packed','ready',
                                         'collected','shipped','cancelled','returned')),
  status_since TEXT NOT NULL,
  fulfilment TEXT NOT NULL CHECK (fulfilment IN ('pickup','delivery','transfer')),
  customer_name TEXT NOT NULL DEFAULT '',
  customer_phone TEXT NOT NULL DEFAULT '',
  customer_email TEXT NOT NULL DEFAULT '',
  address TEXT,                        -- JSON {line1, city, postcode, ...} for delivery/transfer
  pickup_at TEXT,                      -- requested collection time (UTC)
  notes TEXT NOT NULL DEFAULT '',
  currency TEXT NOT NULL,
  total_minor INTEGER NOT NULL DEFAULT 0 CHECK (total_minor >= 0),
  paid_minor INTEGER NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
  refund_due_minor INTEGER NOT NULL DEFAULT 0 CHECK (refund_due_minor >= 0),
  review_status TEXT NOT NULL DEFAULT 'none' CHECK (review_status IN ('none','pending','approved','rejected')),
  review_reasons TEXT,                 -- JSON list of rule codes
  parent_order_id TEXT REFERENCES orders(id),   -- set on split / back-order children
  split_kind TEXT CHECK (split_kind IS NULL OR split_kind IN ('split','backorder')),
  cancel_reason TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX orders_channel_external ON orders(channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX orders_status ON orders(status, status_since);
CREATE INDEX orders_parent ON orders(parent_order_id) WHERE parent_order_id IS NOT NULL;

CREATE TABLE order_lines (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  line_no INTEGER NOT NULL,
  item_id TEXT NOT NULL REFERENCES items(id),
  qty INTEGER NOT NULL CHECK (qty > 0),            -- ordered: pieces, or grams for kg items
  unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),  -- per piece or per kg
  qty_picked INTEGER NOT NULL DEFAULT 0 CHECK (qty_picked >= 0),
  qty_packed INTEGER NOT NULL DEFAULT 0 CHECK (qty_packed >= 0),
  qty_returned INTEGER NOT NULL DEFAULT 0 CHECK (qty_returned >= 0),
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','allocated','picked','short','cancelled')),
  allow_substitute INTEGER NOT NULL DEFAULT 1 CHECK (allow_substitute IN (0,1)),
  substitute_for_line_id TEXT REFERENCES order_lines(id),
  UNIQUE (order_id, line_no)
);
CREATE INDEX order_lines_order ON order_lines(order_id);

-- Reservations held for a line at one location (each one is a 'reserve' movement).
CREATE TABLE order_allocations (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  line_id TEXT NOT NULL REFERENCES order_lines(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  location_id TEXT NOT NULL REFERENCES locations(id),
  qty INTEGER NOT NULL CHECK (qty > 0),            -- reserved
  qty_picked INTEGER NOT NULL DEFAULT 0,
  qty_released INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE INDEX order_allocations_order ON order_allocations(order_id);
CREATE INDEX order_allocations_line ON order_allocations(line_id);

CREATE TABLE order_status_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id TEXT NOT NULL REFERENCES orders(id),
  from_status TEXT,
  to_status TEXT NOT NULL,
  actor TEXT NOT NULL,
  device TEXT,
  ts TEXT NOT NULL
);
CREATE INDEX order_status_history_order ON order_status_history(order_id, seq);

CREATE TABLE pick_lists (
  id TEXT PRIMARY KEY,
  ref TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('open','in_progress','done','cancelled')),
  picker_id TEXT REFERENCES users(id),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  started_at TEXT,
  completed_at TEXT
);
CREATE INDEX pick_lists_status ON pick_lists(status);

CREATE TABLE pick_tasks (
  id TEXT PRIMARY KEY,
  pick_list_id TEXT NOT NULL REFERENCES pick_lists(id),
  seq INTEGER NOT NULL,                              -- position in the walk
  order_id TEXT NOT NULL REFERENCES orders(id),
  line_id TEXT NOT NULL REFERENCES order_lines(id),
  allocation_id TEXT NOT NULL REFERENCES order_allocations(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  location_id TEXT NOT NULL REFERENCES locations(id),
  walk_seq INTEGER NOT NULL,
  qty INTEGER NOT NULL CHECK (qty > 0),
  qty_picked INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','picked','short','cancelled')),
  resolution TEXT CHECK (resolution IS NULL OR resolution IN ('substitute','partial','backorder')),
  done_at TEXT,
  done_by TEXT
);
CREATE INDEX pick_tasks_list ON pick_tasks(pick_list_id, seq);
CREATE INDEX pick_tasks_order ON pick_tasks(order_id);

-- One row per confirmed pick / short report; the client key makes offline replays harmless.
CREATE TABLE picks (
  id TEXT PRIMARY KEY,
  client_key TEXT NOT NULL UNIQUE,
  task_id TEXT NOT NULL REFERENCES pick_tasks(id),
  order_id TEXT NOT NULL REFERENCES orders(id),
  line_id TEXT NOT NULL REFERENCES order_lines(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  location_id TEXT NOT NULL REFERENCES locations(id),
  kind TEXT NOT NULL CHECK (kind IN ('pick','short')),
  qty INTEGER NOT NULL CHECK (qty >= 0),
  item_code TEXT,
  picker TEXT NOT NULL,
  device TEXT,
  result TEXT NOT NULL,                -- JSON answer returned again on replay
  ts TEXT NOT NULL
);
CREATE INDEX picks_picker ON picks(picker, ts);
CREATE INDEX picks_ts ON picks(ts);

CREATE TABLE pack_scans (
  id TEXT PRIMARY KEY,
  client_key TEXT NOT NULL UNIQUE,
  order_id TEXT NOT NULL REFERENCES orders(id),
  line_id TEXT NOT NULL REFERENCES order_lines(id),
  qty INTEGER NOT NULL CHECK (qty > 0),
  code TEXT NOT NULL,
  actor TEXT NOT NULL,
  ts TEXT NOT NULL
);
CREATE INDEX pack_scans_order ON pack_scans(order_id);

-- Print requests for an order. id = the device command's request_id (hub.bus.commands keeps
-- the payload and the status; the printer agent prints each request_id once).
CREATE TABLE order_print_jobs (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  document TEXT NOT NULL CHECK (document IN ('pack_label','receipt')),
  device_id TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX order_print_jobs_order ON order_print_jobs(order_id);

CREATE TABLE order_returns (
  id TEXT PRIMARY KEY,
  client_key TEXT NOT NULL UNIQUE,
  order_id TEXT NOT NULL REFERENCES orders(id),
  line_id TEXT NOT NULL REFERENCES order_lines(id),
  qty INTEGER NOT NULL CHECK (qty > 0),
  disposition TEXT NOT NULL CHECK (disposition IN ('restock','writeoff')),
  reason TEXT NOT NULL,
  location_id TEXT NOT NULL REFERENCES locations(id),
  refund_minor INTEGER NOT NULL,
  actor TEXT NOT NULL,
  ts TEXT NOT NULL
);
CREATE INDEX order_returns_order ON order_returns(order_id);

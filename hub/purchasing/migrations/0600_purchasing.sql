-- Purchasing (this domain owns numbers 600-699): suppliers with their case packs and cost price lists, purchase
-- orders with their approvals, receipts scanned on the handheld and their discrepancies, returns to supplier,
-- stock per lot with the lot of every movement of a lot-controlled item, moving-average cost, daily demand and
-- the replenishment parameters computed from it. Money is integer minor units; quantities are the item's base
-- unit (pieces, or grams for kg items).

CREATE TABLE suppliers (
  id TEXT PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,                 -- the store's short code for the supplier (CSV key)
  name TEXT NOT NULL,
  contact_name TEXT NOT NULL DEFAULT '',
  phone TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  lead_time_days INTEGER NOT NULL CHECK (lead_time_days BETWEEN 0 AND 365),       -- promised
  lead_time_sd_days REAL NOT NULL DEFAULT 0 CHECK (lead_time_sd_days >= 0),       -- its variability
  min_order_minor INTEGER NOT NULL DEFAULT 0 CHECK (min_order_minor >= 0),
  payment_terms TEXT NOT NULL DEFAULT '',    -- e.g. "NET30"
  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- What a supplier sells us: its article code, the case pack (case GTIN-14 → units) and whether it is the
-- item's preferred source (the one replenishment orders from).
CREATE TABLE supplier_items (
  supplier_id TEXT NOT NULL REFERENCES suppliers(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  supplier_sku TEXT NOT NULL DEFAULT '',
  case_gtin TEXT UNIQUE CHECK (case_gtin IS NULL OR length(case_gtin) = 14),
  case_units INTEGER NOT NULL DEFAULT 1 CHECK (case_units >= 1),
  preferred INTEGER NOT NULL DEFAULT 0 CHECK (preferred IN (0,1)),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (supplier_id, item_id)
);
CREATE INDEX supplier_items_item ON supplier_items(item_id);
CREATE UNIQUE INDEX supplier_items_one_preferred ON supplier_items(item_id) WHERE preferred = 1;

-- Cost price lists: a unit cost (per piece, or per kg for kg items) valid from a day, until a day or open.
CREATE TABLE supplier_prices (
  supplier_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  valid_from TEXT NOT NULL,                  -- YYYY-MM-DD, store-local
  valid_to TEXT,                             -- inclusive; NULL = until replaced
  cost_minor INTEGER NOT NULL CHECK (cost_minor >= 0),
  PRIMARY KEY (supplier_id, item_id, valid_from),
  FOREIGN KEY (supplier_id, item_id) REFERENCES supplier_items(supplier_id, item_id)
);

-- Item attributes purchasing owns: lot control and the moving-average cost finance reads.
CREATE TABLE purchasing_items (
  item_id TEXT PRIMARY KEY REFERENCES items(id),
  lot_controlled INTEGER NOT NULL DEFAULT 0 CHECK (lot_controlled IN (0,1)),
  avg_cost_minor INTEGER,                    -- moving-average unit cost (per piece, or per kg); NULL = none yet
  avg_cost_updated_at TEXT
);

CREATE TABLE purchase_orders (
  id TEXT PRIMARY KEY,
  number TEXT NOT NULL UNIQUE,               -- PO-<n>, printed and scanned
  supplier_id TEXT NOT NULL REFERENCES suppliers(id),
  status TEXT NOT NULL CHECK (status IN ('draft','pending_approval','approved','sent','partly_received',
                                         'received','closed','cancelled')),
  origin TEXT NOT NULL CHECK (origin IN ('store','head_office','replenishment')),
  expected_date TEXT,                        -- YYYY-MM-DD
  currency TEXT NOT NULL,
  total_minor INTEGER NOT NULL DEFAULT 0,
  approvals_needed INTEGER NOT NULL DEFAULT 0,
  approval_role TEXT,                        -- the least role of the first approval (set when submitted)
  note TEXT NOT NULL DEFAULT '',
  cancel_reason TEXT,
  idempotency_key TEXT UNIQUE,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  sent_at TEXT
);
CREATE INDEX purchase_orders_supplier ON purchase_orders(supplier_id, status);
CREATE INDEX purchase_orders_status ON purchase_orders(status);

CREATE TABLE po_lines (
  po_id TEXT NOT NULL REFERENCES purchase_orders(id),
  line_no INTEGER NOT NULL,
  item_id TEXT NOT NULL REFERENCES items(id),
  qty INTEGER NOT NULL CHECK (qty > 0),      -- base units ordered
  case_units INTEGER NOT NULL DEFAULT 1,
  unit_cost_minor INTEGER NOT NULL CHECK (unit_cost_minor >= 0),
  received INTEGER NOT NULL DEFAULT 0,       -- base units received so far (confirmed receipts)
  PRIMARY KEY (po_id, line_no),
  UNIQUE (po_id, item_id)
);
CREATE INDEX po_lines_item ON po_lines(item_id);

CREATE TABLE po_approvals (
  po_id TEXT NOT NULL REFERENCES purchase_orders(id),
  step INTEGER NOT NULL,
  approved_by TEXT NOT NULL,
  role TEXT NOT NULL,
  ts TEXT NOT NULL,
  PRIMARY KEY (po_id, step),
  UNIQUE (po_id, approved_by)
);

-- A receiving on the handheld: scans collect here, confirming posts them (one transaction).
CREATE TABLE po_receipts (
  id TEXT PRIMARY KEY,
  po_id TEXT NOT NULL REFERENCES purchase_orders(id),
  status TEXT NOT NULL CHECK (status IN ('open','confirmed','cancelled')),
  blind INTEGER NOT NULL DEFAULT 0 CHECK (blind IN (0,1)),
  location_id TEXT NOT NULL REFERENCES locations(id),
  idempotency_key TEXT NOT NULL UNIQUE,
  confirm_key TEXT UNIQUE,
  opened_by TEXT NOT NULL,
  opened_at TEXT NOT NULL,
  confirmed_by TEXT,
  confirmed_at TEXT,
  device TEXT
);
CREATE INDEX po_receipts_po ON po_receipts(po_id);

CREATE TABLE receipt_scans (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  receipt_id TEXT NOT NULL REFERENCES po_receipts(id),
  idempotency_key TEXT NOT NULL UNIQUE,
  code TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('accepted','unknown_code','voided')),
  item_id TEXT REFERENCES items(id),
  qty INTEGER NOT NULL DEFAULT 0,            -- base units this scan stands for
  cases INTEGER NOT NULL DEFAULT 0,
  lot TEXT,
  expiry TEXT,
  sscc TEXT,
  on_po INTEGER NOT NULL DEFAULT 1,
  actor TEXT NOT NULL,
  device TEXT,
  ts TEXT NOT NULL
);
CREATE INDEX receipt_scans_receipt ON receipt_scans(receipt_id, item_id);
CREATE INDEX receipt_scans_sscc ON receipt_scans(sscc) WHERE sscc IS NOT NULL;

CREATE TABLE po_discrepancies (
  receipt_id TEXT NOT NULL REFERENCES po_receipts(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  kind TEXT NOT NULL CHECK (kind IN ('over','under','wrong_item')),
  expected INTEGER NOT NULL,
  received INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (receipt_id, item_id)
);

CREATE TABLE supplier_returns (
  id TEXT PRIMARY KEY,
  supplier_id TEXT NOT NULL REFERENCES suppliers(id),
  po_id TEXT REFERENCES purchase_orders(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  location_id TEXT NOT NULL REFERENCES locations(id),
  qty INTEGER NOT NULL CHECK (qty > 0),
  lot TEXT,
  reason TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  movement_id TEXT NOT NULL REFERENCES movements(id),
  idempotency_key TEXT NOT NULL UNIQUE,
  actor TEXT NOT NULL,
  ts TEXT NOT NULL
);

-- Lots: stock per item × location × lot of lot-controlled items ('' = stock whose lot nobody recorded), and
-- the lot side of every movement of such an item, keyed by the ledger's movement id (same transaction).
CREATE TABLE stock_lots (
  item_id TEXT NOT NULL REFERENCES items(id),
  location_id TEXT NOT NULL REFERENCES locations(id),
  lot TEXT NOT NULL,
  expiry TEXT,
  qty INTEGER NOT NULL,
  PRIMARY KEY (item_id, location_id, lot)
) WITHOUT ROWID;
CREATE INDEX stock_lots_lot ON stock_lots(lot);
CREATE INDEX stock_lots_expiry ON stock_lots(expiry) WHERE expiry IS NOT NULL;

CREATE TABLE lot_movements (
  movement_id TEXT NOT NULL REFERENCES movements(id),
  lot TEXT NOT NULL,
  item_id TEXT NOT NULL,
  location_id TEXT NOT NULL,
  expiry TEXT,
  qty_delta INTEGER NOT NULL,
  PRIMARY KEY (movement_id, lot)
);
CREATE INDEX lot_movements_lot ON lot_movements(item_id, lot);

-- The lot a purchasing step names for the movement it is about to post (read by the stock hook in the same
-- transaction, then deleted): how a receive or a return says which lot without changing the ledger.
CREATE TABLE lot_intents (
  idempotency_key TEXT PRIMARY KEY,
  lot TEXT NOT NULL,
  expiry TEXT
);

-- Moving-average cost history (finance reads purchasing_items.avg_cost_minor and this trail).
CREATE TABLE item_cost_history (
  movement_id TEXT PRIMARY KEY REFERENCES movements(id),
  item_id TEXT NOT NULL,
  qty INTEGER NOT NULL,
  unit_cost_minor INTEGER NOT NULL,
  on_hand_before INTEGER NOT NULL,
  avg_before_minor INTEGER,
  avg_after_minor INTEGER NOT NULL,
  ts TEXT NOT NULL
);
CREATE INDEX item_cost_history_item ON item_cost_history(item_id, ts);

-- Net units sold per item and store-local day (sales minus returns), kept by the stock hooks: the demand
-- history replenishment reads (days without a row sold nothing).
CREATE TABLE daily_sales (
  item_id TEXT NOT NULL,
  day TEXT NOT NULL,
  qty INTEGER NOT NULL,
  PRIMARY KEY (item_id, day)
) WITHOUT ROWID;

-- The last replenishment run's figures per item.
CREATE TABLE replenishment_params (
  item_id TEXT PRIMARY KEY REFERENCES items(id),
  supplier_id TEXT,
  avg_daily REAL NOT NULL,
  sd_daily REAL NOT NULL,
  lead_time_days INTEGER NOT NULL,
  safety_stock INTEGER NOT NULL,
  reorder_point INTEGER NOT NULL,
  order_up_to INTEGER NOT NULL,
  computed_at TEXT NOT NULL
);

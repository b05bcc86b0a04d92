-- Checkout at the till (hub.checkout; this domain owns migration numbers 300-399).
-- Money in integer minor units (fen); quantities in the item's base unit (pieces, or grams for kg items);
-- times UTC ISO 8601; business_date is the store-local date (YYYY-MM-DD).

CREATE TABLE checkout_tills (
  id TEXT PRIMARY KEY,                          -- e.g. T1 (what the till screen and /display/<till> name)
  printer_device TEXT,                          -- the receipt printer (with the cash drawer on its kick port)
  scale_device TEXT,                            -- the counter scale
  created_at TEXT NOT NULL
);

-- One row per till per business day: the gapless receipt counter and the seal of the Z report.
CREATE TABLE checkout_days (
  till_id TEXT NOT NULL REFERENCES checkout_tills(id),
  business_date TEXT NOT NULL,
  last_receipt_no INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed')),
  z_number INTEGER,
  closed_at TEXT,
  closed_by TEXT,
  PRIMARY KEY (till_id, business_date)
);
CREATE UNIQUE INDEX checkout_days_z ON checkout_days(till_id, z_number) WHERE z_number IS NOT NULL;

CREATE TABLE checkout_shifts (
  id TEXT PRIMARY KEY,
  till_id TEXT NOT NULL REFERENCES checkout_tills(id),
  business_date TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open','closed')),
  opened_by TEXT NOT NULL,
  opened_at TEXT NOT NULL,
  float_minor INTEGER NOT NULL CHECK (float_minor >= 0),
  closed_by TEXT,
  closed_at TEXT,
  counted_minor INTEGER,
  counted TEXT,                                 -- JSON {denomination_minor: count}
  expected_minor INTEGER,
  over_short_minor INTEGER
);
CREATE UNIQUE INDEX checkout_shifts_open ON checkout_shifts(till_id) WHERE status = 'open';

CREATE TABLE checkout_cash_moves (
  id TEXT PRIMARY KEY,
  idempotency_key TEXT NOT NULL UNIQUE,
  shift_id TEXT NOT NULL REFERENCES checkout_shifts(id),
  till_id TEXT NOT NULL,
  business_date TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('paid_in','paid_out','safe_drop')),
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  approved_by TEXT,
  at TEXT NOT NULL
);
CREATE INDEX checkout_cash_moves_day ON checkout_cash_moves(till_id, business_date);

CREATE TABLE checkout_carts (
  id TEXT PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,                    -- SHC-<n>: a held cart is picked up at the till by it
  till_id TEXT NOT NULL REFERENCES checkout_tills(id),
  status TEXT NOT NULL CHECK (status IN ('open','held','voided','completed')),
  created_by TEXT NOT NULL,
  device TEXT,
  note TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 0,
  sale_id TEXT,
  void_reason TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX checkout_carts_open ON checkout_carts(till_id) WHERE status = 'open';
CREATE INDEX checkout_carts_till ON checkout_carts(till_id, status);

CREATE TABLE checkout_cart_lines (
  id TEXT PRIMARY KEY,
  cart_id TEXT NOT NULL REFERENCES checkout_carts(id),
  pos INTEGER NOT NULL,
  item_id TEXT NOT NULL REFERENCES items(id),
  code TEXT,                                    -- what was scanned (NULL when picked from the search)
  qty INTEGER NOT NULL CHECK (qty > 0),         -- pieces, or grams for a kg item
  weighed INTEGER NOT NULL CHECK (weighed IN (0,1)),
  label_price_minor INTEGER,                    -- the price printed on a variable-measure label
  price_override_minor INTEGER,                 -- per piece / per kg, set by hand
  override_reason TEXT,
  manual_discount_minor INTEGER NOT NULL DEFAULT 0 CHECK (manual_discount_minor >= 0),
  discount_reason TEXT,
  approved_by TEXT,
  voided INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0,1)),
  created_at TEXT NOT NULL
);
CREATE INDEX checkout_cart_lines_cart ON checkout_cart_lines(cart_id, pos);

-- A tender is a persisted state machine, idempotent by out_trade_no (docs/checkout.md).
CREATE TABLE checkout_tenders (
  id TEXT PRIMARY KEY,
  out_trade_no TEXT NOT NULL UNIQUE,
  cart_id TEXT REFERENCES checkout_carts(id),   -- NULL for a refund
  sale_id TEXT,                                 -- the sale it paid, or the return it refunded
  refunds_tender_id TEXT REFERENCES checkout_tenders(id),
  till_id TEXT NOT NULL,
  shift_id TEXT REFERENCES checkout_shifts(id),
  business_date TEXT NOT NULL,
  method TEXT NOT NULL,
  direction TEXT NOT NULL DEFAULT 'in' CHECK (direction IN ('in','out')),
  amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
  received_minor INTEGER,                       -- cash handed over
  change_minor INTEGER NOT NULL DEFAULT 0,
  rounding_minor INTEGER NOT NULL DEFAULT 0,    -- cash rounding this tender settled
  state TEXT NOT NULL CHECK (state IN ('created','requesting','paid','failed','unknown','reversed','cancelled')),
  approval_code TEXT,
  card_last4 TEXT,
  provider_ref TEXT,
  error TEXT,
  actor TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX checkout_tenders_cart ON checkout_tenders(cart_id);
CREATE INDEX checkout_tenders_day ON checkout_tenders(till_id, business_date);
CREATE INDEX checkout_tenders_sale ON checkout_tenders(sale_id);
CREATE INDEX checkout_tenders_refunds ON checkout_tenders(refunds_tender_id);

CREATE TABLE checkout_tender_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  tender_id TEXT NOT NULL REFERENCES checkout_tenders(id),
  from_state TEXT,
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL,
  detail TEXT
);

-- The journal: append-only, every entry carries the hash of the previous one.
CREATE TABLE checkout_journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  till_id TEXT NOT NULL,
  business_date TEXT NOT NULL,
  receipt_no INTEGER,
  ts TEXT NOT NULL,
  body TEXT NOT NULL,                           -- canonical JSON
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX checkout_journal_day ON checkout_journal(till_id, business_date, kind);
CREATE TRIGGER checkout_journal_no_update BEFORE UPDATE ON checkout_journal
BEGIN SELECT RAISE(ABORT, 'checkout_journal is append-only'); END;
CREATE TRIGGER checkout_journal_no_delete BEFORE DELETE ON checkout_journal
BEGIN SELECT RAISE(ABORT, 'checkout_journal is append-only'); END;

CREATE TABLE checkout_sales (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('sale','return')),
  journal_seq INTEGER NOT NULL REFERENCES checkout_journal(seq),
  cart_id TEXT,
  original_sale_id TEXT REFERENCES checkout_sales(id),
  till_id TEXT NOT NULL,
  business_date TEXT NOT NULL,
  receipt_no INTEGER NOT NULL,
  receipt_code TEXT NOT NULL UNIQUE,
  cashier TEXT NOT NULL,
  subtotal_minor INTEGER NOT NULL,              -- gross of the lines
  discount_minor INTEGER NOT NULL,              -- promotions + by hand
  total_minor INTEGER NOT NULL,                 -- net of the lines (refund of the goods for a return)
  rounding_minor INTEGER NOT NULL DEFAULT 0,
  tendered_minor INTEGER NOT NULL,              -- total + rounding: what changed hands
  ts TEXT NOT NULL,
  UNIQUE (till_id, business_date, receipt_no)
);
CREATE INDEX checkout_sales_day ON checkout_sales(till_id, business_date);

CREATE TABLE checkout_sale_lines (
  sale_id TEXT NOT NULL REFERENCES checkout_sales(id),
  line_no INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  sku TEXT NOT NULL,
  qty INTEGER NOT NULL,                         -- pieces or grams
  weighed INTEGER NOT NULL,
  gross_minor INTEGER NOT NULL,
  discount_minor INTEGER NOT NULL,
  net_minor INTEGER NOT NULL,
  tax_minor INTEGER NOT NULL,
  tax_rate TEXT NOT NULL,
  returned_qty INTEGER NOT NULL DEFAULT 0,
  refunded_minor INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (sale_id, line_no)
);

CREATE TABLE checkout_print_jobs (
  request_id TEXT PRIMARY KEY,
  sale_id TEXT,
  till_id TEXT NOT NULL,
  document TEXT NOT NULL,                       -- receipt | receipt_copy | return | z_report | no_sale
  device_id TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX checkout_print_jobs_sale ON checkout_print_jobs(sale_id);

CREATE TABLE checkout_idempotency (
  key TEXT PRIMARY KEY,
  action TEXT NOT NULL,
  result TEXT NOT NULL,                         -- the JSON answered the first time
  created_at TEXT NOT NULL
);

-- Finance: the store-day close, settlement and accounting export (hub.finance; numbers 0700-0729 are the
-- store-day's, docs/finance.md). Money in integer fen; times UTC ISO 8601; business_date the store-local date.

-- The business day of this store: open → closing → closed → reconciled → locked (hub/finance/rules.py).
CREATE TABLE finance_days (
  business_date TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('open','closing','closed','reconciled','locked')),
  blockers TEXT NOT NULL DEFAULT '[]',          -- JSON: what keeps a closing day from closing
  settlement TEXT,                              -- JSON: the settlement as reconciled (frozen from then on)
  closed_by TEXT, closed_at TEXT,
  reconciled_by TEXT, reconciled_at TEXT,
  locked_by TEXT, locked_at TEXT,
  updated_at TEXT NOT NULL
);

CREATE TABLE finance_day_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  business_date TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  at TEXT NOT NULL
);
CREATE INDEX finance_day_events_day ON finance_day_events(business_date, seq);

-- A provider's daily statement as imported (one per provider and bill date; the file's digest makes a
-- re-import of the same bytes a no-op).
CREATE TABLE finance_statements (
  id TEXT PRIMARY KEY,
  provider TEXT NOT NULL CHECK (provider IN ('wechatpay','alipay')),
  bill_date TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  layout TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  rows INTEGER NOT NULL,
  payments_minor INTEGER NOT NULL,
  refunds_minor INTEGER NOT NULL,
  fees_minor INTEGER NOT NULL,
  imported_by TEXT NOT NULL,
  imported_at TEXT NOT NULL,
  UNIQUE (provider, bill_date)
);

CREATE TABLE finance_statement_rows (
  statement_id TEXT NOT NULL REFERENCES finance_statements(id) ON DELETE CASCADE,
  line_no INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('payment','refund')),
  out_trade_no TEXT NOT NULL,                   -- the merchant's order number (the till's tender)
  refund_no TEXT,                               -- 商户退款单号 / 退款批次号: the till's refund tender
  provider_ref TEXT NOT NULL,                   -- 微信订单号 / 支付宝交易号
  status TEXT NOT NULL,
  amount_minor INTEGER NOT NULL,                -- payment > 0, refund < 0
  fee_minor INTEGER NOT NULL,                   -- payment's fee > 0, fee returned on a refund < 0
  ts TEXT NOT NULL,                             -- as the statement writes it (China time)
  PRIMARY KEY (statement_id, line_no)
);
CREATE INDEX finance_statement_rows_otn ON finance_statement_rows(out_trade_no);

-- Card terminal batch totals keyed in from each till's terminal settlement slip.
CREATE TABLE finance_card_batches (
  business_date TEXT NOT NULL,
  till_id TEXT NOT NULL,
  amount_minor INTEGER NOT NULL,
  count INTEGER,
  entered_by TEXT NOT NULL,
  entered_at TEXT NOT NULL,
  PRIMARY KEY (business_date, till_id)
);

-- Corrections of a sealed day, posted into an open day with a reference to the day they correct.
CREATE TABLE finance_corrections (
  id TEXT PRIMARY KEY,
  business_date TEXT NOT NULL,                  -- the open day it posts into
  corrects_date TEXT NOT NULL,                  -- the sealed day it refers to
  debit_account TEXT NOT NULL,
  credit_account TEXT NOT NULL,
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  memo TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX finance_corrections_day ON finance_corrections(business_date);

-- The day's journal as locked: the export of a locked day is made from these rows only, so it never changes.
CREATE TABLE finance_journal_lines (
  business_date TEXT NOT NULL,
  line_no INTEGER NOT NULL,
  account TEXT NOT NULL,                        -- posting kind (finance.accounts key)
  debit_minor INTEGER NOT NULL CHECK (debit_minor >= 0),
  credit_minor INTEGER NOT NULL CHECK (credit_minor >= 0),
  memo TEXT NOT NULL,
  PRIMARY KEY (business_date, line_no)
);
CREATE TRIGGER finance_journal_lines_no_update BEFORE UPDATE ON finance_journal_lines
BEGIN SELECT RAISE(ABORT, 'a locked day''s journal is immutable'); END;
CREATE TRIGGER finance_journal_lines_no_delete BEFORE DELETE ON finance_journal_lines
BEGIN SELECT RAISE(ABORT, 'a locked day''s journal is immutable'); END;

-- The accounts as they were when the day was locked (the mapping is data and may change later).
CREATE TABLE finance_locked_accounts (
  business_date TEXT PRIMARY KEY,
  accounts TEXT NOT NULL
);

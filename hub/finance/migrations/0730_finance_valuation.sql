-- Finance, valuation (issue 18): the cost of every stock movement that moves the P&L, recorded by the ledger's
-- stock hooks in the movement's own transaction (hub/finance/valuation.py). Numbers 0730-0759.
CREATE TABLE finance_stock_costs (
  movement_seq INTEGER PRIMARY KEY,        -- movements.seq
  movement_id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,                      -- the movement's kind: sale, pick, return, writeoff, count, adjust
  line TEXT NOT NULL CHECK (line IN ('cogs', 'shrink')),
  item_id TEXT NOT NULL,
  location_id TEXT NOT NULL,
  qty_delta INTEGER NOT NULL,              -- signed, pieces or grams
  unit_cost_minor INTEGER,                 -- per piece, or per kg; NULL: no cost known
  value_minor INTEGER NOT NULL,            -- signed stock value change at that cost (0 when unknown)
  ref TEXT,
  ts TEXT NOT NULL
);
CREATE INDEX finance_stock_costs_ts ON finance_stock_costs(ts);
CREATE INDEX finance_stock_costs_item ON finance_stock_costs(item_id, location_id, kind, movement_seq);
-- stock value at a date reads the ledger in item order without touching the table (one pass over this index)
CREATE INDEX finance_movements_item_ts ON movements(item_id, ts, qty_delta);

-- Transfers between stores (hub/purchasing/transfers.py). The same transfer id (global, UUIDv7) lives on both
-- hubs: the sending store's copy is authored there (or arrives proposed by head office through the downlink),
-- the receiving store's copy arrives shipped through the downlink.
CREATE TABLE store_transfers (
  id TEXT PRIMARY KEY,
  from_store TEXT NOT NULL,
  to_store TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('proposed','accepted','picked','shipped','received','closed','cancelled')),
  origin TEXT NOT NULL CHECK (origin IN ('store','head_office')),
  proposed_by TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  shipped_at TEXT,
  received_at TEXT,
  CHECK (from_store != to_store)
);
CREATE INDEX store_transfers_status ON store_transfers(status, updated_at);

CREATE TABLE store_transfer_lines (
  transfer_id TEXT NOT NULL REFERENCES store_transfers(id),
  line_no INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  sku TEXT NOT NULL,
  qty INTEGER NOT NULL CHECK (qty > 0),       -- proposed
  picked INTEGER NOT NULL DEFAULT 0,
  shipped INTEGER NOT NULL DEFAULT 0,
  received INTEGER NOT NULL DEFAULT 0,
  lots TEXT NOT NULL DEFAULT '[]',            -- JSON [{lot, expiry, qty}] the shipment took (lot-controlled)
  PRIMARY KEY (transfer_id, line_no)
);

-- One row per handheld step key: a replayed request answers what it answered the first time.
CREATE TABLE store_transfer_steps (
  idempotency_key TEXT PRIMARY KEY,
  transfer_id TEXT NOT NULL,
  step TEXT NOT NULL,
  actor TEXT NOT NULL,
  ts TEXT NOT NULL
);

-- Receiving scans at the receiving store.
CREATE TABLE store_transfer_scans (
  idempotency_key TEXT PRIMARY KEY,
  transfer_id TEXT NOT NULL REFERENCES store_transfers(id),
  code TEXT NOT NULL,
  item_id TEXT NOT NULL,
  sku TEXT NOT NULL,
  qty INTEGER NOT NULL CHECK (qty > 0),
  lot TEXT,
  actor TEXT NOT NULL,
  ts TEXT NOT NULL
);
CREATE INDEX store_transfer_scans_transfer ON store_transfer_scans(transfer_id);

CREATE TABLE store_transfer_discrepancies (
  transfer_id TEXT NOT NULL REFERENCES store_transfers(id),
  item_id TEXT NOT NULL,
  sku TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('short','over','wrong_item')),
  qty INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (transfer_id, item_id, kind)
);

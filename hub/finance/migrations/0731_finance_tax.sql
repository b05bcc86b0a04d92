-- Finance, VAT (issue 18): tax categories and their rates as data with validity dates (hub/finance/tax.py).
CREATE TABLE finance_tax_categories (
  code TEXT PRIMARY KEY,
  name_en TEXT NOT NULL DEFAULT '',
  name_zh TEXT NOT NULL DEFAULT ''
);
-- valid_from / valid_to: the store's local calendar days, both included; valid_to NULL = open-ended
CREATE TABLE finance_tax_rates (
  category TEXT NOT NULL REFERENCES finance_tax_categories(code),
  rate TEXT NOT NULL,                      -- "0.13": the decimal string the till computes with
  valid_from TEXT NOT NULL,
  valid_to TEXT,
  PRIMARY KEY (category, valid_from),
  CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
-- an item's tax category; an item without one takes its catalog category's, else the checkout.tax_rates setting
CREATE TABLE finance_item_tax (
  item_id TEXT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
  category TEXT NOT NULL REFERENCES finance_tax_categories(code)
);
CREATE TABLE finance_category_tax (
  catalog_category TEXT PRIMARY KEY,
  category TEXT NOT NULL REFERENCES finance_tax_categories(code)
);
-- bumped by every change above: the till's price cache keys on it (hub.finance.tax.version)
CREATE TABLE finance_tax_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO finance_tax_version(id, version) VALUES (1, 0);

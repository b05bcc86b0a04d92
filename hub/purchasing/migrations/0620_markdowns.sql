-- Near-expiry markdowns: what the nightly expiry check suggests for a lot close to its expiry (percent off the
-- item until the end of its expiry day) and what a manager decided. An approved one carries the promotion it
-- became (as authored: hub/promotions' percent_off format), which the markdown.approved fact takes to the
-- central to publish for this store.
CREATE TABLE markdown_suggestions (
  id TEXT PRIMARY KEY,
  item_id TEXT NOT NULL REFERENCES items(id),
  lot TEXT NOT NULL,
  expiry TEXT NOT NULL,                      -- store-local day YYYY-MM-DD
  qty INTEGER NOT NULL,                      -- on hand of the lot when suggested (base unit)
  percent INTEGER NOT NULL CHECK (percent BETWEEN 1 AND 90),
  status TEXT NOT NULL CHECK (status IN ('suggested', 'approved', 'dismissed')),
  promotion TEXT,                            -- JSON, once approved
  created_at TEXT NOT NULL,
  decided_by TEXT,
  decided_at TEXT,
  UNIQUE (item_id, lot)
);
CREATE INDEX markdown_suggestions_status ON markdown_suggestions(status);

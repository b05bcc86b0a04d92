-- Sync state on the hub: uplink cursor, downlink version, last contact, and the
-- store's local overrides of centrally authored values.

CREATE TABLE sync_state (
  key TEXT PRIMARY KEY,            -- uplink_cursor | downlink_version | policy | last_ack_at | last_error ...
  value TEXT NOT NULL,             -- JSON
  updated_at TEXT NOT NULL
);

-- A field a store manager set locally where the central's policy allows it.
-- central_value is what the central last sent (restored when the override is removed
-- or when the policy stops allowing it).
CREATE TABLE sync_overrides (
  entity TEXT NOT NULL CHECK (entity IN ('item','setting')),
  entity_key TEXT NOT NULL,        -- item id or setting key
  field TEXT NOT NULL,             -- item field, or 'value' for a setting
  value TEXT NOT NULL,             -- JSON
  central_value TEXT,              -- JSON, null if the central never sent one
  set_by TEXT NOT NULL,
  set_at TEXT NOT NULL,
  PRIMARY KEY (entity, entity_key, field)
);

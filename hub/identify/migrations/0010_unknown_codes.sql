-- Codes staff scanned that the hub could not resolve (reported from the handheld so the
-- catalog team can add the GTIN). Append-only: each report is a fact synced to the central.

CREATE TABLE unknown_codes (
  id TEXT PRIMARY KEY,                 -- UUIDv7
  code TEXT NOT NULL,                  -- the raw scan as sent
  kind TEXT,                           -- parsed kind (gtin, gs1, variable_measure, ...) or NULL if unreadable
  gtin TEXT,                           -- GTIN-14 when the code carries one
  parse_error TEXT,                    -- BarcodeError code when the code could not be read
  note TEXT NOT NULL DEFAULT '',
  location_id TEXT REFERENCES locations(id),
  reported_by TEXT NOT NULL,           -- user id
  device TEXT,
  ts TEXT NOT NULL
);
CREATE INDEX unknown_codes_ts ON unknown_codes(ts);
CREATE INDEX unknown_codes_gtin ON unknown_codes(gtin) WHERE gtin IS NOT NULL;

CREATE TRIGGER unknown_codes_no_update BEFORE UPDATE ON unknown_codes
BEGIN SELECT RAISE(ABORT, 'unknown code reports are immutable'); END;

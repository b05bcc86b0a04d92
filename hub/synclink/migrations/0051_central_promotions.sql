-- Promotions authored at head office, as the downlink delivered them, one row each (they were one JSON blob in
-- the settings table). The promotions domain reads its rules from here; nothing else writes it.
CREATE TABLE central_promotions (
  id TEXT PRIMARY KEY,
  body TEXT NOT NULL,              -- JSON, the promotion as the central authored it
  downlink_version INTEGER,        -- the downlink page that last delivered it (null: carried over from settings)
  received_at TEXT NOT NULL
);

INSERT OR REPLACE INTO central_promotions(id, body, downlink_version, received_at)
  SELECT p.key, p.value, NULL, s.updated_at
  FROM settings s, json_each(s.value) p
  WHERE s.key = 'promotions' AND json_valid(s.value) AND json_type(s.value) = 'object';

DELETE FROM settings WHERE key = 'promotions';

-- Scoped counts that can be called off and zones counters sign off.
-- Why a count was cancelled (also in the audit log; kept here so the session itself says it).
ALTER TABLE count_sessions ADD COLUMN cancel_reason TEXT;

-- A counter says "my zone is done": one row per session x counter x location (a location subtree inside the
-- count's scope). The supervisor's review lists them; deleting the row takes the sign-off back.
CREATE TABLE count_zone_done (
  session_id TEXT NOT NULL REFERENCES count_sessions(id),
  user_id TEXT NOT NULL,
  location_id TEXT NOT NULL REFERENCES locations(id),
  done_at TEXT NOT NULL,
  PRIMARY KEY (session_id, user_id, location_id)
) WITHOUT ROWID;

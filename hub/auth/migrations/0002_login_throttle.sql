-- Per-source login throttle (hub/login_throttle.py): failed logins counted per client address and
-- per device id, so one device cannot try many users or badge codes. Local security state: not synced.
CREATE TABLE login_throttle (
  scope TEXT NOT NULL CHECK (scope IN ('ip','device')),
  key TEXT NOT NULL,                 -- client address (IPv6 by /64) or X-Device-Id
  failures INTEGER NOT NULL DEFAULT 0,
  first_failure_at TEXT NOT NULL,
  last_failure_at TEXT NOT NULL,
  blocked_until TEXT,                -- UTC ISO-8601; NULL when not blocked
  refused INTEGER NOT NULL DEFAULT 0, -- logins refused during the current block
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX login_throttle_last_failure ON login_throttle(last_failure_at);

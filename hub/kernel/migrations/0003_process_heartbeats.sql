-- Liveness of the hub's long-running processes beside the web workers (the bus): each writes its row every few
-- seconds, and /api/v1/health reports it up while the row is fresh. A process that crashes stops writing.
CREATE TABLE process_heartbeats (
  name TEXT PRIMARY KEY,             -- 'bus'
  pid INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  stopped_at TEXT,                   -- set by a clean stop
  details TEXT                       -- JSON: what the process wants health to show (e.g. broker connected)
);

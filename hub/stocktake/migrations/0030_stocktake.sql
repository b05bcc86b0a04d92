-- Stocktake: count sessions (barcode scans and RFID sweeps), lines with their
-- expected-quantity snapshot, RFID tag records, recounts, ABC cycle counting.

CREATE TABLE count_sessions (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('full','cycle')),
  mode TEXT NOT NULL CHECK (mode IN ('blind','guided')),
  status TEXT NOT NULL CHECK (status IN ('open','review','approved','cancelled')),
  uncounted TEXT NOT NULL CHECK (uncounted IN ('zero','exclude')),
  scope TEXT NOT NULL,                    -- JSON {location_ids, categories, item_ids}
  rssi_floor_dbm REAL NOT NULL,
  min_reads INTEGER NOT NULL CHECK (min_reads >= 1),
  task_ids TEXT,                          -- JSON list of cycle-count tasks this session works off
  create_key TEXT UNIQUE,                 -- idempotency key of the creating request
  approve_key TEXT UNIQUE,                -- idempotency key of the approving request
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  closed_by TEXT, closed_at TEXT,
  approved_by TEXT, approved_at TEXT,
  cancelled_by TEXT, cancelled_at TEXT,
  summary TEXT                            -- JSON totals frozen at approval
);
CREATE INDEX count_sessions_status ON count_sessions(status, created_at);

-- Who counts in a session, their zone (a location subtree) and the bin they are at.
CREATE TABLE count_counters (
  session_id TEXT NOT NULL REFERENCES count_sessions(id),
  user_id TEXT NOT NULL,
  zone_location_id TEXT REFERENCES locations(id),
  current_location_id TEXT REFERENCES locations(id),
  joined_at TEXT NOT NULL,
  PRIMARY KEY (session_id, user_id)
) WITHOUT ROWID;

-- One line per item x location touched by the count (or in scope at close).
-- snapshot_qty/snapshot_seq: on-hand and the ledger position when the line was first counted.
CREATE TABLE count_lines (
  session_id TEXT NOT NULL REFERENCES count_sessions(id),
  item_id TEXT NOT NULL REFERENCES items(id),
  location_id TEXT NOT NULL REFERENCES locations(id),
  snapshot_qty INTEGER NOT NULL,
  snapshot_seq INTEGER NOT NULL,
  snapshot_at TEXT NOT NULL,
  scan_qty INTEGER NOT NULL DEFAULT 0,
  scans INTEGER NOT NULL DEFAULT 0,       -- live (not undone) scans
  recount_status TEXT CHECK (recount_status IN ('requested','done')),
  recount_assigned_to TEXT,
  recount_requested_by TEXT,
  recount_qty INTEGER,
  recount_by TEXT,
  -- frozen at approval
  final_expected INTEGER, final_counted INTEGER, final_variance INTEGER, final_variance_cost_minor INTEGER,
  final_source TEXT,
  PRIMARY KEY (session_id, item_id, location_id)
) WITHOUT ROWID;
CREATE INDEX count_lines_item ON count_lines(item_id, location_id);

CREATE TABLE count_scans (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL REFERENCES count_sessions(id),
  client_key TEXT NOT NULL,
  counter TEXT NOT NULL,
  device TEXT,
  item_id TEXT NOT NULL REFERENCES items(id),
  location_id TEXT NOT NULL REFERENCES locations(id),
  qty INTEGER NOT NULL,
  code TEXT,
  source TEXT NOT NULL CHECK (source IN ('scan','manual','recount')),
  ts TEXT NOT NULL,
  undone_at TEXT,
  undo_key TEXT UNIQUE,
  UNIQUE (session_id, client_key)
);
CREATE INDEX count_scans_counter ON count_scans(session_id, counter, seq);

-- Location-label scans (switching bins) are idempotent too.
CREATE TABLE count_moves (
  session_id TEXT NOT NULL,
  client_key TEXT NOT NULL,
  counter TEXT NOT NULL,
  location_id TEXT NOT NULL,
  ts TEXT NOT NULL,
  PRIMARY KEY (session_id, client_key)
) WITHOUT ROWID;

-- RFID: which reader feeds which session, and where its antennas point.
CREATE TABLE rfid_sweeps (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES count_sessions(id),
  reader TEXT NOT NULL,
  location_id TEXT NOT NULL REFERENCES locations(id),
  started_by TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  raw_reads INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX rfid_sweeps_active ON rfid_sweeps(reader) WHERE ended_at IS NULL;
CREATE INDEX rfid_sweeps_session ON rfid_sweeps(session_id);

CREATE TABLE rfid_antennas (
  reader TEXT NOT NULL,
  antenna INTEGER NOT NULL,
  location_id TEXT NOT NULL REFERENCES locations(id),
  PRIMARY KEY (reader, antenna)
) WITHOUT ROWID;

-- One record per EPC per session.
CREATE TABLE count_rfid_tags (
  session_id TEXT NOT NULL REFERENCES count_sessions(id),
  epc TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  reads INTEGER NOT NULL,
  peak_rssi REAL,                         -- dBm; NULL when the reader does not report RSSI
  antennas INTEGER NOT NULL,              -- bitmask of antenna ports (bit n = port n)
  best_antenna INTEGER NOT NULL,
  reader TEXT NOT NULL,
  zone_location_id TEXT,
  kind TEXT NOT NULL,                     -- item | case | pallet | asset | unknown_gtin | undecodable
  item_id TEXT,
  gtin TEXT,
  serial TEXT,
  PRIMARY KEY (session_id, epc)
) WITHOUT ROWID;
CREATE INDEX count_rfid_tags_item ON count_rfid_tags(session_id, item_id, zone_location_id);

-- Where each serialised EPC was last seen by an approved or open count.
CREATE TABLE rfid_epc_last_seen (
  epc TEXT PRIMARY KEY,
  item_id TEXT,
  location_id TEXT,
  session_id TEXT NOT NULL,
  last_seen TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX rfid_epc_last_seen_loc ON rfid_epc_last_seen(location_id);

-- Cycle counting.
CREATE TABLE cycle_classes (
  item_id TEXT PRIMARY KEY REFERENCES items(id),
  abc_class TEXT NOT NULL CHECK (abc_class IN ('A','B','C')),
  annual_value_minor INTEGER NOT NULL,
  units_sold INTEGER NOT NULL,
  classified_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE count_tasks (
  id TEXT PRIMARY KEY,
  item_id TEXT NOT NULL REFERENCES items(id),
  abc_class TEXT NOT NULL,
  due_date TEXT NOT NULL,                 -- YYYY-MM-DD
  status TEXT NOT NULL CHECK (status IN ('open','in_session','done','cancelled')),
  session_id TEXT,
  created_at TEXT NOT NULL,
  done_at TEXT,
  UNIQUE (item_id, due_date)
);
CREATE INDEX count_tasks_status ON count_tasks(status, due_date);

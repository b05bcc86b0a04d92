-- Device bus: registry, processed events, dead letters, scans, weights, shelf sensors, commands, alerts.

CREATE TABLE devices (
  id TEXT PRIMARY KEY,                   -- [a-z0-9-]{1,64}, also the MQTT username
  kind TEXT,                             -- scanner|scale|printer|rfid|shelf (NULL until info/provision)
  model TEXT,
  firmware TEXT,
  capabilities TEXT NOT NULL DEFAULT '[]',  -- JSON array
  info TEXT,                             -- last info payload (JSON)
  online INTEGER NOT NULL DEFAULT 0 CHECK (online IN (0,1)),
  status_changed_at TEXT,
  first_seen TEXT NOT NULL,
  last_seen TEXT,
  last_event_at TEXT,
  battery_pct INTEGER,
  paper TEXT,
  error TEXT,
  events_total INTEGER NOT NULL DEFAULT 0,
  events_duplicate INTEGER NOT NULL DEFAULT 0,
  rejected_total INTEGER NOT NULL DEFAULT 0,
  silence_s INTEGER,                     -- override of the per-kind silence alert threshold
  provisioned_at TEXT
);

-- Per device and event type counters.
CREATE TABLE device_event_counts (
  device_id TEXT NOT NULL REFERENCES devices(id),
  event_type TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device_id, event_type)
) WITHOUT ROWID;

-- Idempotency: an event id is applied once per device, whatever the broker redelivers.
CREATE TABLE device_events_processed (
  device_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  ts TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (device_id, event_id)
) WITHOUT ROWID;
CREATE INDEX device_events_processed_received ON device_events_processed(received_at);

CREATE TABLE dead_letters (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  received_at TEXT NOT NULL,
  topic TEXT NOT NULL,
  device_id TEXT,
  reason TEXT NOT NULL,
  payload_text TEXT,                     -- UTF-8 payloads
  payload_b64 TEXT,                      -- anything else
  payload_size INTEGER NOT NULL
);
CREATE INDEX dead_letters_device ON dead_letters(device_id);

CREATE TABLE device_scans (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  code TEXT NOT NULL,
  symbology TEXT,
  ts TEXT NOT NULL,
  received_at TEXT NOT NULL,
  item_id TEXT,                          -- set when hub.scan resolved the code to an item
  resolution TEXT,                       -- JSON summary from hub.scan (kind, ...)
  UNIQUE (device_id, event_id)
);
CREATE INDEX device_scans_device ON device_scans(device_id, seq);

CREATE TABLE scale_weights (
  device_id TEXT PRIMARY KEY,
  grams INTEGER NOT NULL,
  net INTEGER,
  tare_grams INTEGER,
  event_id TEXT NOT NULL,
  ts TEXT NOT NULL,
  received_at TEXT NOT NULL
);

CREATE TABLE shelf_bindings (
  device_id TEXT PRIMARY KEY,
  item_id TEXT NOT NULL REFERENCES items(id),
  location_id TEXT NOT NULL REFERENCES locations(id),
  low_units INTEGER NOT NULL DEFAULT 2 CHECK (low_units >= 0),
  tare_grams INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE shelf_readings (
  device_id TEXT PRIMARY KEY,
  grams REAL NOT NULL,
  units INTEGER,
  item_id TEXT,
  location_id TEXT,
  level TEXT,                            -- ok | low | empty | unbound
  event_id TEXT NOT NULL,
  ts TEXT NOT NULL,
  received_at TEXT NOT NULL
);

CREATE TABLE device_commands (
  request_id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  action TEXT NOT NULL,
  payload TEXT NOT NULL,                 -- JSON sent on cmd/<action>
  status TEXT NOT NULL CHECK (status IN ('pending','sent','ok','failed')),
  requested_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  sent_at TEXT,
  result_at TEXT,
  error TEXT,
  result TEXT                            -- JSON result payload
);
CREATE INDEX device_commands_pending ON device_commands(created_at) WHERE status = 'pending';
CREATE INDEX device_commands_device ON device_commands(device_id, created_at);

CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,                    -- device_offline|device_silent|device_error|paper_out|low_battery|low_stock|empty_shelf
  subject TEXT NOT NULL,                 -- device id, or device id of the shelf sensor
  severity TEXT NOT NULL CHECK (severity IN ('info','warning','critical')),
  message TEXT NOT NULL,
  details TEXT,                          -- JSON
  raised_at TEXT NOT NULL,
  cleared_at TEXT,
  acknowledged_by TEXT,
  acknowledged_at TEXT
);
CREATE UNIQUE INDEX alerts_open ON alerts(kind, subject) WHERE cleared_at IS NULL;
CREATE INDEX alerts_raised ON alerts(raised_at);

-- Staff (issue 17): attendance, rosters and payroll periods. This domain owns numbers 500-599.
-- Every time is UTC ISO-8601 with Z; dates (week_start, leave, pay periods) are the store's local dates.

-- Payroll numbers and skills of the people in users (the account itself stays in hub.auth).
CREATE TABLE staff_profiles (
  user_id TEXT PRIMARY KEY REFERENCES users(id),
  employee_no TEXT,
  skills TEXT NOT NULL DEFAULT '[]',            -- JSON array of skill names ("till", "forklift", ...)
  updated_at TEXT NOT NULL
);

-- A stretch of work from a clock-in to a clock-out (ended_at NULL while open).
CREATE TABLE staff_sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  started_at TEXT NOT NULL,
  ended_at TEXT,
  ended_by TEXT,                                -- clock | supervisor | correction
  close_reason TEXT,
  closed_by TEXT,
  revision INTEGER NOT NULL DEFAULT 1,          -- bumped by every change, carried by the staff.attendance fact
  CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX staff_sessions_user ON staff_sessions(user_id, started_at);
CREATE INDEX staff_sessions_start ON staff_sessions(started_at);
CREATE UNIQUE INDEX staff_sessions_one_open ON staff_sessions(user_id) WHERE ended_at IS NULL;

CREATE TABLE staff_breaks (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES staff_sessions(id),
  started_at TEXT NOT NULL,
  ended_at TEXT
);
CREATE INDEX staff_breaks_session ON staff_breaks(session_id);

-- Every punch as it came (badge at a clock point, PIN on a handheld); counted = 0 for a repeat within a minute.
CREATE TABLE staff_punches (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  action TEXT NOT NULL CHECK (action IN ('in', 'out', 'break_start', 'break_end')),
  at TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('badge', 'pin')),
  device_id TEXT,
  event_id TEXT,
  counted INTEGER NOT NULL,
  session_id TEXT
);
CREATE UNIQUE INDEX staff_punches_event ON staff_punches(device_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX staff_punches_user ON staff_punches(user_id, at);

-- Badge scans at a clock point that clocked nobody: unknown or disabled badge, clock-out without clock-in.
CREATE TABLE staff_clock_refusals (
  device_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  at TEXT NOT NULL,
  reason TEXT NOT NULL,
  user_id TEXT,
  PRIMARY KEY (device_id, event_id)
);

CREATE TABLE staff_corrections (
  id TEXT PRIMARY KEY,
  session_id TEXT REFERENCES staff_sessions(id),   -- NULL: a forgotten shift added afresh
  user_id TEXT NOT NULL REFERENCES users(id),
  started_at TEXT NOT NULL,
  ended_at TEXT NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  decided_by TEXT,
  decided_at TEXT,
  decision_note TEXT
);

CREATE TABLE staff_weeks (
  week_start TEXT PRIMARY KEY,                  -- the Monday, local date
  status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
  version INTEGER NOT NULL DEFAULT 0,
  published_at TEXT,
  published_by TEXT
);

CREATE TABLE staff_shifts (
  id TEXT PRIMARY KEY,
  week_start TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  starts_at TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  role TEXT NOT NULL,
  area TEXT NOT NULL,
  skill TEXT,                                   -- the skill the shift needs (e.g. till), NULL for none
  created_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CHECK (ends_at > starts_at)
);
CREATE INDEX staff_shifts_week ON staff_shifts(week_start, user_id);
CREATE INDEX staff_shifts_user ON staff_shifts(user_id, starts_at);

-- When a person can work: weekday 0 = Monday, minutes after local midnight.
CREATE TABLE staff_availability (
  user_id TEXT NOT NULL REFERENCES users(id),
  weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
  from_min INTEGER NOT NULL CHECK (from_min BETWEEN 0 AND 1440),
  to_min INTEGER NOT NULL CHECK (to_min BETWEEN 0 AND 1440),
  PRIMARY KEY (user_id, weekday)
);

CREATE TABLE staff_leave (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  first_day TEXT NOT NULL,
  last_day TEXT NOT NULL,
  kind TEXT NOT NULL,
  note TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  requested_at TEXT NOT NULL,
  decided_by TEXT,
  decided_at TEXT,
  CHECK (last_day >= first_day)
);
CREATE INDEX staff_leave_user ON staff_leave(user_id, first_day);

-- A pay period's export; once approved its bytes are kept and never computed again.
CREATE TABLE staff_pay_periods (
  first_day TEXT NOT NULL,
  last_day TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('approved')),
  approved_by TEXT NOT NULL,
  approved_at TEXT NOT NULL,
  csv BLOB NOT NULL,
  xlsx BLOB NOT NULL,
  sha256_csv TEXT NOT NULL,
  sha256_xlsx TEXT NOT NULL,
  PRIMARY KEY (first_day, last_day)
);

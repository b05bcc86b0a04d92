-- Members and loyalty (hub.members; this domain owns migration numbers 400-499). docs/members.md.
-- The hub keeps what the till needs in plain text (card number, masked phone, tier, birthday month, points) and
-- every other personal field encrypted (hub.kernel.pii: AES-GCM, key id in the value, keys in pii.keys outside
-- this file). The phone is found through a keyed hash (HMAC), never a plain phone column.

CREATE TABLE members (
  id TEXT PRIMARY KEY,                          -- UUIDv7, global across stores
  card_no TEXT NOT NULL UNIQUE,                 -- printed on the member card as SHM-<card_no>
  phone_hash TEXT,                              -- <key id>:HMAC-SHA256 of the E.164 phone; NULL for a member another store enrolled
  phone_masked TEXT NOT NULL,                   -- 138****5678
  phone_enc TEXT,                               -- pii1:<key id>:<AES-GCM> of the E.164 phone
  name_enc TEXT,
  birthday_enc TEXT,                            -- YYYY-MM-DD, encrypted
  birthday_month INTEGER CHECK (birthday_month BETWEEN 1 AND 12),
  tier TEXT NOT NULL,
  tier_since TEXT NOT NULL,
  home_store TEXT NOT NULL,                     -- the store that enrolled the member
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','erased')),
  enrolled_at TEXT NOT NULL,
  enrolled_by TEXT NOT NULL
);
CREATE UNIQUE INDEX members_phone ON members(phone_hash) WHERE phone_hash IS NOT NULL;

-- Consent as given: purpose, terms version, time, who recorded it. Append-only.
CREATE TABLE member_consents (
  id TEXT PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members(id),
  purpose TEXT NOT NULL,
  terms_version TEXT NOT NULL,
  granted INTEGER NOT NULL CHECK (granted IN (0,1)),
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  device TEXT
);
CREATE INDEX member_consents_member ON member_consents(member_id, at);

CREATE TABLE member_tier_history (
  id TEXT PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members(id),
  from_tier TEXT,
  to_tier TEXT NOT NULL,
  reason TEXT NOT NULL,                         -- enrol | upgrade | period_end | central
  spend_12m_minor INTEGER,
  at TEXT NOT NULL,
  actor TEXT NOT NULL
);
CREATE INDEX member_tier_history_member ON member_tier_history(member_id, at);

-- The points ledger of this store: append-only; the balance is a fold of it (plus the central's figure).
CREATE TABLE points_entries (
  id TEXT PRIMARY KEY,                          -- UUIDv7: merged at the central by this id
  member_id TEXT NOT NULL REFERENCES members(id),
  kind TEXT NOT NULL CHECK (kind IN ('earn','burn','adjust','reverse')),
  points INTEGER NOT NULL,                      -- signed: earn > 0, burn < 0
  spend_minor INTEGER NOT NULL DEFAULT 0,       -- net paid that earned (negative on a return): drives tiers
  ref TEXT,                                     -- sale id, burn reference, return id
  lot_id TEXT,                                  -- the earn entry a reversal takes back
  reason TEXT,
  approver TEXT,
  store_id TEXT NOT NULL,
  at TEXT NOT NULL,
  actor TEXT NOT NULL
);
CREATE INDEX points_entries_member ON points_entries(member_id, at);
CREATE UNIQUE INDEX points_entries_ref ON points_entries(kind, ref, member_id) WHERE ref IS NOT NULL;
CREATE TRIGGER points_entries_no_update BEFORE UPDATE ON points_entries
BEGIN SELECT RAISE(ABORT, 'points_entries is append-only'); END;
CREATE TRIGGER points_entries_no_delete BEFORE DELETE ON points_entries
BEGIN SELECT RAISE(ABORT, 'points_entries is append-only'); END;

-- The projection: this store's own sum, and the central's figures as of the last downlink.
CREATE TABLE member_points (
  member_id TEXT PRIMARY KEY REFERENCES members(id),
  local_points INTEGER NOT NULL DEFAULT 0,      -- sum of this store's entries
  local_entries INTEGER NOT NULL DEFAULT 0,
  central_balance INTEGER NOT NULL DEFAULT 0,   -- the chain-wide balance the central last sent
  central_mine INTEGER NOT NULL DEFAULT 0,      -- this store's part of it (entries the central had merged)
  central_spend_12m INTEGER NOT NULL DEFAULT 0,
  central_mine_spend_12m INTEGER NOT NULL DEFAULT 0,
  central_version INTEGER NOT NULL DEFAULT 0,
  central_at TEXT
);

-- Dynamic member codes already used (single use within their window); rows past expiry are pruned.
CREATE TABLE member_code_uses (
  nonce TEXT PRIMARY KEY,
  member_id TEXT NOT NULL,
  used_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);

-- The member a till's cart is for (the till scans the card or dynamic code, or keys the phone).
CREATE TABLE member_carts (
  cart_id TEXT PRIMARY KEY,
  member_id TEXT NOT NULL REFERENCES members(id),
  attached_at TEXT NOT NULL,
  actor TEXT NOT NULL
);

-- Scheduled jobs' last completed period (the period-end tier review runs once per period).
CREATE TABLE member_jobs (
  name TEXT PRIMARY KEY,
  last_period TEXT NOT NULL,
  ran_at TEXT NOT NULL
);

-- Store certificates: handhelds and tills seen over HTTPS, i.e. enrolled with the store CA (this domain owns
-- numbers 0100-0199). One row per device and CA: a device enrolled again after the CA was replaced is a new row.
CREATE TABLE pki_enrolments (
  device_id TEXT NOT NULL,
  ca_fingerprint TEXT NOT NULL,
  enrolled_at TEXT NOT NULL,
  user_agent TEXT,
  address TEXT,
  PRIMARY KEY (device_id, ca_fingerprint)
);
CREATE INDEX pki_enrolments_at ON pki_enrolments(enrolled_at);

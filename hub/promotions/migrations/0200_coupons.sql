-- Single-use coupon codes head office issued and the downlink delivered (kind ``coupon``, hub/promotions/coupons.py).
-- A code unlocks one promotion once across all stores; redeemed_sale_id is set in the sale's own transaction.
CREATE TABLE coupon_codes (
  code TEXT PRIMARY KEY,
  promotion_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  member_id TEXT,
  offline_ok INTEGER NOT NULL DEFAULT 0 CHECK (offline_ok IN (0, 1)),
  issuer_store TEXT,
  received_at TEXT NOT NULL,
  redeemed_sale_id TEXT,
  redeemed_at TEXT,
  redeemed_online INTEGER CHECK (redeemed_online IN (0, 1))
);
CREATE INDEX coupon_codes_batch ON coupon_codes(batch_id);

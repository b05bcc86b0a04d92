-- Coupon codes entered into a till's cart (hub/promotions/coupons.py add_to_cart), and the central's answer to the
-- reservation the hub asked for at tender (reserved 1 / refused 0 with its reason; NULL: not asked or offline).
CREATE TABLE coupon_carts (
  cart_id TEXT NOT NULL,
  code TEXT NOT NULL,
  promotion_id TEXT NOT NULL,
  added_by TEXT NOT NULL,
  added_at TEXT NOT NULL,
  reserved INTEGER CHECK (reserved IN (0, 1)),
  reason TEXT,
  PRIMARY KEY (cart_id, code)
);

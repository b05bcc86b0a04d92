-- What the till asked the customer to do before a tender exists (show the payment code, present the card):
-- kept on the hub so the customer display follows it over the live channel (docs/checkout.md, "Customer display").
CREATE TABLE checkout_tender_prompts (
  till_id TEXT PRIMARY KEY,
  cart_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('payment_code','card')),
  amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
  actor TEXT NOT NULL,
  at TEXT NOT NULL
);

-- Integrated card terminals and points as a tender (docs/checkout.md, "Card terminal", "Points").
ALTER TABLE checkout_tenders ADD COLUMN card_scheme TEXT;      -- UNIONPAY, VISA … as the terminal said
ALTER TABLE checkout_tenders ADD COLUMN terminal_batch TEXT;   -- the terminal's batch number
ALTER TABLE checkout_tenders ADD COLUMN points INTEGER;        -- points burnt (in) or given back (out)
ALTER TABLE checkout_tenders ADD COLUMN member_id TEXT;        -- whose points

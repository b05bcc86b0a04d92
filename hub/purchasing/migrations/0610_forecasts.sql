-- Demand forecasts sent down by the central (sync/central/forecast.py, downlink kind ``forecast``), one row per
-- item: the forecast's first day (the central's "today"), the units per day from then on, the model that made
-- it. Replenishment uses it for the lead time while it is fresh (hub/purchasing/replenish.py).
CREATE TABLE item_forecasts (
  item_id TEXT PRIMARY KEY,
  sku TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL,
  start_day TEXT NOT NULL,                   -- YYYY-MM-DD, daily[0] is this day's demand
  daily TEXT NOT NULL,                       -- JSON array of units per day (non-negative numbers)
  made_at TEXT NOT NULL,
  downlink_version INTEGER NOT NULL,
  received_at TEXT NOT NULL
);

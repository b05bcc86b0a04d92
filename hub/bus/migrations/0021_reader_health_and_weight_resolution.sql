-- Weights at the scale's own resolution, and fixed readers' radio / antenna / clock health in the registry.

-- The stable weight in milligrams as the scale reported it (grams stays: whole grams, for what counts in
-- grams); NULL for a reading from an agent that sent whole grams only.
ALTER TABLE scale_weights ADD COLUMN mg INTEGER;
ALTER TABLE scale_weights ADD COLUMN tare_mg INTEGER;

-- A reader's radio status as its heartbeat says it (e.g. connected / disconnected), its antenna ports'
-- connection states (JSON object {"<port>": "connected"|"disconnected"}), and how far the reader's clock is
-- from the hub's (ms, reader minus hub; NULL while within the tolerance).
ALTER TABLE devices ADD COLUMN radio TEXT;
ALTER TABLE devices ADD COLUMN antennas TEXT;
ALTER TABLE devices ADD COLUMN clock_skew_ms INTEGER;

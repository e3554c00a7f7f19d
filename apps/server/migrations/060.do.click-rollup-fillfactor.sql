-- Click rollups are updated in place all day long (clicks = clicks + n). Free room in every page
-- lets PostgreSQL write the new row version into the same page without touching the indexes
-- (a HOT update: no indexed column changes), which roughly halves the cost of a counter upsert.
-- Applies to pages written from now on.
ALTER TABLE click_hourly SET (fillfactor = 70);
ALTER TABLE click_daily SET (fillfactor = 70);
ALTER TABLE click_dims SET (fillfactor = 70);
ALTER TABLE workspace_daily SET (fillfactor = 70);

-- Raw clicks are read only by exports, which page by (txid, seq) (clicks_export) and filter a
-- link inside those pages; the analytics read side answers from the rollups. The index on
-- (link_id, clicked_at) served no query and cost every click insert one more index entry.
DROP INDEX IF EXISTS clicks_link_time;

-- Staged sensor readings: one row per (station, ts) (the first file wins), null timestamps dropped.
-- Resampling, bounded interpolation and gap splitting happen in the windowing step (polars/numpy).
SELECT *
FROM raw.sensor
WHERE ts IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY station, ts ORDER BY source_file) = 1

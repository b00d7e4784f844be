-- Staged API / application events: one row per day and event id (first by ts), normalised method, service
-- and status class; the original record is kept for the anomaly export.
-- Dedup keyed by (day, event_id), like stg_conn's (day, uid): an incremental build reads only the requested
-- days, so a wider key would make the rows depend on how days were grouped into runs. An event id repeated
-- on two days keeps one row on each.
SELECT
    event_id,
    ts,
    nullif(trim(client_ip), '') AS client_ip,
    nullif(trim(user_name), '') AS user_name,
    upper(trim(method)) AS method,
    path,
    coalesce(query, '') AS query,
    coalesce(body, '') AS body,
    status,
    CASE WHEN status IS NULL THEN 'unknown' ELSE concat(CAST(status // 100 AS VARCHAR), 'xx') END AS status_class,
    coalesce(user_agent, '') AS user_agent,
    duration_ms,
    lower(trim(service)) AS service,
    label,
    attack_type,
    raw_record,
    source_file,
    day
FROM raw.events
WHERE ts IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY day, event_id ORDER BY ts, source_file) = 1 OR event_id IS NULL

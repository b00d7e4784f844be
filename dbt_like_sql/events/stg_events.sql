-- Staged API / application events: one row per day and event id (first by ts), normalised method, service
-- and status class; the original record is kept for the anomaly export.
-- Dedup keyed by (day, event_id), like stg_conn's (day, uid): an incremental build reads only the requested
-- days, so a wider key would make the rows depend on how days were grouped into runs. An event id repeated
-- on two days keeps one row on each. As in stg_conn, only the (day, event_id) keys seen more than once go
-- through the row_number() window, so the window does not sort every event with its original record.
WITH duplicated AS (
    SELECT day, event_id
    FROM raw.events
    WHERE ts IS NOT NULL AND event_id IS NOT NULL
    GROUP BY day, event_id
    HAVING count(*) > 1
),

deduped AS (
    SELECT e.* FROM raw.events AS e
    ANTI JOIN duplicated AS d ON e.day = d.day AND e.event_id = d.event_id
    WHERE e.ts IS NOT NULL
    UNION ALL
    SELECT e.* FROM raw.events AS e
    SEMI JOIN duplicated AS d ON e.day = d.day AND e.event_id = d.event_id
    WHERE e.ts IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY e.day, e.event_id ORDER BY e.ts, e.source_file) = 1
)

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
FROM deduped

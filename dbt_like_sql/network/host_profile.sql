-- One row per source host over all days: activity span, fan-out and its most used service (alert evidence).
WITH per_host AS (
    SELECT
        orig_h,
        min(ts) AS first_seen,
        max(ts) AS last_seen,
        count(DISTINCT day) AS active_days,
        count(*) AS connections,
        count(DISTINCT resp_h) AS distinct_destinations,
        count(DISTINCT resp_p) AS distinct_dest_ports,
        sum(total_bytes) AS total_bytes,
        avg(CAST(is_failed AS DOUBLE)) AS failed_share,
        count(*) FILTER (WHERE label = 1) AS malicious_connections
    FROM stg_conn
    GROUP BY orig_h
),

service_counts AS (
    SELECT
        orig_h,
        service,
        count(*) AS service_connections,
        row_number() OVER (PARTITION BY orig_h ORDER BY count(*) DESC, service) AS service_rank
    FROM stg_conn
    WHERE service IS NOT NULL
    GROUP BY orig_h, service
)

SELECT
    p.*,
    s.service AS top_service,
    coalesce(s.service_connections, 0) AS top_service_connections
FROM per_host AS p
LEFT JOIN service_counts AS s
    ON p.orig_h = s.orig_h AND s.service_rank = 1
ORDER BY p.orig_h

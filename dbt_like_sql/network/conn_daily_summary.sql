-- One row per day: traffic volume, host diversity, failure and malicious shares.
SELECT
    day,
    count(*) AS connections,
    count(DISTINCT orig_h) AS source_hosts,
    count(DISTINCT resp_h) AS destination_hosts,
    sum(total_bytes) AS total_bytes,
    avg(CAST(is_failed AS DOUBLE)) AS failed_share,
    count(label) AS labelled_connections,
    avg(CAST(label AS DOUBLE)) AS malicious_share,
    min(ts) AS first_ts,
    max(ts) AS last_ts
FROM stg_conn
GROUP BY day
ORDER BY day

"""Canonical column layouts shared by parsers, SQL models, features and scoring.

The Zeek ``conn.log`` layout is normalised to these names (``id.orig_h`` -> ``orig_h``),
whatever the source format (Zeek TSV / JSON, CSV, Parquet, IoT-23 labelled logs or the
synthetic generator).
"""

from __future__ import annotations

# Zeek field name -> canonical name. Fields not listed are ignored (and reported).
ZEEK_CONN_FIELD_MAP: dict[str, str] = {
    "ts": "ts",
    "uid": "uid",
    "id.orig_h": "orig_h",
    "id.orig_p": "orig_p",
    "id.resp_h": "resp_h",
    "id.resp_p": "resp_p",
    "proto": "proto",
    "service": "service",
    "duration": "duration",
    "orig_bytes": "orig_bytes",
    "resp_bytes": "resp_bytes",
    "conn_state": "conn_state",
    "missed_bytes": "missed_bytes",
    "history": "history",
    "orig_pkts": "orig_pkts",
    "orig_ip_bytes": "orig_ip_bytes",
    "resp_pkts": "resp_pkts",
    "resp_ip_bytes": "resp_ip_bytes",
    "label": "label",
    "detailed-label": "attack_type",
    "detailed_label": "attack_type",
    "attack_type": "attack_type",
}

# Canonical raw conn columns and their DuckDB types (the ``raw_conn`` table layout).
# ``label``: 1 malicious, 0 benign, NULL unknown. ``attack_type``: detailed label, NULL if benign/unknown.
CONN_COLUMNS: dict[str, str] = {
    "ts": "TIMESTAMP",
    "uid": "VARCHAR",
    "orig_h": "VARCHAR",
    "orig_p": "INTEGER",
    "resp_h": "VARCHAR",
    "resp_p": "INTEGER",
    "proto": "VARCHAR",
    "service": "VARCHAR",
    "duration": "DOUBLE",
    "orig_bytes": "BIGINT",
    "resp_bytes": "BIGINT",
    "conn_state": "VARCHAR",
    "missed_bytes": "BIGINT",
    "history": "VARCHAR",
    "orig_pkts": "BIGINT",
    "orig_ip_bytes": "BIGINT",
    "resp_pkts": "BIGINT",
    "resp_ip_bytes": "BIGINT",
    "label": "TINYINT",
    "attack_type": "VARCHAR",
}

# Storage of ``raw_conn`` columns that DuckDB's compression hardly shrinks: Zeek uids are random base62
# strings, so analysing them for dictionary/FSST compression saved little and cost about 30 % of the CPU
# time of writing the 10M-row benchmark partition (docs/benchmarks.md); stored plain, the table is 9 % larger.
RAW_CONN_COMPRESSION: dict[str, str] = {"uid": "uncompressed"}

# Fields a conn log must carry to be usable at all; a file lacking any is rejected whole.
REQUIRED_CONN_FIELDS: tuple[str, ...] = ("ts", "orig_h", "resp_h", "resp_p", "proto")

# Provenance columns added by every loader.
PROVENANCE_COLUMNS: dict[str, str] = {"day": "DATE", "source_file": "VARCHAR"}

# Rejects table layout, shared by every dataset kind.
REJECT_COLUMNS: dict[str, str] = {
    "dataset": "VARCHAR",
    "source_file": "VARCHAR",
    "line_number": "BIGINT",
    "reason": "VARCHAR",
    "raw_record": "VARCHAR",
    "run_id": "VARCHAR",
    "rejected_at": "TIMESTAMP",
}

# Zeek conn states that mean the connection failed or was rejected.
FAILED_CONN_STATES: frozenset[str] = frozenset({"REJ", "S0", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"})
REJECTED_CONN_STATES: frozenset[str] = frozenset({"REJ", "RSTO", "RSTR", "RSTOS0", "RSTRH"})

# Sensor series: columns the reader (ts, label, source_file), the ingest (station, day), the regularised series
# (segment) and the synthetic pump (event_type) use; a value column of that name would be overwritten or dropped.
RESERVED_SENSOR_COLUMNS: frozenset[str] = frozenset(
    {"ts", "label", "source_file", "station", "day", "segment", "event_type"}
)

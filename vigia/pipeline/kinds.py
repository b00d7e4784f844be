"""What differs between dataset kinds: source tables, ingest, features and alert evidence.

Everything after the feature table (detectors, thresholds, evaluation, champion, scores, alerts, drift)
is shared by every kind: it only needs a window table with ``window_start``, ``window_end``, ``day``, the
entity column, numeric feature columns and optional ``label`` / ``attack_type``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from vigia.config import DatasetConfig

KEY_COLUMNS = frozenset({"window_start", "window_end", "day", "label", "n_malicious", "attack_type", "event_id"})


@dataclass(frozen=True)
class KindSpec:
    """Tables and functions of one dataset kind."""

    raw_table: str
    clean_table: str
    ingest: Callable[[duckdb.DuckDBPyConnection, DatasetConfig, list[str], str], Any]
    materialize_features: Callable[..., Any]  # (con, cfg, days, before_commit=None): see replace_partitions
    evidence_columns: tuple[str, ...]


def _network() -> KindSpec:
    from vigia.pipeline.alerts import EVIDENCE_COLUMNS
    from vigia.pipeline.features import materialize_features
    from vigia.pipeline.ingest import ingest_conn

    return KindSpec("raw_conn", "stg_conn", ingest_conn, materialize_features, EVIDENCE_COLUMNS)


def _sensor() -> KindSpec:
    from vigia.pipeline.sensor_features import materialize_sensor_windows
    from vigia.pipeline.sensor_ingest import SENSOR_EVIDENCE_COLUMNS, ingest_sensors

    return KindSpec("raw_sensor", "stg_sensor", ingest_sensors, materialize_sensor_windows, SENSOR_EVIDENCE_COLUMNS)


def _events() -> KindSpec:
    from vigia.pipeline.event_features import materialize_event_features
    from vigia.pipeline.events_ingest import EVENT_EVIDENCE_COLUMNS, ingest_events

    return KindSpec("raw_events", "stg_events", ingest_events, materialize_event_features, EVENT_EVIDENCE_COLUMNS)


_KINDS: dict[str, Callable[[], KindSpec]] = {
    "network_conn": _network,
    "sensor_timeseries": _sensor,
    "api_events": _events,
}
RAW_TABLES = {"network_conn": "raw_conn", "sensor_timeseries": "raw_sensor", "api_events": "raw_events"}
CLEAN_TABLES = {"network_conn": "stg_conn", "sensor_timeseries": "stg_sensor", "api_events": "stg_events"}


def kind_spec(cfg: DatasetConfig) -> KindSpec:
    """The spec of ``cfg.kind`` (imports its modules lazily)."""
    return _KINDS[cfg.kind]()


def feature_columns(frame: pl.DataFrame, entity_key: str) -> list[str]:
    """Model features of a window table: every numeric column that is not a key, label or the entity."""
    return [
        name
        for name, dtype in frame.schema.items()
        if name not in KEY_COLUMNS and name != entity_key and dtype.is_numeric()
    ]

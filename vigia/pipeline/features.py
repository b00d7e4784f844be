"""Windowed per-host features from the cleaned conn table, stored in ``<dataset>.window_features``."""

from __future__ import annotations

import time
from dataclasses import dataclass

import duckdb
import polars as pl

from vigia.config import DatasetConfig
from vigia.features.conn_windows import CONN_FEATURE_COLUMNS, build_conn_features
from vigia.warehouse.duck import read_frame, replace_partitions, table_exists

CLEAN_TABLE = "stg_conn"
FEATURES_TABLE = "window_features"


@dataclass
class FeatureResult:
    windows: int
    connections: int
    windows_by_day: dict[str, int]
    malicious_windows: int | None
    seconds: float


def read_clean_conn(con: duckdb.DuckDBPyConnection, dataset: str, partition_keys: list[str] | None) -> pl.DataFrame:
    return read_frame(con, dataset, CLEAN_TABLE, partition_column="day", keys=partition_keys)


def compute_features(conn: pl.DataFrame, cfg: DatasetConfig) -> pl.DataFrame:
    """Build the per-entity window features for a frame of cleaned connections."""
    return build_conn_features(
        conn.lazy(),
        window_seconds=cfg.window.size_seconds,
        step_seconds=cfg.window.step_seconds,
        entity=cfg.entity_key,
        time_col=cfg.time_column,
        label_col=cfg.label_column or "label",
    ).collect()


def materialize_features(
    con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, partition_keys: list[str]
) -> FeatureResult:
    """Compute features for the given days and swap them into ``window_features`` atomically."""
    start = time.perf_counter()
    conn = read_clean_conn(con, cfg.name, partition_keys)
    if conn.height == 0:
        raise ValueError(f"no cleaned connections in {cfg.name}.{CLEAN_TABLE} for partitions {partition_keys}")
    features = compute_features(conn, cfg)
    con.register("__vigia_features", features.to_arrow())
    try:
        written = replace_partitions(
            con, cfg.name, FEATURES_TABLE, "day", partition_keys, "SELECT * FROM __vigia_features"
        )
    finally:
        con.unregister("__vigia_features")
    by_day = features.group_by("day").len().sort("day")
    malicious = int(features["label"].fill_null(0).sum()) if features["label"].null_count() < features.height else None
    return FeatureResult(
        windows=written,
        connections=conn.height,
        windows_by_day={str(d): int(n) for d, n in by_day.iter_rows()},
        malicious_windows=malicious,
        seconds=time.perf_counter() - start,
    )


def load_features(
    con: duckdb.DuckDBPyConnection, dataset: str, partition_keys: list[str] | None = None
) -> pl.DataFrame:
    """All stored feature windows (optionally for some days), ordered by time."""
    if not table_exists(con, dataset, FEATURES_TABLE):
        raise ValueError(f"{dataset}.{FEATURES_TABLE} does not exist: materialize the window features first")
    return read_frame(
        con, dataset, FEATURES_TABLE, partition_column="day", keys=partition_keys, order_by="window_start"
    )


__all__ = ["CONN_FEATURE_COLUMNS", "FeatureResult", "compute_features", "load_features", "materialize_features"]

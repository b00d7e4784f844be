"""Per-event feature table of the API-events kind.

Encoders (frequency of categories and string shapes) are fitted on the training period only: the first
``split.train`` share of the configured days, once, and kept in ``data/models/<dataset>/encoders.joblib``
so every partition is encoded the same way (delete the file to refit). Unknown categories fall in an
"unknown" bucket. Each event is a row: entity = ``client_ip``, ``window_start`` = its timestamp. The
feature columns are the same for every day: the client-window statistics are always computed (``stg_events``
always has ``ts`` and ``client_ip``); an event without a client IP is a client of its own.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl

from vigia.config import DatasetConfig
from vigia.events.features import EventEncoders, event_features, fit_event_encoders
from vigia.paths import data_dir
from vigia.pipeline.features import FEATURES_TABLE, FeatureResult
from vigia.warehouse.duck import read_frame, write_frame_partitions

CLEAN_TABLE = "stg_events"
ENCODERS_FILE = "encoders.joblib"


def training_days(cfg: DatasetConfig) -> list[str]:
    days = cfg.partitions.days()
    return [d.isoformat() for d in days[: max(1, math.ceil(len(days) * cfg.split.train))]]


def encoders_for(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, models_dir: Path | None = None) -> EventEncoders:
    """The dataset's encoders: loaded when fitted before, else fitted on the training days and saved."""
    models_dir = models_dir or data_dir() / "models" / cfg.name
    path = models_dir / ENCODERS_FILE
    if path.exists():
        return EventEncoders.load(path)
    train = read_frame(con, cfg.name, CLEAN_TABLE, partition_column="day", keys=training_days(cfg))
    if train.height == 0:
        raise ValueError(f"no events of the training days {training_days(cfg)} to fit the encoders: ingest them first")
    encoders = fit_event_encoders(train.filter(pl.col("label").fill_null(0) == 0))
    models_dir.mkdir(parents=True, exist_ok=True)
    encoders.save(path)
    return encoders


def materialize_event_features(
    con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, partition_keys: list[str]
) -> FeatureResult:
    start = time.perf_counter()
    events = read_frame(con, cfg.name, CLEAN_TABLE, partition_column="day", keys=partition_keys)
    if events.height == 0:
        raise ValueError(f"no events in {cfg.name}.{CLEAN_TABLE} for partitions {partition_keys}")
    encoders = encoders_for(con, cfg)
    feats = event_features(events, encoders, windows=True)  # never per batch: one column set per dataset
    if cfg.entity_key != "client_ip":
        feats = feats.rename({"client_ip": cfg.entity_key})
    table = feats.with_columns(
        pl.col("ts").alias("window_start"),
        (pl.col("ts") + timedelta(microseconds=1)).alias("window_end"),
        pl.col("ts").dt.date().alias("day"),
    ).drop("ts")
    written = write_frame_partitions(con, cfg.name, FEATURES_TABLE, table, partition_keys)
    labelled = "label" in table.columns and table["label"].null_count() < table.height
    return FeatureResult(
        windows=written,
        connections=events.height,
        windows_by_day={str(d): int(n) for d, n in table.group_by("day").len().sort("day").iter_rows()},
        malicious_windows=int(table["label"].fill_null(0).sum()) if labelled else None,
        seconds=time.perf_counter() - start,
        engine="polars",
    )

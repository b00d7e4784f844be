"""Per-event feature table of the API-events kind.

Encoders (frequency of categories and string shapes) are fitted on the training period only: the normal events
(labels of ``label_windows`` when set) of the first ``split.train`` share of the configured days that have rows,
and kept in ``data/models/<dataset>/encoders.joblib`` with those days, so every partition is encoded the same
way (delete the file to refit). When training days without rows at fitting time have rows later (a first run
of one day, then the backfill), the encoders are refitted and the result says so: the partitions built with the
older encoders should be re-materialized. The training days are fixed at the first fit (kept in the file): with an
open-ended ``partitions`` the configured days grow daily, and the new days never join the training set. Unknown
categories fall in an "unknown" bucket. Each event is a row: entity = ``client_ip``, ``window_start`` = its
timestamp. The feature columns are the same for every day: the client-window statistics are always computed
(``stg_events`` always has ``ts`` and ``client_ip``); an event without a client IP is a client of its own.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from vigia.config import DatasetConfig
from vigia.events.features import EventEncoders, event_features, fit_event_encoders
from vigia.paths import data_dir
from vigia.pipeline.features import FEATURES_TABLE, FeatureResult
from vigia.pipeline.label_windows import label_frame, read_label_windows
from vigia.warehouse.duck import (
    BeforeCommit,
    column_type,
    partition_predicate,
    qualified,
    read_frame,
    table_exists,
    write_frame_partitions,
)

log = logging.getLogger(__name__)

CLEAN_TABLE = "stg_events"
ENCODERS_FILE = "encoders.joblib"


def training_days(cfg: DatasetConfig) -> list[str]:
    """The first ``split.train`` share of the configured days (as of today when ``partitions`` has no end)."""
    days = cfg.partitions.days()
    return [d.isoformat() for d in days[: max(1, math.ceil(len(days) * cfg.split.train))]]


@dataclass
class EncoderFit:
    """The encoders a run used, and whether it (re)fitted them; ``previous_days``: the refitted encoders' days
    (``None``: not refitted; ``[]``: a file saved before the days were recorded)."""

    encoders: EventEncoders
    fitted_now: bool = False
    previous_days: list[str] | None = None


@dataclass
class EventFeatureResult(FeatureResult):
    encoders: dict[str, Any] = field(default_factory=dict)  # what encoders_fit did (fitted days, refit note)


def _days(con: duckdb.DuckDBPyConnection, schema: str, table: str, where: str = "TRUE") -> list[str]:
    """The days (ISO) of ``table``'s rows matching ``where``."""
    sql = f"SELECT DISTINCT strftime(CAST(day AS DATE), '%Y-%m-%d') FROM {qualified(schema, table)} WHERE {where}"
    return sorted(str(r[0]) for r in con.execute(sql).fetchall())


def _days_with_rows(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, days: list[str]) -> list[str]:
    return _days(
        con, cfg.name, CLEAN_TABLE, partition_predicate("day", days, column_type(con, cfg.name, CLEAN_TABLE, "day"))
    )


def _normal_training_events(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, days: list[str]) -> pl.DataFrame:
    """The events of ``days`` labelled normal, by ``label_windows`` when set (as the feature rows are)."""
    train = read_frame(con, cfg.name, CLEAN_TABLE, partition_column="day", keys=days)
    if cfg.label_windows and train.height:
        train = label_frame(train, read_label_windows(cfg.label_windows), entity_column="client_ip")
    return train.filter(pl.col("label").fill_null(0) == 0) if "label" in train.columns else train


def encoders_fit(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, models_dir: Path | None = None) -> EncoderFit:
    """The dataset's encoders: the saved ones while no training day without rows at their fit has rows now, else
    (re)fitted on the normal events of the training days with rows, and saved. The training days are those of the
    first fit (files saved before they were recorded, open-ended partitions: the configured ones up to the last
    fitted day)."""
    models_dir = models_dir or data_dir() / "models" / cfg.name
    path = models_dir / ENCODERS_FILE
    previous = EventEncoders.load(path) if path.exists() else None
    days = training_days(cfg)
    if previous is not None and previous.training_days is not None:
        days = previous.training_days
    elif previous is not None and previous.fitted_days and cfg.partitions.end is None:
        days = [d for d in days if d <= max(previous.fitted_days)]
    present = _days_with_rows(con, cfg, days)
    train = None
    if previous is not None:
        if previous.fitted_days is not None:
            if not set(present) - set(previous.fitted_days):
                return EncoderFit(previous)
        else:  # saved before the days were recorded: refitted only when the training days now hold more events
            train = _normal_training_events(con, cfg, present)
            if train.height <= previous.n_train:
                if present:  # the same events: record their days
                    previous.fitted_days, previous.training_days = present, days
                    previous.save(path)
                return EncoderFit(previous)
    if not present:
        raise ValueError(f"no events of the training days {days} to fit the encoders: ingest them first")
    train = _normal_training_events(con, cfg, present) if train is None else train
    encoders = fit_event_encoders(train)
    encoders.fitted_days, encoders.training_days = present, days
    encoders.save(path)
    return EncoderFit(
        encoders, fitted_now=True, previous_days=None if previous is None else list(previous.fitted_days or [])
    )


def encoders_for(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, models_dir: Path | None = None) -> EventEncoders:
    """The dataset's encoders (see :func:`encoders_fit`)."""
    return encoders_fit(con, cfg, models_dir).encoders


def _encoder_metadata(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, fit: EncoderFit, keys: list[str]) -> dict:
    out: dict[str, Any] = {"fitted_days": fit.encoders.fitted_days, "n_train": fit.encoders.n_train,
                           "fitted_now": fit.fitted_now, "refitted": fit.previous_days is not None}  # fmt: skip
    if fit.previous_days is None:
        return out
    stale: list[str] = []
    if table_exists(con, cfg.name, FEATURES_TABLE):
        stale = [d for d in _days(con, cfg.name, FEATURES_TABLE) if d not in keys]
    before = fit.previous_days or "days not recorded"
    out["rematerialize_days"] = stale
    out["note"] = (
        f"encoders refitted on the training days {fit.encoders.fitted_days} (before: {before}): the partitions "
        f"built with the older encoders should be re-materialized ({FEATURES_TABLE} of {stale or 'no other day'}), "
        "then the detectors retrained"
    )
    log.warning("%s: %s", cfg.name, out["note"])
    return out


def materialize_event_features(
    con: duckdb.DuckDBPyConnection,
    cfg: DatasetConfig,
    partition_keys: list[str],
    before_commit: BeforeCommit | None = None,
) -> FeatureResult:
    start = time.perf_counter()
    events = read_frame(con, cfg.name, CLEAN_TABLE, partition_column="day", keys=partition_keys)
    if events.height == 0:
        raise ValueError(f"no events in {cfg.name}.{CLEAN_TABLE} for partitions {partition_keys}")
    fit = encoders_fit(con, cfg)
    encoders = fit.encoders
    feats = event_features(events, encoders, windows=True)  # never per batch: one column set per dataset
    if cfg.entity_key != "client_ip":
        feats = feats.rename({"client_ip": cfg.entity_key})
    table = feats.with_columns(
        pl.col("ts").alias("window_start"),
        (pl.col("ts") + timedelta(microseconds=1)).alias("window_end"),
        pl.col("ts").dt.date().alias("day"),
    ).drop("ts")
    meta = _encoder_metadata(con, cfg, fit, partition_keys)  # before writing: which days the older encoders built
    written = write_frame_partitions(
        con, cfg.name, FEATURES_TABLE, table, partition_keys, before_commit=before_commit
    )
    labelled = "label" in table.columns and table["label"].null_count() < table.height
    return EventFeatureResult(
        windows=written,
        connections=events.height,
        windows_by_day={str(d): int(n) for d, n in table.group_by("day").len().sort("day").iter_rows()},
        malicious_windows=int(table["label"].fill_null(0).sum()) if labelled else None,
        seconds=time.perf_counter() - start,
        engine="polars",
        encoders=meta,
    )

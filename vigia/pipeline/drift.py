"""Drift glue: the training reference of a model version and the report of one scored day."""

from __future__ import annotations

import polars as pl

from vigia.config import DatasetConfig
from vigia.monitoring import DriftReport, dataset_drift
from vigia.pipeline.training import split_frame

HISTORY_TABLE = "drift_history"


def training_reference(features: pl.DataFrame, cfg: DatasetConfig, feature_columns: list[str]) -> pl.DataFrame:
    """The windows the detectors were fitted on (training period, normal windows when labelled)."""
    train = split_frame(features, cfg)["train"]
    if "label" in train.columns and train["label"].null_count() < train.height:
        train = train.filter(pl.col("label").fill_null(0) == 0)
    return train.select(feature_columns)


def monitored_view(windows: pl.DataFrame, cfg: DatasetConfig) -> pl.DataFrame:
    """The features drift is measured on.

    Network windows: every model feature. Sensor windows: one column per sensor with the readings of all
    time steps stacked (``flow_in__t00`` .. ``flow_in__t29`` -> ``flow_in``): the same values the model saw,
    without counting each reading once per overlapping window position as a separate "feature".
    """
    if cfg.kind != "sensor_timeseries":
        return windows
    sensors: dict[str, list[str]] = {}
    for column in windows.columns:
        sensor, sep, _ = column.rpartition("__t")
        if sep:
            sensors.setdefault(sensor, []).append(column)
    return pl.DataFrame({s: pl.concat([windows[c] for c in cols]) for s, cols in sensors.items()})


def day_drift(reference: pl.DataFrame, current: pl.DataFrame, cfg: DatasetConfig) -> DriftReport:
    """Drift of one day's windows against the champion's training reference (the README's definition)."""
    ref = monitored_view(reference, cfg)
    return dataset_drift(ref, monitored_view(current.select(reference.columns), cfg), threshold=cfg.drift.threshold)


def history_row(report: DriftReport, day: str, model_version: str, run_id: str) -> dict[str, object]:
    return {
        "day": day,
        "drift_score": float(report.score),
        "threshold": float(report.threshold),
        "drifted": bool(report.drifted),
        "n_features": report.n_features,
        "n_drifted": report.n_drifted,
        "drifted_features": ",".join(report.drifted_features),
        "model_version": model_version,
        "run_id": run_id,
        "created_at": report.created_at,
    }

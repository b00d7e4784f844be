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


def day_drift(reference: pl.DataFrame, current: pl.DataFrame, cfg: DatasetConfig) -> DriftReport:
    """Drift of one day's windows against the champion's training reference (the README's definition)."""
    return dataset_drift(reference, current.select(reference.columns), threshold=cfg.drift.threshold)


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

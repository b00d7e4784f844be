"""Drift glue: the training reference of a model version and the report of one scored day."""

from __future__ import annotations

import dataclasses
import math

import polars as pl

from vigia.config import DatasetConfig
from vigia.monitoring import DriftReport, dataset_drift
from vigia.pipeline.training import split_frame

HISTORY_TABLE = "drift_history"


def _training_windows(features: pl.DataFrame, cfg: DatasetConfig) -> pl.DataFrame:
    """The training windows the detectors are fitted on, as :func:`vigia.pipeline.training.train_models` picks
    them: those labelled 0 when any training label is known (unknown ones excluded), else all."""
    train = split_frame(features, cfg)["train"]
    if "label" in train.columns and train["label"].null_count() < train.height:
        train = train.filter(pl.col("label").fill_null(-1) == 0)
    return train


def training_reference(features: pl.DataFrame, cfg: DatasetConfig, feature_columns: list[str]) -> pl.DataFrame:
    """The windows the detectors were fitted on (training period, normal windows when labelled)."""
    return _training_windows(features, cfg).select(feature_columns)


def monitored_view(windows: pl.DataFrame, cfg: DatasetConfig, carry: str | None = None) -> pl.DataFrame:
    """The features drift is measured on (plus the ``carry`` column, aligned, when given).

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
    stacked = {s: pl.concat([windows[c] for c in cols]) for s, cols in sensors.items()}
    if carry is not None:
        steps = len(next(iter(sensors.values()), []))
        stacked[carry] = pl.concat([windows[carry]] * steps) if steps else windows[carry].clear()
    return pl.DataFrame(stacked)


def drift_calibration(features: pl.DataFrame, cfg: DatasetConfig, feature_columns: list[str]) -> dict[str, float]:
    """``drift.calibrate``: per monitored feature, the distance threshold the training days themselves stay
    within (:func:`vigia.monitoring.drift.calibrate_distance_thresholds`, one group per day)."""
    from vigia.monitoring.drift import calibrate_distance_thresholds

    train = _training_windows(features, cfg).select(*feature_columns, "day")
    view = monitored_view(train, cfg, carry="day")
    return calibrate_distance_thresholds(view.drop("day"), view["day"])


def day_drift(
    reference: pl.DataFrame, current: pl.DataFrame, cfg: DatasetConfig, calibrated: dict[str, float] | None = None
) -> DriftReport:
    """Drift of one day's windows against the champion's training reference (the README's definition);
    ``calibrated``: the version's per-feature thresholds (``drift.calibrate``)."""
    ref = monitored_view(reference, cfg)
    cur = monitored_view(current.select(reference.columns), cfg)
    report = dataset_drift(ref, cur, threshold=cfg.drift.threshold, calibrated=calibrated)
    if current.height >= cfg.drift.min_windows:
        return report
    # A day of a few windows (a capture that ends after midnight) says nothing about the population: its tests are
    # reported for information, none votes, the score is NaN and the drift sensor does not retrain on it.
    note = f"{current.height} window(s) on this day, fewer than drift.min_windows ({cfg.drift.min_windows}): not judged"
    features = [dataclasses.replace(f, evaluated=False, drifted=False, note=note) for f in report.features]
    return dataclasses.replace(report, score=math.nan, drifted=False, n_evaluated=0, n_drifted=0,
                               drifted_features=[], features=features)  # fmt: skip


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

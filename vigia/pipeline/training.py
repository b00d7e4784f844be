"""Train, calibrate, evaluate and apply a dataset's detectors on its window features.

Plain functions over polars frames, shared by the Dagster assets and the ``vigia bench`` CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from vigia.config import CONSENSUS_NAME, DatasetConfig
from vigia.models.calibration import ThresholdResult, calibrate
from vigia.models.detectors import FittedDetector, fit_detector, normalized_scores
from vigia.models.distinct import DistinctRows, distinct_rows
from vigia.models.evaluation import (
    agreeing_detectors,
    binary_metrics,
    consensus_flags,
    consensus_score,
    top_feature_json,
)
from vigia.models.preprocess import FeaturePreprocessor
from vigia.models.split import temporal_split

TIME_COLUMN = "window_start"
CONSENSUS = CONSENSUS_NAME


@dataclass
class ModelSet:
    """Everything needed to score new windows: preprocessing, fitted detectors, split boundaries."""

    dataset: str
    feature_columns: list[str]
    preprocessor: FeaturePreprocessor
    detectors: dict[str, FittedDetector]
    split_bounds: dict[str, str]
    n_rows: dict[str, int]
    labelled: bool
    trained_at: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evaluation:
    metrics: dict[str, dict[str, Any]]
    scores: dict[str, np.ndarray]
    labels: np.ndarray | None
    n_test: int
    classification_report: str = ""


def _labels(features: pl.DataFrame) -> np.ndarray | None:
    if "label" not in features.columns or features["label"].null_count() == features.height:
        return None
    return features["label"].fill_null(-1).to_numpy().astype(np.int64)


def feature_array(features: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """The ``columns`` as a float64 matrix in the column-major order polars gives (no row-major copy)."""
    return features.select(columns).to_numpy().astype(np.float64, copy=False)


def _matrix(features: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """:func:`feature_array` in row-major order, as the detectors are fitted on."""
    return np.ascontiguousarray(feature_array(features, columns))


def split_frame(features: pl.DataFrame, cfg: DatasetConfig) -> dict[str, pl.DataFrame]:
    """Temporal train/validation/test split of the feature windows (no shuffling across time)."""
    times = features[TIME_COLUMN].dt.epoch("us").to_numpy()
    idx = temporal_split(times, (cfg.split.train, cfg.split.validation, cfg.split.test))
    return {
        "train": features[idx.train],
        "validation": features[idx.validation],
        "test": features[idx.test],
    }


def train_models(features: pl.DataFrame, cfg: DatasetConfig, feature_columns: list[str]) -> ModelSet:
    """Fit the scaler and every detector on the normal rows of the training period."""
    parts = split_frame(features, cfg)
    train = parts["train"]
    y_train = _labels(train)
    x_train = _matrix(train, feature_columns)
    # Sensor windows are raw readings: standardise only (a log on some time steps would distort windows).
    prep = FeaturePreprocessor(log_columns=None if cfg.kind == "sensor_timeseries" else "auto")
    prep.fit(x_train, None if y_train is None else np.where(y_train < 0, np.nan, y_train))
    normal = np.ones(train.height, dtype=bool) if y_train is None else (y_train == 0)
    if y_train is not None and not normal.any():
        raise ValueError("the training period has no window labelled normal")
    x_fit = prep.transform(x_train[normal])
    detectors = {d.name: fit_detector(d, x_fit, cfg.seed) for d in cfg.detectors}
    bounds = {name: f"{part[TIME_COLUMN].min()} .. {part[TIME_COLUMN].max()}" for name, part in parts.items()}
    return ModelSet(
        dataset=cfg.name,
        feature_columns=list(feature_columns),
        preprocessor=prep,
        detectors=detectors,
        split_bounds=bounds,
        n_rows={**{k: v.height for k, v in parts.items()}, "train_normal_used": int(normal.sum())},
        labelled=y_train is not None,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        config=json.loads(cfg.model_dump_json()),
    )


@dataclass
class DistinctScores:
    """Scores of each distinct feature row (``rows``, their scaled ``x``), and ``distinct`` to expand them to
    every row (``None``: every row was scored)."""

    scores: dict[str, np.ndarray]
    x: np.ndarray
    rows: np.ndarray
    distinct: DistinctRows | None

    def expand(self, values: np.ndarray) -> np.ndarray:
        return values if self.distinct is None else self.distinct.expand(values)

    def expanded_scores(self) -> dict[str, np.ndarray]:
        """Each detector's scores, one per row of the scored frame."""
        return {name: self.expand(s) for name, s in self.scores.items()}


def distinct_detector_scores(model_set: ModelSet, features: pl.DataFrame) -> DistinctScores:
    """Normalised scores per detector of each distinct feature row (the detectors score rows one by one, so
    identical rows get identical scores; see :mod:`vigia.models.distinct`)."""
    columns = feature_array(features, model_set.feature_columns)
    distinct = distinct_rows(columns)
    rows = np.ascontiguousarray(columns if distinct is None else columns[distinct.first])  # row-major, as fitted
    x = model_set.preprocessor.transform(rows)
    scores = {name: normalized_scores(det, x) for name, det in model_set.detectors.items()}
    return DistinctScores(scores, x, rows, distinct)


def detector_scores(model_set: ModelSet, features: pl.DataFrame) -> dict[str, np.ndarray]:
    """Normalised (0..1, higher = more anomalous) scores per detector, one per window."""
    return distinct_detector_scores(model_set, features).expanded_scores()


def calibrate_models(features: pl.DataFrame, model_set: ModelSet, cfg: DatasetConfig) -> dict[str, ThresholdResult]:
    """Choose each detector's threshold on the validation period."""
    validation = split_frame(features, cfg)["validation"]
    scores = detector_scores(model_set, validation)
    y = _labels(validation)
    y_eval = None if y is None else np.where(y < 0, np.nan, y.astype(np.float64))
    return {name: calibrate(s, y_eval, cfg.calibration) for name, s in scores.items()}


def consensus_k(model_set: ModelSet, cfg: DatasetConfig) -> int:
    """The file's consensus k, at most ``model_set``'s number of detectors.

    A change of ``consensus.k`` applies at once to stored model sets, and a champion trained with one detector is
    still measured and scored 1-of-1 after the file adds a second one (whose default k becomes 2)."""
    return max(1, min(cfg.consensus.k, len(model_set.detectors)))


def flags_for(scores: dict[str, np.ndarray], thresholds: dict[str, float]) -> dict[str, np.ndarray]:
    """Per-detector anomaly flags at the calibrated thresholds."""
    return {name: s >= thresholds[name] for name, s in scores.items()}


def evaluate_models(
    features: pl.DataFrame, model_set: ModelSet, thresholds: dict[str, float], cfg: DatasetConfig
) -> Evaluation:
    """Metrics of each detector and of the k-of-n consensus on the held-out test period."""
    test = split_frame(features, cfg)["test"]
    scores = detector_scores(model_set, test)
    flags = flags_for(scores, thresholds)
    scores[CONSENSUS] = consensus_score({k: v for k, v in scores.items()})
    flags[CONSENSUS] = consensus_flags({k: v for k, v in flags.items() if k != CONSENSUS}, consensus_k(model_set, cfg))
    y = _labels(test)
    metrics: dict[str, dict[str, Any]] = {}
    labels, report = None, ""
    if y is not None:
        known = y >= 0
        labels = y[known]
        scores = {name: s[known] for name, s in scores.items()}
        flags = {name: f[known] for name, f in flags.items()}
        for name in scores:
            metrics[name] = binary_metrics(labels, scores[name], flags[name])
        from sklearn.metrics import classification_report

        report = classification_report(
            labels, flags[CONSENSUS].astype(int), labels=[0, 1], target_names=["normal", "anomalous"], digits=3,
            zero_division=0,
        )  # fmt: skip
    else:
        for name in scores:
            metrics[name] = {"n": int(test.height), "n_flagged": int(flags[name].sum())}
    return Evaluation(
        metrics=metrics, scores=scores, labels=labels, n_test=test.height,
        classification_report=report if labels is not None else "",
    )  # fmt: skip


def score_windows(
    features: pl.DataFrame, model_set: ModelSet, thresholds: dict[str, float], cfg: DatasetConfig
) -> pl.DataFrame:
    """Score every window: per-detector scores, ``ml_score`` (0..1), ``is_anomaly``, agreeing detectors, drivers."""
    found = distinct_detector_scores(model_set, features)
    scores = found.expanded_scores()
    flags = flags_for(scores, thresholds)
    ml_score = consensus_score(scores)
    is_anomaly = consensus_flags(flags, consensus_k(model_set, cfg))
    top_features = top_feature_json(found.x, model_set.feature_columns, cfg.alerts.top_features, raw_values=found.rows)
    if found.distinct is not None:
        top_features = top_features.gather(found.distinct.inverse)
    keep = [
        c
        for c in (cfg.entity_key, "window_start", "window_end", "day", "label", "attack_type")
        if c in features.columns
    ]
    out = features.select(keep).with_columns(
        pl.Series("ml_score", ml_score, dtype=pl.Float64),
        pl.Series("is_anomaly", is_anomaly, dtype=pl.Boolean),
        pl.Series("detectors", agreeing_detectors(flags), dtype=pl.String),
        top_features,
        *[pl.Series(f"score_{name}", s, dtype=pl.Float64) for name, s in scores.items()],
    )
    return out

"""The champion rule's metric: consensus F1 of a model set on the validation period."""

from __future__ import annotations

import numpy as np
import polars as pl

from vigia.config import DatasetConfig
from vigia.models.evaluation import binary_metrics, consensus_flags
from vigia.pipeline.training import ModelSet, consensus_k, detector_scores, flags_for, split_frame

METRIC_NAME = "validation_consensus_f1"


def validation_metric(
    features: pl.DataFrame, model_set: ModelSet, thresholds: dict[str, float], cfg: DatasetConfig
) -> float | None:
    """Consensus F1 on the validation windows, or None when they carry no usable labels.

    Champion and candidate are both measured on the same (newest) validation period, each at its own
    calibrated thresholds and the file's consensus k capped at its detectors (:func:`consensus_k`), like for like.
    """
    validation = split_frame(features, cfg)["validation"]
    if "label" not in validation.columns:
        return None
    known = validation["label"].is_not_null().to_numpy()  # on the column: to_numpy() turns nulls into NaN
    y = validation["label"].drop_nulls().to_numpy().astype(np.int64)
    if y.size == 0 or y.min() == y.max():
        return None
    scores = detector_scores(model_set, validation.filter(pl.Series(known)))
    flags = consensus_flags(flags_for(scores, thresholds), consensus_k(model_set, cfg))
    return float(binary_metrics(y, None, flags)["f1"])

"""The champion rule's validation metric counts only the windows whose label is known."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from tests.staging import dataset_config
from vigia.models.evaluation import binary_metrics, consensus_flags
from vigia.pipeline.promotion import validation_metric
from vigia.pipeline.training import detector_scores, flags_for, split_frame, train_models


def test_unknown_labels_are_left_out_not_counted_as_normal() -> None:
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=(n, 3))
    label = (rng.random(n) < 0.1).astype(np.int8)
    x[label == 1] += 4.0
    start = datetime(2026, 1, 5)
    features = pl.DataFrame(
        {
            "orig_h": ["h"] * n,
            "window_start": [start + timedelta(minutes=5 * i) for i in range(n)],
            "a": x[:, 0],
            "b": x[:, 1],
            "c": x[:, 2],
            # every third window of the validation period has no label
            "label": pl.Series([None if (360 <= i < 480 and i % 3 == 0) else int(v) for i, v in enumerate(label)],
                               dtype=pl.Int8),
        }
    )
    detectors = [{"name": "iforest", "type": "isolation_forest", "params": {"n_estimators": 50}}]
    cfg = dataset_config("p", detectors=detectors)
    model_set = train_models(features, cfg, ["a", "b", "c"])
    thresholds = {"iforest": 0.9}
    validation = split_frame(features, cfg)["validation"]
    assert validation["label"].null_count() == 40
    labelled = validation.filter(pl.col("label").is_not_null())
    scores = detector_scores(model_set, labelled)
    flags = consensus_flags(flags_for(scores, thresholds), 1)
    expected = binary_metrics(labelled["label"].to_numpy(), None, flags)["f1"]
    assert validation_metric(features, model_set, thresholds, cfg) == expected

"""`vigia bench zeek` thresholds: best F1 on the training half (cross-fitted) where it holds attacks, else quantile."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from vigia.bench.zeek import DEFAULT_DETECTORS, evaluate_capture
from vigia.features.conn_windows import CONN_FEATURE_COLUMNS


def _capture(labels: np.ndarray, shift: float, seed: int = 0) -> pl.DataFrame:
    """Windows in time order, features ~ N(0, 1); malicious ones shifted by ``shift`` on five features.

    Every 20th normal window is a benign burst, far out on six other features: as in IoT-23's captures, the
    training half's own outliers put its top quantile above the attacks.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(labels), len(CONN_FEATURE_COLUMNS)))
    x[:, :5] += shift * labels[:, None]
    x[(labels == 0) & (np.arange(len(labels)) % 20 == 7), 10:16] += 10.0
    frame = pl.DataFrame(x, schema=list(CONN_FEATURE_COLUMNS))
    return frame.with_columns(pl.Series("label", labels.astype(np.int64)))


def _attacks(n: int, at: list[range]) -> np.ndarray:
    y = np.zeros(n, dtype=np.int64)
    for r in at:
        y[list(r)] = 1
    return y


def _recall(result: dict) -> float:
    y, pred = result["y"], result["pred"]
    return float((pred & (y == 1)).sum() / (y == 1).sum())


def test_moderate_attacks_caught_by_labelled_threshold_and_missed_by_the_quantile() -> None:
    # 200 windows; attacks in both halves, less extreme than the benign bursts.
    windows = _capture(_attacks(200, [range(10, 30), range(120, 150)]), shift=3.0)
    labelled = evaluate_capture(windows, DEFAULT_DETECTORS, 2, 0.99, 7, "best_f1")
    quantile = evaluate_capture(windows, DEFAULT_DETECTORS, 2, 0.99, 7, "quantile")
    assert labelled is not None and quantile is not None
    assert labelled["calibration"] == "best_f1" and quantile["calibration"] == "quantile"
    # Same models and scores; only the thresholds differ.
    np.testing.assert_allclose(labelled["score"], quantile["score"])
    assert _recall(labelled) >= 0.9 and _recall(quantile) <= 0.1


def test_training_half_without_attacks_falls_back_to_the_quantile() -> None:
    windows = _capture(_attacks(120, [range(80, 90)]), shift=4.0)
    labelled = evaluate_capture(windows, DEFAULT_DETECTORS, 2, 0.99, 7, "best_f1")
    quantile = evaluate_capture(windows, DEFAULT_DETECTORS, 2, 0.99, 7, "quantile")
    assert labelled is not None and quantile is not None
    assert labelled["calibration"] == "quantile"
    np.testing.assert_array_equal(labelled["pred"], quantile["pred"])


def test_unknown_calibration_is_refused() -> None:
    with pytest.raises(ValueError, match="calibration must be one of best_f1, quantile"):
        evaluate_capture(_capture(_attacks(40, []), 0.0), DEFAULT_DETECTORS, 2, 0.99, 7, "oracle")

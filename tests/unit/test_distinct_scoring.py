"""Distinct feature rows are scored once and their results copied back: the same output as scoring every row."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import vigia.pipeline.training as training
from tests.staging import dataset_config
from vigia.models.distinct import distinct_rows


def test_distinct_rows_rebuilds_the_matrix_bit_for_bit() -> None:
    base = np.array([[1.0, np.nan], [0.0, 2.0], [-0.0, 2.0], [3.0, 4.0]])
    m = base[[1, 0, 1, 3, 0, 2, 1, 0, 3, 1]]
    found = distinct_rows(m)
    assert found is not None
    # first appearances in order: row 1 of base at 0, row 0 at 1, row 3 at 3, row 2 (-0.0) at 5
    assert found.first.tolist() == [0, 1, 3, 5]
    assert np.array_equal(m[found.first][found.inverse], m, equal_nan=True)
    assert np.signbit(m[found.first][found.inverse][:, 0]).tolist() == np.signbit(m[:, 0]).tolist()
    assert found.expand(np.array([10, 20, 30, 40])).tolist() == [10, 20, 10, 30, 20, 40, 10, 20, 30, 10]
    column_major = distinct_rows(np.asfortranarray(m))  # as polars' to_numpy gives it: read without a copy
    assert column_major is not None
    assert np.array_equal(column_major.first, found.first) and np.array_equal(column_major.inverse, found.inverse)


def test_mostly_distinct_or_empty_matrices_are_scored_row_by_row() -> None:
    rng = np.random.default_rng(1)
    assert distinct_rows(rng.normal(size=(100, 3))) is None
    assert distinct_rows(np.empty((0, 3))) is None
    half = rng.normal(size=(50, 3))
    assert distinct_rows(np.vstack([half, half])) is not None  # 50 % distinct
    with pytest.raises(ValueError, match="2-D"):
        distinct_rows(np.zeros(3))


def test_a_hash_collision_falls_back_to_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pl.DataFrame, "hash_rows", lambda self, seed=0: pl.Series([7] * self.height, dtype=pl.UInt64))
    m = np.array([[1.0], [2.0], [1.0], [2.0]])
    assert distinct_rows(m) is None


def _features(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(40, 3))
    pool[5] += 6.0  # one pattern far out
    x = pool[rng.integers(0, 40, n)]
    start = datetime(2026, 1, 5)
    return pl.DataFrame({
        "orig_h": [f"h{i % 7}" for i in range(n)],
        "window_start": [start + timedelta(minutes=i) for i in range(n)],
        "a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
        "label": pl.Series((rng.random(n) < 0.05).astype(np.int8)),
    })  # fmt: skip


def test_score_windows_equals_scoring_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    features = _features(900)  # 40 distinct feature rows
    detectors = [
        {"name": "iforest", "type": "isolation_forest", "params": {"n_estimators": 50}},
        {"name": "lof", "type": "lof", "params": {"n_neighbors": 10}},
    ]
    cfg = dataset_config("d", detectors=detectors)
    model_set = training.train_models(features, cfg, ["a", "b", "c"])
    thresholds = {"iforest": 0.8, "lof": 0.8}
    found = training.distinct_detector_scores(model_set, features)
    assert found.x.shape[0] == 40
    deduplicated = training.score_windows(features, model_set, thresholds, cfg)
    scores, x = found.expanded_scores(), found.expand(found.x)
    wrapper = training.detector_scores(model_set, features)
    assert all(np.array_equal(s, wrapper[k]) for k, s in scores.items())
    monkeypatch.setattr(training, "distinct_rows", lambda matrix: None)  # the previous path: every row
    every_row = training.score_windows(features, model_set, thresholds, cfg)
    found_all = training.distinct_detector_scores(model_set, features)
    assert found_all.x.shape[0] == 900
    assert deduplicated.equals(every_row)
    assert deduplicated["is_anomaly"].sum() > 0
    scores_all, x_all = found_all.expanded_scores(), found_all.x
    assert all(np.array_equal(scores[k], scores_all[k]) for k in scores_all)
    assert np.array_equal(x, x_all)

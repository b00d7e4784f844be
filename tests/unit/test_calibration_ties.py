"""Ties at a threshold: a constant series, MAD or IQR of zero, must not flag the bulk of the rows."""

from __future__ import annotations

import numpy as np
import pytest

from vigia.config import CalibrationConfig
from vigia.models.calibration import calibrate, contamination_threshold, flag, iqr_threshold, mad_threshold
from vigia.models.detectors import normalize_raw


@pytest.mark.parametrize("strategy", ["contamination", "percentile", "mad", "iqr", "auto"])
def test_all_tied_scores_flag_nothing(strategy: str) -> None:
    scores = np.full(500, 0.42)
    result = calibrate(scores, None, CalibrationConfig(strategy=strategy))
    assert not flag(scores, result.threshold).any()
    assert flag(np.array([0.43]), result.threshold).all()  # anything above the constant is flagged


def test_zero_spread_rules_flag_only_rows_above_the_bulk() -> None:
    scores = np.r_[np.full(95, 0.3), np.linspace(0.5, 0.9, 5)]  # MAD and IQR are 0
    for threshold in (mad_threshold(scores), iqr_threshold(scores), contamination_threshold(scores, 0.02)):
        assert 0 < flag(scores, threshold).sum() <= 5


def test_distinct_scores_keep_their_threshold() -> None:
    scores = np.arange(101.0)
    assert contamination_threshold(scores, 0.05) == 95.0  # one score equals it: no tie, >= keeps it
    assert flag(scores, contamination_threshold(scores, 0.05)).sum() == 6


def test_a_score_tied_with_every_training_score_is_mid_rank() -> None:
    assert normalize_raw(np.full(99, 7.0), np.array([7.0]))[0] == pytest.approx(0.5, abs=0.01)
    ranks = normalize_raw(np.arange(99.0), np.array([0.0, 49.0, 98.0]))
    assert ranks == pytest.approx([0.5 / 100, 49.5 / 100, 98.5 / 100])

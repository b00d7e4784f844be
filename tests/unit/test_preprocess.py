"""FeaturePreprocessor statistics: skewness-based log selection and medians of finite values only."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import skew

from vigia.models.preprocess import FeaturePreprocessor, _finite_medians, _heavy_tailed


def test_heavy_tailed_matches_the_sample_skewness() -> None:
    rng = np.random.default_rng(3)
    heavy = rng.lognormal(sigma=1.5, size=5_000)
    symmetric = rng.normal(10, 1, size=5_000)
    assert skew(heavy) > 1 and _heavy_tailed(heavy, 1.0)
    assert abs(skew(symmetric)) < 1 and not _heavy_tailed(symmetric, 1.0)
    # The threshold is compared with the population skewness (scipy's default, bias=True).
    s = float(skew(heavy))
    assert _heavy_tailed(heavy, s - 1e-9) and not _heavy_tailed(heavy, s + 1e-9)
    assert not _heavy_tailed(-heavy, 1.0)  # negative values: never log-transformed
    assert not _heavy_tailed(np.array([0.0, 1.0] * 100), 1.0)  # binary


def test_finite_medians_ignore_nan_and_inf() -> None:
    z = np.array([[1.0, np.nan, np.inf], [3.0, 2.0, np.nan], [5.0, np.inf, np.nan], [100.0, 4.0, np.nan]])
    med = _finite_medians(np.asfortranarray(z))
    assert med[0] == 4.0 and med[1] == 3.0 and np.isnan(med[2])
    assert np.array_equal(_finite_medians(z[:, :1]), np.array([4.0]))


def test_fit_uses_normal_rows_and_imputes_with_their_median() -> None:
    x = np.array([[1.0], [3.0], [np.nan], [1_000.0]])
    prep = FeaturePreprocessor(log_columns=None).fit(x, np.array([0, 0, 0, 1]))
    assert prep.fill_values_.tolist() == [2.0]
    assert prep.n_fit_rows_ == 3
    out = prep.transform(np.array([[np.nan], [1.0], [3.0]]))
    sd = np.std([1.0, 3.0, 2.0])  # the scaler sees the imputed normal rows
    assert out[0, 0] == pytest.approx(0.0)
    assert out[1, 0] == pytest.approx(-1.0 / sd) and out[2, 0] == pytest.approx(1.0 / sd)


def test_binary_is_decided_on_the_whole_column() -> None:
    # constant for the first 10,000 rows (time order), heavy-tailed after: not binary, log-transformed
    tail = np.random.default_rng(0).pareto(1.5, 5_000) * 100
    late = np.r_[np.zeros(10_000), tail]
    assert _heavy_tailed(late, 1.0) and _heavy_tailed(late[::-1].copy(), 1.0)
    assert FeaturePreprocessor().fit(late[:, None]).log_mask_.tolist() == [True]
    assert not _heavy_tailed(np.r_[np.zeros(20_000), np.full(50, 7.0)], 1.0)  # two values, however skewed

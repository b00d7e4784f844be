"""Stratified bootstrap intervals of held-out figures (vigia.tabular.uncertainty)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from vigia.tabular.uncertainty import (
    average_precision_rows,
    heldout_intervals,
    mean_rows,
    roc_auc_rows,
    stratified_bootstrap,
)
from vigia.tabular.value import ValueMatrix, outcome_values

COSTS = ValueMatrix.from_cost_matrix(fp_cost=1.0, fn_cost=5.0)


def test_standard_error_of_a_mean_matches_the_stratified_formula() -> None:
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(60, dtype=int), np.zeros(140, dtype=int)]
    x = np.where(y == 1, rng.normal(3.0, 2.0, y.size), rng.normal(0.0, 0.5, y.size))
    out = stratified_bootstrap(mean_rows, y, x, n_resamples=4000, seed=3)
    # resampling within classes: var(mean) = sum_s (n_s / n)^2 * var_s / n_s (plug-in variances)
    expected = np.sqrt(sum((x[y == s].size / y.size) ** 2 * x[y == s].var() / x[y == s].size for s in (0, 1)))
    assert out.standard_error == pytest.approx(expected, rel=0.08)
    assert out.low < out.estimate < out.high and out.estimate == pytest.approx(x.mean())
    assert (out.n, out.n_resamples, out.confidence) == (200, 4000, 0.95)
    # a 95 % percentile interval of a near-normal statistic spans about 2 x 1.96 standard errors
    assert out.high - out.low == pytest.approx(2 * 1.96 * expected, rel=0.12)


@pytest.mark.parametrize("distinct_scores", [5, 40, None])
def test_row_statistics_equal_scikit_learn_ties_included(distinct_scores: int | None) -> None:
    rng = np.random.default_rng(distinct_scores or 0)
    y = (rng.random((30, 150)) < 0.25).astype(int)
    y[:, 0], y[:, 1] = 1, 0  # both classes in every row
    p = rng.random((30, 150)) * 0.6 + 0.4 * y
    if distinct_scores:  # isotonic calibration gives step functions: many tied probabilities
        p = np.round(p * distinct_scores) / distinct_scores
    auc, ap = roc_auc_rows(y, p), average_precision_rows(y, p)
    for i in range(y.shape[0]):
        assert auc[i] == pytest.approx(roc_auc_score(y[i], p[i]), abs=1e-12)
        assert ap[i] == pytest.approx(average_precision_score(y[i], p[i]), abs=1e-12)


def test_small_blocks_still_give_every_resample(monkeypatch: pytest.MonkeyPatch) -> None:
    import vigia.tabular.uncertainty as unc

    rng = np.random.default_rng(8)
    y, x = (rng.random(100) < 0.4).astype(int), rng.normal(size=100)
    whole = stratified_bootstrap(mean_rows, y, x, n_resamples=300, seed=1)
    monkeypatch.setattr(unc, "CELLS_PER_BLOCK", 700)  # 7 resamples per block
    blocked = stratified_bootstrap(mean_rows, y, x, n_resamples=300, seed=1)
    # 300 = 42 blocks of 7 + one of 6: the interval holds the values of all 300 resamples (counted, not echoed)
    assert blocked.n_resamples == whole.n_resamples == 300
    assert blocked.standard_error == pytest.approx(whole.standard_error, rel=0.25)
    assert blocked.low < blocked.estimate == whole.estimate < blocked.high


def test_resamples_keep_the_class_counts() -> None:
    y = np.r_[np.ones(7, dtype=int), np.zeros(93, dtype=int)]
    out = stratified_bootstrap(lambda yy, _: yy.mean(axis=1), y, np.arange(100.0), n_resamples=300)
    assert out.low == out.high == out.estimate == pytest.approx(0.07) and out.standard_error < 1e-12


def test_seeded_and_reproducible() -> None:
    rng = np.random.default_rng(0)
    y, x = (rng.random(300) < 0.3).astype(int), rng.normal(size=300)
    a = stratified_bootstrap(mean_rows, y, x, seed=5, n_resamples=500)
    assert a == stratified_bootstrap(mean_rows, y, x, seed=5, n_resamples=500)
    assert a != stratified_bootstrap(mean_rows, y, x, seed=6, n_resamples=500)


def test_interval_narrows_with_more_rows() -> None:
    rng = np.random.default_rng(2)

    def width(n: int) -> float:
        y = (rng.random(n) < 0.3).astype(int)
        p = np.clip(0.3 + 0.25 * (y - 0.3) + rng.normal(0, 0.2, n), 0, 1)
        ci = heldout_intervals(y, p, 0.5, n_resamples=400)["roc_auc"]
        assert ci["low"] <= ci["estimate"] <= ci["high"]
        return ci["high"] - ci["low"]

    small, large = width(200), width(3200)
    assert 2.5 < small / large < 6.5  # about sqrt(16) = 4


def test_heldout_intervals_of_a_cost_matrix() -> None:
    rng = np.random.default_rng(4)
    y = np.r_[np.ones(60, dtype=int), np.zeros(140, dtype=int)]
    p = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)
    d = (p >= 1 / 6).astype(int)
    out = heldout_intervals(y, p, 1 / 6, COSTS, n_resamples=500)
    assert set(out) == {"roc_auc", "average_precision", "value_per_record", "cost_per_record"}
    value, cost = out["value_per_record"], out["cost_per_record"]
    assert value["estimate"] == pytest.approx(outcome_values(COSTS, y, d).mean(), abs=1e-4)
    assert cost["estimate"] == -value["estimate"] and (cost["low"], cost["high"]) == (-value["high"], -value["low"])
    assert cost["low"] <= cost["estimate"] <= cost["high"] and cost["standard_error"] > 0


def test_heldout_intervals_without_both_classes_or_value_matrix() -> None:
    y, p = np.zeros(50, dtype=int), np.linspace(0, 1, 50)
    assert set(heldout_intervals(y, p, 0.5, COSTS, n_resamples=50)) == {"value_per_record", "cost_per_record"}
    assert heldout_intervals(y, p, 0.5, n_resamples=50) == {}
    gain = ValueMatrix(tp_benefit=10.0, fp_cost=1.0, fn_cost=0.0, tn_value=0.0)
    assert "cost_per_record" not in heldout_intervals(y, p, 0.5, gain, n_resamples=50)


@pytest.mark.parametrize(
    ("y", "x", "kwargs", "match"),
    [
        (np.zeros(3), np.zeros(4), {}, "one length"),
        (np.zeros(1), np.zeros(1), {}, "at least 2 rows"),
        (np.zeros(5), np.zeros(5), {"confidence": 1.0}, "confidence"),
        (np.zeros(5), np.zeros(5), {"n_resamples": 1}, "n_resamples"),
    ],
)
def test_bad_arguments(y: np.ndarray, x: np.ndarray, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stratified_bootstrap(mean_rows, y, x, **kwargs)

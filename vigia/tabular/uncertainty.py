"""How far a test figure can move with the test rows: stratified bootstrap confidence intervals.

A held-out part of a few hundred rows gives figures with a wide sampling spread (German credit: 200 test
applicants, 60 of them bad). These intervals resample the **test rows only**, with replacement and within
each class. The test parts of ``vigia bench credit`` are stratified splits, so their class counts are fixed
by design; the pipeline's hash-based held-out part is not, so its intervals are slightly narrow. A row keeps
its label and probability, and the model and its threshold stay fixed, so the spread that comes from training
is not in them. ``scipy.stats.bootstrap`` has no strata, hence the resampling here. The statistics score a
whole block of resamples at once, with the values of scikit-learn's ``roc_auc_score`` and
``average_precision_score`` (ties included, tested) but without one call per resample (timings in
``docs/benchmarks.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import rankdata

from vigia.tabular.value import ValueMatrix, outcome_values

CONFIDENCE = 0.95
N_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """A point estimate with its percentile bootstrap interval and the bootstrap standard error."""

    estimate: float
    low: float
    high: float
    standard_error: float
    confidence: float
    n_resamples: int
    n: int

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        return {k: round(v, digits) if isinstance(v, float) else v for k, v in asdict(self).items()}

    def negated(self) -> Interval:
        """The interval of ``-statistic`` (a cost from a value)."""
        return Interval(-self.estimate, -self.high, -self.low, self.standard_error, self.confidence,
                        self.n_resamples, self.n)  # fmt: skip


RowStatistic = Callable[[np.ndarray, np.ndarray], np.ndarray]
CELLS_PER_BLOCK = 2_000_000  # resamples are drawn and scored in blocks of about this many cells


def mean_rows(_: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Mean of each resample (row) of ``x``."""
    return x.mean(axis=1)


def roc_auc_rows(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC-AUC of each row (Mann-Whitney from average ranks, ties count one half: ``roc_auc_score``'s value)."""
    ranks = rankdata(p, axis=1)
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    return ((ranks * y).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def average_precision_rows(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Average precision of each row, ``average_precision_score``'s definition: the sum over the distinct
    scores, from the highest, of the recall gained times the precision at that score (tied rows together)."""
    order = np.argsort(-p, axis=1, kind="stable")
    scores, labels = np.take_along_axis(p, order, axis=1), np.take_along_axis(y, order, axis=1)
    tp = np.cumsum(labels, axis=1)
    n = p.shape[1]
    last_of_tie = np.ones(p.shape, dtype=bool)
    last_of_tie[:, :-1] = scores[:, :-1] != scores[:, 1:]
    # for every position, the last position of its group of tied scores (where its threshold's precision is read)
    group_end = np.minimum.accumulate(np.where(last_of_tie, np.arange(n), n)[:, ::-1], axis=1)[:, ::-1]
    precision = np.take_along_axis(tp, group_end, axis=1) / (group_end + 1)
    return (labels * precision).sum(axis=1) / labels.sum(axis=1)


def stratified_bootstrap(
    statistic: RowStatistic,
    y: ArrayLike,
    x: ArrayLike,
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Percentile interval of a statistic over resamples drawn with replacement within each value of ``y``.

    ``statistic(y_rows, x_rows)`` scores every row of two ``(resamples, n)`` arrays at once (:func:`mean_rows`,
    :func:`roc_auc_rows`, :func:`average_precision_rows`); the point estimate is its value on the data."""
    y_arr, x_arr = np.asarray(y), np.asarray(x)
    if y_arr.shape[0] != x_arr.shape[0]:
        raise ValueError(f"y and x must have one length, got {y_arr.shape[0]} and {x_arr.shape[0]}")
    n = int(y_arr.shape[0])
    if n < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 rows, got {n}")
    if not 0 < confidence < 1 or n_resamples < 2:
        raise ValueError(f"need 0 < confidence < 1 and n_resamples >= 2, got {confidence} and {n_resamples}")
    rng = np.random.default_rng(seed)
    strata = [np.flatnonzero(y_arr == v) for v in np.unique(y_arr)]
    block = max(1, CELLS_PER_BLOCK // n)
    stats = []
    for done in range(0, n_resamples, block):
        size = min(block, n_resamples - done)
        idx = np.concatenate([rng.choice(s, size=(size, s.size), replace=True) for s in strata], axis=1)
        stats.append(statistic(y_arr[idx], x_arr[idx]))
    values = np.concatenate(stats)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    estimate = float(statistic(y_arr[None, :], x_arr[None, :])[0])
    return Interval(estimate, float(low), float(high), float(values.std(ddof=1)), confidence, values.size, n)


def heldout_intervals(
    y_true: ArrayLike,
    probability: ArrayLike,
    threshold: float,
    value_matrix: ValueMatrix | None = None,
    *,
    seed: int = 0,
    n_resamples: int = N_RESAMPLES,
) -> dict[str, dict[str, Any]]:
    """Bootstrap intervals of a model's test figures: ROC-AUC and average precision (when both classes are
    present) and, with a value matrix, the value per record realised by its decisions (``probability >=
    threshold``, as :func:`~vigia.tabular.model.probability_metrics` decides) and, for a pure cost matrix, its
    opposite, the cost per record."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(probability, dtype=float)
    d = (p >= threshold).astype(int)
    kwargs: dict[str, Any] = {"seed": seed, "n_resamples": n_resamples}
    out: dict[str, dict[str, Any]] = {}
    if 0 < y.sum() < y.size:  # every stratified resample then holds both classes too
        out["roc_auc"] = stratified_bootstrap(roc_auc_rows, y, p, **kwargs).to_dict()
        out["average_precision"] = stratified_bootstrap(average_precision_rows, y, p, **kwargs).to_dict()
    if value_matrix is not None:
        value = stratified_bootstrap(mean_rows, y, outcome_values(value_matrix, y, d), **kwargs)
        out["value_per_record"] = value.to_dict()
        if value_matrix.is_cost_matrix:
            out["cost_per_record"] = value.negated().to_dict()
    return out

"""Robust statistics (Bowley skewness, MAD, RITA-style regularity) in numpy and polars.

Quantiles use linear interpolation (numpy's default, polars ``"linear"``) in both versions,
so the references match the expressions exactly.

Regularity score of a series ``x`` (RITA beacon analysis, adapted):

* ``bowley = (Q1 + Q3 - 2*Q2) / (Q3 - Q1)``, 0 when ``Q3 == Q1``;
* ``dispersion = min(MAD / median, 1)`` with ``MAD = median(|x - median(x)|)``;
  when ``median <= 0`` it is 0 if ``MAD == 0`` else 1;
* ``score = ((1 - |bowley|) + (1 - dispersion)) / 2`` in 0..1, 1 = perfectly regular.

Beacon score of a connection series = mean of the regularity of its inter-arrival times
and of its sizes, 0 when there are fewer than :data:`BEACON_MIN_CONNECTIONS` connections.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

BEACON_MIN_CONNECTIONS = 3


def bowley_skew(x: Sequence[float] | np.ndarray) -> float:
    """Bowley (quartile) skewness ``(Q1 + Q3 - 2*Q2) / (Q3 - Q1)``; 0 when ``Q3 == Q1`` or ``x`` is empty."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        return 0.0
    q1, q2, q3 = np.quantile(arr, [0.25, 0.5, 0.75])
    return 0.0 if q3 == q1 else float((q1 + q3 - 2.0 * q2) / (q3 - q1))


def mad(x: Sequence[float] | np.ndarray) -> float:
    """Median absolute deviation around the median (unscaled); 0 for empty input."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        return 0.0
    return float(np.median(np.abs(arr - np.median(arr))))


def regularity_score(x: Sequence[float] | np.ndarray) -> float:
    """Regularity in 0..1 of a series (see module docstring); 0 for empty input."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        return 0.0
    med, dev = float(np.median(arr)), mad(arr)
    dispersion = min(dev / med, 1.0) if med > 0 else (0.0 if dev == 0 else 1.0)
    return ((1.0 - abs(bowley_skew(arr))) + (1.0 - dispersion)) / 2.0


def beacon_score(ts_seconds: Sequence[float] | np.ndarray, sizes: Sequence[float] | np.ndarray) -> float:
    """Mean of the IAT and size regularity of one connection series; 0 below 3 connections."""
    ts = np.sort(np.asarray(ts_seconds, dtype=np.float64))
    if ts.size < BEACON_MIN_CONNECTIONS:
        return 0.0
    return (regularity_score(np.diff(ts)) + regularity_score(sizes)) / 2.0


def bowley_skew_expr(x: pl.Expr) -> pl.Expr:
    """Polars Bowley skewness of ``x`` (aggregation; usable in ``group_by().agg``); null for empty."""
    q1, q2, q3 = (x.quantile(q, "linear") for q in (0.25, 0.5, 0.75))
    return pl.when(q3 == q1).then(pl.lit(0.0)).otherwise((q1 + q3 - 2.0 * q2) / (q3 - q1))


def mad_expr(x: pl.Expr) -> pl.Expr:
    """Polars median absolute deviation of ``x`` (aggregation); null for empty."""
    return (x - x.median()).abs().median()


def regularity_score_expr(bowley: pl.Expr, mad_: pl.Expr, median: pl.Expr) -> pl.Expr:
    """Row-wise regularity score from precomputed Bowley skew, MAD and median columns."""
    dispersion = (
        pl.when(median > 0)
        .then(pl.min_horizontal(mad_ / median, pl.lit(1.0)))
        .when(mad_ == 0)
        .then(pl.lit(0.0))
        .otherwise(pl.lit(1.0))
    )
    return ((1.0 - bowley.abs()) + (1.0 - dispersion)) / 2.0


def entropy_from_counts_expr(counts: pl.Expr) -> pl.Expr:
    """Shannon entropy in bits of the distribution given by ``counts`` (aggregation over categories)."""
    c = counts.cast(pl.Float64)
    n = c.sum()
    return (n.log(2) - (c * c.log(2)).sum() / n).clip(lower_bound=0.0).abs()  # abs: no -0.0

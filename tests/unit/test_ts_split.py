"""Temporal split of a regular series and a scaler fitted on normal rows only."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from vigia.timeseries.split import fit_scaler_on_normal, temporal_split_series

T0 = dt.datetime(2026, 1, 5)


def _frame(n: int = 100) -> pl.DataFrame:
    ts = [T0 + dt.timedelta(minutes=i) for i in range(n)]
    order = np.random.default_rng(0).permutation(n)  # unsorted input
    return pl.DataFrame({"ts": [ts[i] for i in order], "x": order.astype(float), "segment": order // 40})


def test_split_contiguous_no_leakage():
    f = _frame()
    s = temporal_split_series(f)
    assert s.sizes() == {"train": 60, "validation": 20, "test": 20}
    assert s.train["ts"].max() < s.validation["ts"].min()
    assert s.validation["ts"].max() < s.test["ts"].min()
    for part in s.parts().values():
        assert part["ts"].is_sorted()
        # Contiguous: no time from another part falls inside this part's range.
        assert (part["ts"].diff().drop_nulls() == dt.timedelta(minutes=1)).all()
    all_rows = pl.concat(list(s.parts().values()))
    assert all_rows["ts"].n_unique() == f.height
    assert s.boundaries["train"]["rows"] == 60
    assert s.train["x"].to_list() == list(range(60))


def test_split_custom_fractions_and_too_small():
    s = temporal_split_series(_frame(), (0.5, 0.25, 0.25))
    assert s.sizes() == {"train": 50, "validation": 25, "test": 25}
    with pytest.raises(ValueError):
        temporal_split_series(_frame(2))


def test_scaler_ignores_anomalous_training_rows():
    rng = np.random.default_rng(1)
    normal = rng.normal([10.0, -5.0], [2.0, 0.5], size=(500, 2))
    anomalous = np.full((50, 2), 1e6)
    x = np.vstack([normal, anomalous])
    y = np.r_[np.zeros(500), np.ones(50)]
    scaler = fit_scaler_on_normal(x, y)
    np.testing.assert_allclose(scaler.mean_, normal.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, normal.std(axis=0))
    assert scaler.n_samples_seen_ == 500
    # Unknown labels are not normal either; no normal label at all -> every row.
    y_unknown = [None] * 10 + [0] * 500 + [1] * 40
    assert fit_scaler_on_normal(x, y_unknown).n_samples_seen_ == 500
    assert fit_scaler_on_normal(x, np.ones(550)).n_samples_seen_ == 550
    assert fit_scaler_on_normal(x).n_samples_seen_ == 550


def test_scaler_refuses_nan_and_handles_constant():
    x = np.array([[1.0, 2.0], [np.nan, 3.0]])
    with pytest.raises(ValueError, match="NaN"):
        fit_scaler_on_normal(x, [0, 0])
    const = np.column_stack([np.full(5, 3.0), np.arange(5.0)])
    scaler = fit_scaler_on_normal(const, np.zeros(5))
    assert scaler.scale_[0] == 1.0
    assert np.isfinite(scaler.transform(const)).all()

"""Regularisation: grid, bounded interpolation, segment split on long gaps, duplicates, NaN, constants."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from vigia.timeseries.pump_synth import VALUE_COLUMNS, generate_pump_station
from vigia.timeseries.regularize import constant_columns, regularize
from vigia.timeseries.segments import segment_bounds, segment_windows

T0 = dt.datetime(2026, 1, 5)


def _no_nan(frame: pl.DataFrame, cols: list[str]) -> None:
    x = frame.select(cols).to_numpy()
    assert np.isfinite(x).all(), "NaN / inf would reach a model"
    assert frame.select(["ts", "segment", *cols]).null_count().sum_horizontal().item() == 0


def _series() -> pl.DataFrame:
    """Seconds 0..29 with: 2-sample gap (10, 11 missing), 10-sample gap (20..29 missing -> then 30..34),
    a duplicate of second 3, rows 5 and 6 swapped, a NaN at second 15 in ``a``, a constant column ``c``."""
    secs = [*range(0, 10), *range(12, 20), *range(30, 35)]
    a = [float(s) * 2 for s in secs]
    b = [100.0 - s for s in secs]
    lab = [1 if s in (12, 13) else 0 for s in secs]
    rows = [(T0 + dt.timedelta(seconds=s), x, y, 7.0, lab_) for s, x, y, lab_ in zip(secs, a, b, lab, strict=True)]
    rows[15 - 2] = (rows[13][0], float("nan"), rows[13][2], 7.0, rows[13][4])  # second 15: a = NaN
    rows.append((T0 + dt.timedelta(seconds=3), 8.0, 97.0, 7.0, 1))  # duplicate timestamp, labelled positive
    rows[5], rows[6] = rows[6], rows[5]  # out of order
    return pl.DataFrame(rows, schema=["ts", "a", "b", "c", "label"], orient="row").with_columns(
        pl.col("ts").cast(pl.Datetime("us")), pl.col("label").cast(pl.Int8)
    )


def test_regularize_hand_made_series():
    r = regularize(_series(), freq_seconds=1, max_gap=3, value_columns=["a", "b", "c"])
    f = r.frame
    c = r.counts
    assert c["rows_in"] == 24 and c["duplicates"] == 1
    assert c["out_of_order"] == 2  # the swapped pair, and the appended duplicate of second 3
    assert r.constant_columns == ["c"] and r.value_columns == ["a", "b"] and "c" not in f.columns
    assert c["gaps_split"] == 1 and c["segments"] == 2
    assert c["interpolated_rows"] == 2  # seconds 10 and 11
    assert c["interpolated_values"] == 2 * 3 + 1  # 2 rows x 3 columns + the NaN at second 15
    assert c["dropped_nan_rows"] == 0
    assert c["rows_out"] == f.height == 20 + 5
    secs = [(t - T0).total_seconds() for t in f["ts"].to_list()]
    assert secs == [*range(0, 20), *range(30, 35)]
    assert f["segment"].to_list() == [0] * 20 + [1] * 5
    # 2-sample gap: 9 -> 12 linearly, a = 2 s, b = 100 - s.
    by_sec = dict(zip(secs, f["a"].to_list(), strict=True))
    assert by_sec[10] == pytest.approx(20.0) and by_sec[11] == pytest.approx(22.0)
    assert dict(zip(secs, f["b"].to_list(), strict=True))[11] == pytest.approx(89.0)
    assert by_sec[15] == pytest.approx(30.0)  # NaN filled from 14 and 16
    assert by_sec[3] == pytest.approx((6.0 + 8.0) / 2)  # duplicate bin -> mean
    labels = dict(zip(secs, f["label"].to_list(), strict=True))
    assert labels[3] == 1  # any raw sample positive -> bin positive
    assert (
        labels[9] == 0 and labels[10] == labels[11] == 1 and labels[12] == 1 and labels[14] == 0
    )  # gap next to an event
    _no_nan(f, r.value_columns)


def test_long_nan_run_and_edges_dropped():
    ts = [T0 + dt.timedelta(minutes=i) for i in range(12)]
    a = [np.nan, 1, 2, np.nan, np.nan, np.nan, np.nan, np.nan, 8, 9, 10, np.nan]
    frame = pl.DataFrame({"ts": ts, "a": a, "b": np.arange(12.0)})
    r = regularize(frame, freq_seconds=60, max_gap=2, value_columns=["a", "b"])
    # Leading / trailing NaN are not extrapolated; a 5-value NaN run exceeds max_gap: those rows go.
    assert r.counts["dropped_nan_rows"] == 1 + 5 + 1
    assert r.counts["interpolated_values"] == 0
    assert r.frame["a"].to_list() == [1, 2, 8, 9, 10]
    assert r.frame["segment"].to_list() == [0, 0, 1, 1, 1]  # the dropped run cuts the segment
    assert r.frame["label"].null_count() == 5  # no label column -> unknown labels
    _no_nan(r.frame, r.value_columns)


def test_resample_mean_within_bin():
    ts = [T0 + dt.timedelta(seconds=s) for s in (0, 20, 40, 60, 100, 130)]
    frame = pl.DataFrame({"ts": ts, "x": [1.0, 2.0, 3.0, 10.0, 20.0, 5.0], "label": [0, 0, 1, 0, 0, 0]})
    r = regularize(frame, freq_seconds=60, max_gap=1, value_columns=["x"])
    assert r.frame["x"].to_list() == [2.0, 15.0, 5.0]
    assert r.frame["label"].to_list() == [1, 0, 0]


def test_constant_columns():
    f = pl.DataFrame({"a": [1.0, 1.0, np.nan], "b": [1.0, 2.0, 3.0], "c": [np.nan, np.nan, np.nan], "d": [0, 0, 0]})
    assert constant_columns(f, ["a", "b", "c", "d"]) == ["a", "c", "d"]


def test_constant_only_in_training_part():
    ts = [T0 + dt.timedelta(seconds=i) for i in range(10)]
    frame = pl.DataFrame({"ts": ts, "x": [5.0] * 6 + [1.0, 2.0, 3.0, 4.0], "y": np.arange(10.0)})
    r = regularize(frame, freq_seconds=1, max_gap=1, value_columns=["x", "y"], constant_fraction=0.6)
    assert r.constant_columns == ["x"] and r.value_columns == ["y"]


def test_pump_month_regularized_nan_free_and_windows_stay_in_segments():
    raw = generate_pump_station(T0, 7 * 1440, seed=4)
    r = regularize(raw, freq_seconds=60, max_gap=5, value_columns=list(VALUE_COLUMNS))
    f = r.frame
    _no_nan(f, r.value_columns)
    assert r.counts["gaps_split"] >= 1 and r.counts["interpolated_rows"] > 0
    assert f["label"].null_count() == 0 and f["label"].sum() >= raw["label"].sum()
    step = np.diff(f["ts"].to_physical().to_numpy())
    same = np.diff(f["segment"].to_numpy()) == 0
    assert (step[same] == 60_000_000).all()
    x, y, starts = segment_windows(
        f.select(r.value_columns).to_numpy(), f["segment"].to_numpy(), 30, 10, f["label"].to_numpy()
    )
    assert x.shape[1:] == (30, len(r.value_columns)) and len(y) == len(starts) == len(x)
    seg = f["segment"].to_numpy()
    assert (seg[starts] == seg[starts + 29]).all()
    assert not np.isnan(x).any()
    assert segment_bounds(np.array([0, 0, 1, 1, 1, 2])) == [(0, 2), (2, 5), (5, 6)]

"""Synthetic pumping station: determinism, layout, events labelled and physically plausible."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import polars as pl
import pytest

from vigia.timeseries.pump_synth import EVENT_TYPES, VALUE_COLUMNS, event_table, generate_pump_station

START = dt.datetime(2026, 1, 5)


@pytest.fixture(scope="module")
def week() -> pl.DataFrame:
    return generate_pump_station(START, 7 * 1440, seed=11)


def test_deterministic():
    a = generate_pump_station(START, 3 * 1440, seed=5)
    b = generate_pump_station(START, 3 * 1440, seed=5)
    c = generate_pump_station(START, 3 * 1440, seed=6)
    assert a.equals(b)
    assert not a.equals(c)
    assert not a.equals(generate_pump_station(START, 3 * 1440, seed=5, illegal_taps=3))


def test_columns_and_dtypes(week: pl.DataFrame):
    assert week.columns == ["ts", *VALUE_COLUMNS, "label", "event_type"]
    assert week.schema["ts"] == pl.Datetime("us")
    assert all(week.schema[c] == pl.Float64 for c in VALUE_COLUMNS)
    assert week.schema["label"] == pl.Int8 and week.schema["event_type"] == pl.String
    assert week["ts"][0] == START and week["ts"].is_sorted() and week["ts"].is_unique().all()
    # Dropouts: some missing minutes and some NaN readings, but not many.
    assert 0 < 7 * 1440 - week.height < 300
    nans = week.select(pl.col(VALUE_COLUMNS).is_nan().sum()).row(0)
    assert sum(nans) > 0 and max(nans) < 100
    assert set(week["valve_state"].drop_nans().unique()) == {0.0, 1.0}
    # Labels and event types agree.
    assert (week["label"] == 1).to_list() == week["event_type"].is_not_null().to_list()


def test_every_event_type_present(week: pl.DataFrame):
    events = event_table(week)
    assert set(events["event_type"]) == set(EVENT_TYPES)
    assert events.height == 5  # per week: 2 taps, 1 leak, 2 sensor faults
    assert events["rows"].min() >= 3
    assert 0.01 < week["label"].mean() < 0.2


def test_unknown_param_rejected():
    with pytest.raises(ValueError, match="leak_count"):
        generate_pump_station(START, 1440, seed=1, leak_count=2)


def _imbalance(f: pl.DataFrame) -> pl.Series:
    return ((pl.col("flow_in") - pl.col("flow_out")) / pl.col("flow_in")).alias("imbalance")


def test_normal_flow_balance_and_coupling(week: pl.DataFrame):
    normal = week.filter(pl.col("label") == 0).fill_nan(None).drop_nulls(VALUE_COLUMNS)
    imb = normal.select(_imbalance(normal))["imbalance"]
    assert abs(imb.mean()) < 0.002 and imb.std() < 0.02
    assert (imb.abs() < 0.06).all()
    # Pressure rises with pump speed; speed follows load.
    corr = np.corrcoef(normal["pump_speed"].to_numpy(), normal["pressure_out"].to_numpy())[0, 1]
    assert corr > 0.5
    assert np.corrcoef(normal["flow_in"].to_numpy(), normal["pump_speed"].to_numpy())[0, 1] > 0.8
    # Daily rhythm: morning peak flow above the night minimum.
    by_hour = normal.group_by(pl.col("ts").dt.hour().alias("h")).agg(pl.col("flow_out").mean()).sort("h")
    flows = dict(zip(by_hour["h"].to_list(), by_hour["flow_out"].to_list(), strict=True))
    assert flows[8] > 1.3 * flows[3]


def test_taps_show_pressure_drop_and_imbalance(week: pl.DataFrame):
    f = week.fill_nan(None).with_columns(
        _imbalance(week),
        residual=pl.col("pressure_out")
        - pl.col("pressure_in")
        - 5.0 * (pl.col("pump_speed") / 1500) ** 2
        + 1.2 * (pl.col("flow_in") / 150) ** 2,
    )
    normal = f.filter(pl.col("label") == 0)
    taps = f.filter(pl.col("event_type") == "illegal_tap")
    leaks = f.filter(pl.col("event_type") == "leak")
    assert taps["imbalance"].mean() > 0.025 and taps["imbalance"].mean() > 2.5 * normal["imbalance"].std()
    assert taps["residual"].mean() < normal["residual"].mean() - 0.08
    assert leaks["imbalance"].mean() > 0.01
    # A leak grows: the late half is more imbalanced than the early half.
    half = leaks.height // 2
    assert leaks["imbalance"][half:].mean() > leaks["imbalance"][:half].mean()


def test_month_is_fast():
    t = time.perf_counter()
    month = generate_pump_station(START, 30 * 1440, seed=2)
    assert time.perf_counter() - t < 2.0
    assert month.height > 42_000

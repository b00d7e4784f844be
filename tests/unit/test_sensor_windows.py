"""Sensor feature windows: station-days that give no window are named with the reason."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from tests.staging import dataset_config
from vigia.pipeline.sensor_features import sensor_windows

CFG = dataset_config("rig", kind="sensor_timeseries", series={"freq": "1s", "window": 10, "step": 5})


def _station(name: str, n: int, dead: bool = False) -> pl.DataFrame:
    ts = [datetime(2026, 1, 5, 10) + timedelta(seconds=i) for i in range(n)]
    return pl.DataFrame({
        "ts": ts, "station": [name] * n, "label": [0] * n,
        "flow": [float(i % 7) for i in range(n)],
        "pressure": pl.Series([None] * n, dtype=pl.Float64) if dead else [1.0 + i / 100 for i in range(n)],
    })  # fmt: skip


def test_a_dead_column_or_a_short_day_is_named_and_other_stations_keep_their_windows() -> None:
    clean = pl.concat([_station("ok", 60), _station("dead", 60, dead=True), _station("short", 6)])
    table, _, without = sensor_windows(clean, CFG)
    assert set(table["station"]) == {"ok"} and table.height == 11
    assert without == [
        "dead 2026-01-05: column(s) pressure hold no value (leave them out with series.columns)",
        "short 2026-01-05: 6 regular samples, fewer than the window of 10",
    ]


def test_no_window_at_all_fails_naming_the_dead_column() -> None:
    """It used to fail with 'no complete 10-sample window ... for these partitions' and no cause."""
    with pytest.raises(ValueError, match=r"dead 2026-01-05: column\(s\) pressure hold no value"):
        sensor_windows(_station("dead", 60, dead=True), CFG)

"""A day with fewer than ``drift.min_windows`` windows is reported but not judged (score NaN, not drifted)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from vigia.config import DatasetConfig
from vigia.pipeline.drift import day_drift

CFG = DatasetConfig.model_validate({
    "name": "n", "kind": "network_conn", "source": {"type": "synthetic_zeek"}, "sql_models": "network",
    "partitions": {"start": "2026-01-05", "end": "2026-01-08"},
    "detectors": [{"name": "iforest", "type": "isolation_forest"}],
})  # fmt: skip


def _windows(n: int, shift: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"a": rng.normal(shift, 1, n), "b": rng.normal(shift, 1, n)})


def test_a_tiny_shifted_day_is_not_judged_and_a_full_one_is() -> None:
    reference = _windows(2000, 0.0, 1)
    tiny = day_drift(reference, _windows(3, 5.0, 2), CFG)
    assert math.isnan(tiny.score) and not tiny.drifted and tiny.n_evaluated == 0
    assert all("fewer than drift.min_windows (30): not judged" in f.note for f in tiny.features)
    assert tiny.features[0].statistic is not None  # the tests are still reported for information
    full = day_drift(reference, _windows(300, 5.0, 2), CFG)
    assert full.drifted and full.score == 1.0

"""The SKAB benchmark on a few real valve1 files (skipped when the shared datasets are absent)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import shared_path

pytestmark = pytest.mark.shared


def test_skab_benchmark_on_three_valve1_files(tmp_path: Path) -> None:
    from vigia.bench.skab import format_leaderboard_table, run_skab_benchmark

    src = shared_path("skab", "data")
    # a SKAB-layout folder with three valve1 files and the (unlabelled) anomaly-free file
    for name in ("valve1/1.csv", "valve1/3.csv", "valve1/8.csv", "anomaly-free/anomaly-free.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / name, tmp_path / name)
    t0 = time.perf_counter()
    result = run_skab_benchmark(tmp_path, subsets=None, methods=("conv_ae", "conv_ae_tuned"), max_epochs=30)
    elapsed = time.perf_counter() - t0
    assert elapsed < 120
    assert result["files"] == ["valve1/1.csv", "valve1/3.csv", "valve1/8.csv"]
    assert result["skipped_files"] == ["anomaly-free/anomaly-free.csv"]
    assert result["n_test_points"] == (1145 - 400) + (1148 - 400) + (1144 - 400)
    for name in ("conv_ae", "conv_ae_tuned"):
        m = result["methods"][name]
        assert m["tp"] + m["tn"] + m["fp"] + m["fn"] == result["n_test_points"]
        assert m["tp"] + m["fn"] == result["n_test_anomalies"]
        assert len(m["per_file"]) == 3
        # valve closures are easy for a reconstruction model: a broken pipeline would not get here
        assert m["f1"] > 0.6, m
        assert m["roc_auc"] is not None and m["roc_auc"] > 0.7, m
        assert 0 <= m["far"] <= 100 and 0 <= m["mar"] <= 100
    table = format_leaderboard_table(result)
    assert "Conv-AE (published)" in table and "**conv_ae_tuned** (ours)" in table

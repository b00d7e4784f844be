"""bench/zeek_chain.py --repeat: repeated runs are summarised by each stage's median, the peak by the highest."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.conftest import load_bench_script


@pytest.fixture(scope="module")
def chain() -> ModuleType:
    return load_bench_script("zeek_chain.py")


def _run(ingest: float, features: float, peak: int) -> dict[str, Any]:
    stages = {"ingest": ingest, "clean": 0.05, "features": features, "train": 2.5, "score": 0.8}
    return {
        "stages_s": stages,
        "stages_cpu_s": {k: 2 * v for k, v in stages.items()},
        "peak_rss_bytes": peak,
        "polled_peak_rss_bytes": peak + 1,
        "process_wall_s": 20.0 + features,
        "windows": 401_837,
        "auc": 0.994,
    }


def test_one_run_is_kept_as_it_is(chain: ModuleType) -> None:
    run = _run(9.0, 10.0, 100)
    assert chain._median_run([run]) is run


def test_each_stage_is_the_median_and_the_peak_the_highest(chain: ModuleType) -> None:
    runs = [_run(9.0, 11.9, 100), _run(9.8, 9.6, 300), _run(9.4, 10.2, 200)]
    got = chain._median_run(runs)
    assert got["stages_s"]["ingest"] == 9.4 and got["stages_s"]["features"] == 10.2
    assert got["stages_cpu_s"]["features"] == 20.4
    assert got["peak_rss_bytes"] == 300 and got["polled_peak_rss_bytes"] == 301
    assert got["spread"]["stages_s.features"] == [9.6, 10.2, 11.9]
    assert got["process_wall_s"] == 30.2 and got["spread"]["process_wall_s"] == [29.6, 30.2, 31.9]
    assert got["runs"] == 3 and got["windows"] == 401_837
    summary = chain._summarise(10_000_000, 1_327_220_674, got, None)
    assert summary["vigia_features_s"] == 10.2 and summary["pass"]["features_s"] is False
    assert summary["vigia_ingest_records_per_s"] == round(10_000_000 / 9.45)


def test_duckdb_alone_runs_take_the_median_rate(chain: ModuleType) -> None:
    timings = ((6.0, 1.6), (8.0, 1.2), (7.0, 1.4))
    alone = [{"seconds": s, "cpu_s": 2 * s, "rows": 10, "records_per_s": r} for s, r in timings]
    got = chain._median_run(alone)
    assert (got["seconds"], got["records_per_s"]) == (7.0, 1.4)
    assert got["spread"]["records_per_s"] == [1.2, 1.4, 1.6]

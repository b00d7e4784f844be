"""A day without records inside a backfilled range (capture gap, sensor down) does not fail the chain."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration.definitions import build_definitions
from vigia.sources.zeek_synth import generate_conn_day
from vigia.sources.zeek_writers import write_zeek_tsv

pytestmark = pytest.mark.slow

GAP_DATASET = """\
name: gaps
kind: network_conn
source: {{type: zeek_files, path: "{path}"}}
sql_models: network
partitions: {{start: "2026-01-05", end: "2026-01-08"}}
detectors:
  - {{name: iforest, type: isolation_forest}}
consensus: {{k: 1}}
"""
RANGE = {"dagster/asset_partition_range_start": "2026-01-05", "dagster/asset_partition_range_end": "2026-01-07"}


def test_range_with_an_empty_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs, datasets, data = tmp_path / "logs", tmp_path / "datasets", tmp_path / "data"
    logs.mkdir()
    datasets.mkdir()
    (datasets / "gaps.yaml").write_text(GAP_DATASET.format(path=logs))
    days = [generate_conn_day(date(2026, 1, d), 4_000, seed=d) for d in (5, 7)]  # nothing on the 6th
    write_zeek_tsv(pl.concat(days), logs / "conn.log")
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(datasets))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(data))
    defs = build_definitions()
    stages = [
        ("gaps_daily", ["raw_conn", "stg_conn", "window_features"], RANGE),
        ("gaps_train", ["detectors", "thresholds", "evaluation", "champion"], None),
        ("gaps_daily", ["window_scores", "alerts", "drift_report"], RANGE),
    ]
    with dg.instance_for_test() as instance:
        for job, names, tags in stages:
            keys = [dg.AssetKey(["gaps", n]) for n in names]
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, asset_selection=keys, tags=tags)
            assert result.success, job
        drift = instance.get_latest_materialization_event(dg.AssetKey(["gaps", "drift_report"]))
        meta = drift.asset_materialization.metadata
        assert meta["days_without_windows"].value == ["2026-01-06"]
        assert set(meta["scores_by_day"].value) == {"2026-01-05", "2026-01-07"}
        assert meta["drift_day"].value == "2026-01-07"
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    history = con.sql("SELECT strftime(day, '%Y-%m-%d') FROM gaps.drift_history ORDER BY 1").fetchall()
    assert [d for (d,) in history] == ["2026-01-05", "2026-01-07"]
    con.close()

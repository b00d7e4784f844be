"""Test helpers: declare one dataset in a temp folder, then materialize its chain stage by stage in-process."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import dagster as dg
import pytest

from vigia.config import DatasetConfig

Stage = tuple[str, Sequence[str], dict[str, str] | None]


def dataset_config(name: str = "ds", kind: str = "network_conn", **fields: object) -> DatasetConfig:
    """A minimal valid ``DatasetConfig`` of ``kind`` (synthetic source, one IsolationForest); ``fields`` override."""
    sources = {"network_conn": "synthetic_zeek", "sensor_timeseries": "synthetic_pump", "api_events": "synthetic_api"}
    models = {"network_conn": "network", "sensor_timeseries": "sensors", "api_events": "events"}
    raw = {
        "name": name,
        "kind": kind,
        "source": {"type": sources[kind]},
        "sql_models": models[kind],
        "partitions": {"start": "2026-01-05", "end": "2026-01-09"},
        "detectors": [{"name": "i", "type": "isolation_forest"}],
        **fields,
    }
    return DatasetConfig.model_validate(raw)


def zeek_files_dataset(name: str, path: Path, start: str, end: str) -> str:
    """YAML of a Zeek-file network dataset over the daily partitions ``start`` to ``end`` (exclusive)."""
    return (
        f"name: {name}\nkind: network_conn\nsource: {{type: zeek_files, path: \"{path}\"}}\nsql_models: network\n"
        f'partitions: {{start: "{start}", end: "{end}"}}\ndetectors:\n  - {{name: iforest, type: isolation_forest}}\n'
    )


def declare_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, yaml_text: str) -> Path:
    """Write ``<tmp>/datasets/<name>.yaml``, point Vigia's dataset and data folders at ``tmp_path``; returns
    the data folder."""
    datasets = tmp_path / "datasets"
    datasets.mkdir(exist_ok=True)
    (datasets / f"{name}.yaml").write_text(yaml_text)
    return use_folders(monkeypatch, datasets, tmp_path / "data")


def use_folders(monkeypatch: pytest.MonkeyPatch, datasets: Path, data: Path) -> Path:
    """Point Vigia's dataset folder at ``datasets`` and its data folder at ``data``; returns ``data``."""
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(datasets))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(data))
    return data


def run_job(
    instance: dg.DagsterInstance, defs: dg.Definitions, dataset: str, job: str, names: Sequence[str] | None = None,
    **kwargs: object,
) -> dg.ExecuteInProcessResult:
    """Execute ``<dataset>_<job>`` in process on ``dataset``'s assets ``names`` (None: the whole job); a failed run
    is returned, not raised."""
    keys = None if names is None else [dg.AssetKey([dataset, n]) for n in names]
    return defs.resolve_job_def(f"{dataset}_{job}").execute_in_process(
        instance=instance, asset_selection=keys, raise_on_error=False, **kwargs
    )


def range_tags(start: str, end: str) -> dict[str, str]:
    """Run tags of a single-run backfill over the daily partitions ``start..end`` (inclusive)."""
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


FEATURE_ASSETS = ("raw_conn", "stg_conn", "window_features")  # a network dataset's daily chain to features
TRAIN_ASSETS = ("detectors", "thresholds", "evaluation", "champion")
SCORE_ASSETS = ("window_scores", "alerts", "drift_report")


def chain_stages(
    dataset: str, raw: Sequence[str], start: str, end: str, score: Sequence[str] = SCORE_ASSETS
) -> list[Stage]:
    """The whole chain over the days ``start..end``: ``raw`` assets and features, training, then scoring."""
    days = range_tags(start, end)
    return [
        (f"{dataset}_daily", [*raw, "window_features"], days),
        (f"{dataset}_train", list(TRAIN_ASSETS), None),
        (f"{dataset}_daily", list(score), days),
    ]


def run_stages(
    instance: dg.DagsterInstance, dataset: str, stages: Sequence[Stage], expected_warnings: Collection[str] = ()
) -> None:
    """Execute each ``(job, asset names, tags)`` stage of ``dataset``; every run must succeed with no failed check
    but the warning checks named in ``expected_warnings``."""
    from orchestration.definitions import build_definitions

    defs = build_definitions()
    for job, names, tags in stages:
        keys = [dg.AssetKey([dataset, n]) for n in names]
        result = defs.resolve_job_def(job).execute_in_process(instance=instance, asset_selection=keys, tags=tags)
        assert result.success, f"{job} {list(names)}"
        failed = [
            e.check_name
            for e in result.get_asset_check_evaluations()
            if not e.passed and not (e.check_name in expected_warnings and e.severity == dg.AssetCheckSeverity.WARN)
        ]
        assert failed == [], failed


def land_conn_log(path: Path, days: list[int], *, age_s: float, seed: int = 0) -> None:
    """A Zeek TSV of 1,500 synthetic records per day of January 2026 in ``days``, last modified ``age_s`` ago."""
    import os
    import time
    from datetime import date

    import polars as pl

    from vigia.sources.zeek_synth import generate_conn_day
    from vigia.sources.zeek_writers import write_zeek_tsv

    frames = [generate_conn_day(date(2026, 1, d), 1_500, seed=seed + d) for d in days]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_zeek_tsv(pl.concat(frames), path)
    os.utime(path, (time.time() - age_s, time.time() - age_s))

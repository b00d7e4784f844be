"""Everything the code location builds for one dataset: assets, jobs, schedules, sensors, freshness checks.

Shared by :mod:`orchestration.definitions` and ``vigia check`` (which builds each file alone, so a file that
would stop the code location from loading fails the check and names the file).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from assets.factory import build_dataset_assets
from assets.monitoring import DRIFT_ASSET
from orchestration.freshness import build_freshness_checks
from orchestration.jobs import DatasetJobs, build_dataset_jobs
from orchestration.schedules import build_dataset_schedules
from orchestration.sensors import (
    build_drift_sensor,
    build_extract_sensor,
    build_files_sensor,
    build_index_sensor,
    build_label_windows_sensor,
)
from vigia.config import DatasetConfig
from vigia.paths import DEFAULT_SQL_ROOT
from vigia.pipeline.file_arrivals import FILE_SOURCE_TYPES


@dataclass(frozen=True)
class DatasetDefinitions:
    """One dataset's definitions (the freshness sensor, shared by all datasets, is built from ``checks``)."""

    assets: list[dg.AssetsDefinition]
    jobs: DatasetJobs
    schedules: list[dg.ScheduleDefinition]
    sensors: list[dg.SensorDefinition]
    checks: list[dg.AssetChecksDefinition]


def build_dataset_definitions(cfg: DatasetConfig) -> DatasetDefinitions:
    """The same asset chain for every dataset, with the sensors its source and labels call for."""
    assets = build_dataset_assets(cfg, DEFAULT_SQL_ROOT)
    jobs = build_dataset_jobs(cfg.name, assets)
    sensors = [build_drift_sensor(cfg.name, dg.AssetKey([cfg.name, DRIFT_ASSET]), jobs)]
    if cfg.source.type == "opensearch":
        sensors.append(build_index_sensor(cfg, jobs))
    if cfg.source.type in FILE_SOURCE_TYPES and jobs.daily is not None:
        sensors.append(build_files_sensor(cfg, jobs))
    if cfg.label_windows is not None and jobs.daily is not None:
        sensors.append(build_label_windows_sensor(cfg, jobs))
    if jobs.score is not None:
        sensors.append(build_extract_sensor(cfg, jobs))
    return DatasetDefinitions(
        assets=assets,
        jobs=jobs,
        schedules=build_dataset_schedules(cfg.name, jobs),
        sensors=sensors,
        checks=build_freshness_checks(cfg),
    )

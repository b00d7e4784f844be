"""The one ``Definitions`` object of the Vigia code location.

Every dataset file in ``config/datasets/`` (or ``$VIGIA_DATASETS_DIR``) becomes an asset group built
by the same factories. Nothing heavy is imported here: TensorFlow, scikit-learn fitting and plotting
happen inside asset bodies.
"""

from __future__ import annotations

import warnings

import dagster as dg

from assets.factory import build_dataset_assets
from assets.monitoring import DRIFT_ASSET
from orchestration.freshness import build_freshness_checks, build_freshness_sensor
from orchestration.jobs import build_dataset_jobs
from orchestration.schedules import build_dataset_schedules
from orchestration.sensors import (
    build_drift_sensor,
    build_extract_sensor,
    build_files_sensor,
    build_index_sensor,
    build_label_windows_sensor,
)
from resources import AlertSink, ArtifactStore, DuckDBWarehouse, MlflowTracking
from vigia.config import load_dataset_configs
from vigia.paths import DEFAULT_SQL_ROOT, data_dir, datasets_dir
from vigia.pipeline.file_arrivals import FILE_SOURCE_TYPES

warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_definitions() -> dg.Definitions:
    assets: list[dg.AssetsDefinition] = []
    jobs: list[dg.UnresolvedAssetJobDefinition] = []
    schedules: list[dg.ScheduleDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    for cfg in load_dataset_configs(datasets_dir()):
        dataset_assets = build_dataset_assets(cfg, DEFAULT_SQL_ROOT)
        dataset_jobs = build_dataset_jobs(cfg.name, dataset_assets)
        assets += dataset_assets
        jobs += dataset_jobs.all()
        schedules += build_dataset_schedules(cfg.name, dataset_jobs)
        checks += build_freshness_checks(cfg)
        sensors.append(build_drift_sensor(cfg.name, dg.AssetKey([cfg.name, DRIFT_ASSET]), dataset_jobs))
        if cfg.source.type == "opensearch":
            sensors.append(build_index_sensor(cfg, dataset_jobs))
        if cfg.source.type in FILE_SOURCE_TYPES and dataset_jobs.daily is not None:
            sensors.append(build_files_sensor(cfg, dataset_jobs))
        if cfg.label_windows is not None and dataset_jobs.daily is not None:
            sensors.append(build_label_windows_sensor(cfg, dataset_jobs))
        if dataset_jobs.score is not None:
            sensors.append(build_extract_sensor(cfg, dataset_jobs))
    # Declarative automation (eager scores, alerts and drift reports on new partitions), off by default.
    sensors.append(
        dg.AutomationConditionSensorDefinition(
            "vigia_automation", target=dg.AssetSelection.all(), default_status=dg.DefaultSensorStatus.STOPPED
        )
    )
    if checks:
        sensors.append(build_freshness_sensor(checks))
    root = data_dir()
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources={
            "warehouse": DuckDBWarehouse(path=str(root / "warehouse.duckdb")),
            "artifacts": ArtifactStore(root=str(root)),
            "mlflow_tracking": MlflowTracking(tracking_uri=f"sqlite:///{(root / 'mlflow.db').resolve()}"),
            "alert_sink": AlertSink(root=str(root / "alerts")),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions()

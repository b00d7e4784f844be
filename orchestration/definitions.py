"""The one ``Definitions`` object of the Vigia code location.

Every dataset file in ``config/datasets/`` (or ``$VIGIA_DATASETS_DIR``) becomes an asset group built
by the same factories. Nothing heavy is imported here: TensorFlow, scikit-learn fitting and plotting
happen inside asset bodies.
"""

from __future__ import annotations

import warnings

import dagster as dg

from orchestration.dataset_defs import build_dataset_definitions
from orchestration.freshness import build_freshness_sensor
from resources import AlertSink, ArtifactStore, DuckDBWarehouse, MlflowTracking
from vigia.config import load_dataset_configs
from vigia.paths import data_dir, datasets_dir

warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_definitions() -> dg.Definitions:
    assets: list[dg.AssetsDefinition] = []
    jobs: list[dg.UnresolvedAssetJobDefinition] = []
    schedules: list[dg.ScheduleDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    for cfg in load_dataset_configs(datasets_dir()):
        dataset = build_dataset_definitions(cfg)
        assets += dataset.assets
        jobs += dataset.jobs.all()
        schedules += dataset.schedules
        sensors += dataset.sensors
        checks += dataset.checks
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

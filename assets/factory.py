"""Build the full asset chain of one dataset from its declarative config."""


from pathlib import Path

import dagster as dg

from assets.common import DatasetAssetContext, daily_partitions
from assets.features import build_features_asset
from assets.ingest import build_raw_asset
from assets.monitoring import build_monitoring_assets
from assets.scoring import build_scoring_assets
from assets.sql_models import build_sql_model_assets
from assets.sweep import build_sweep_assets
from assets.tabular import build_tabular_assets
from assets.training import build_training_assets
from vigia.config import DatasetConfig


def build_dataset_assets(cfg: DatasetConfig, sql_root: Path) -> list[dg.AssetsDefinition]:
    """raw -> SQL models -> features -> detectors -> thresholds -> evaluation -> champion -> scores -> alerts, drift."""
    dctx = DatasetAssetContext(cfg=cfg, partitions_def=daily_partitions(cfg))
    if cfg.kind == "tabular_supervised":
        return build_tabular_assets(dctx)
    return [
        build_raw_asset(dctx),
        *build_sql_model_assets(dctx, sql_root),
        build_features_asset(dctx),
        *build_sweep_assets(dctx),
        *build_training_assets(dctx),
        *build_scoring_assets(dctx),
        *build_monitoring_assets(dctx),
    ]

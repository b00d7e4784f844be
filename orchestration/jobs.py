"""Per-dataset jobs: the daily (partitioned) chain and the (unpartitioned) training chain."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg


@dataclass(frozen=True)
class DatasetJobs:
    daily: dg.UnresolvedAssetJobDefinition
    train: dg.UnresolvedAssetJobDefinition


def partitioned_keys(assets: list[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    return [k for a in assets if a.partitions_def is not None for k in a.keys]


def unpartitioned_keys(assets: list[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    return [k for a in assets if a.partitions_def is None for k in a.keys]


def build_dataset_jobs(dataset: str, assets: list[dg.AssetsDefinition]) -> DatasetJobs:
    daily = dg.define_asset_job(
        f"{dataset}_daily",
        selection=dg.AssetSelection.assets(*partitioned_keys(assets)),
        description=f"Ingest, clean, featurise, score and alert one day of {dataset}.",
        partitions_def=next(a.partitions_def for a in assets if a.partitions_def is not None),
    )
    train = dg.define_asset_job(
        f"{dataset}_train",
        selection=dg.AssetSelection.assets(*unpartitioned_keys(assets)),
        description=f"Rebuild summary tables, retrain, recalibrate and evaluate the detectors of {dataset}.",
    )
    return DatasetJobs(daily=daily, train=train)

"""Per-dataset jobs: the daily (partitioned) chain, the training chain and the drift retraining run."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

RETRAIN_ASSETS = ("window_features", "detectors", "thresholds", "evaluation", "champion", "window_scores", "alerts")


TABULAR_RETRAIN_ASSETS = ("model", "predictions", "drift_report")
TABULAR_SCORE_ASSETS = ("inference_batch", "predictions", "drift_report")


@dataclass(frozen=True)
class DatasetJobs:
    daily: dg.UnresolvedAssetJobDefinition | None
    train: dg.UnresolvedAssetJobDefinition
    retrain: dg.UnresolvedAssetJobDefinition
    score: dg.UnresolvedAssetJobDefinition | None = None  # tabular: score the newest batch with the champion

    def all(self) -> list[dg.UnresolvedAssetJobDefinition]:
        return [j for j in (self.daily, self.train, self.retrain, self.score) if j is not None]


def partitioned_keys(assets: list[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    return [k for a in assets if a.partitions_def is not None for k in a.keys]


def unpartitioned_keys(assets: list[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    return [k for a in assets if a.partitions_def is None for k in a.keys]


def build_dataset_jobs(dataset: str, assets: list[dg.AssetsDefinition]) -> DatasetJobs:
    partitions_def = next((a.partitions_def for a in assets if a.partitions_def is not None), None)
    if partitions_def is None:  # the supervised tabular kind: batches, not days
        train = dg.define_asset_job(
            f"{dataset}_train",
            selection=dg.AssetSelection.assets(*unpartitioned_keys(assets)),
            description=f"Read the extracts of {dataset}, train, score the newest batch and check its drift.",
        )
        retrain = dg.define_asset_job(
            f"{dataset}_retrain",
            selection=dg.AssetSelection.assets(*[dg.AssetKey([dataset, n]) for n in TABULAR_RETRAIN_ASSETS]),
            description=f"Drift-triggered retraining of {dataset} (training + newly labelled rows), then rescoring and "
            "the drift check against the new champion.",
        )
        score = dg.define_asset_job(
            f"{dataset}_score",
            selection=dg.AssetSelection.assets(*[dg.AssetKey([dataset, n]) for n in TABULAR_SCORE_ASSETS]),
            description=f"Score the newest inference extract of {dataset} with the champion and check its drift.",
        )
        return DatasetJobs(daily=None, train=train, retrain=retrain, score=score)
    daily = dg.define_asset_job(
        f"{dataset}_daily",
        selection=dg.AssetSelection.assets(*partitioned_keys(assets)),
        description=f"Ingest, clean, featurise, score, alert and check drift for one day of {dataset}.",
        partitions_def=partitions_def,
    )
    train = dg.define_asset_job(
        f"{dataset}_train",
        selection=dg.AssetSelection.assets(*unpartitioned_keys(assets)),
        description=f"Rebuild summaries, retrain, recalibrate, evaluate and (maybe) promote {dataset}'s detectors.",
    )
    retrain = dg.define_asset_job(
        f"{dataset}_retrain",
        selection=dg.AssetSelection.assets(*[dg.AssetKey([dataset, name]) for name in RETRAIN_ASSETS]),
        description=f"Drift-triggered retraining of {dataset}: features of the drifted day, models, thresholds, "
        "evaluation, champion rule, then rescoring and alerts of that day.",
        partitions_def=partitions_def,
    )
    return DatasetJobs(daily=daily, train=train, retrain=retrain)

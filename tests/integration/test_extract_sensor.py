"""The new-extract sensor of the tabular kind on a real Dagster instance: extracts landing in the source
folders start training or scoring runs, once per state of the folders, and wait for files to settle."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from tests.staging import declare_dataset
from vigia.tabular.synth import generate_customers

pytestmark = pytest.mark.slow


def _land(frame_path: Path, seed: int, *, age_s: float, drifted: bool = False, target: bool = True) -> None:
    """Write a 1,000-row extract whose modification time is ``age_s`` seconds ago."""
    frame = generate_customers(1000, seed=seed, drifted=drifted)
    frame_path.parent.mkdir(parents=True, exist_ok=True)
    (frame if target else frame.drop("target")).write_csv(frame_path)
    past = time.time() - age_s
    os.utime(frame_path, (past, past))


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    sensor = defs.resolve_sensor_def("extx_new_extract_sensor")
    return sensor(dg.build_sensor_context(instance=instance, definitions=defs))


def _execute(defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest) -> None:
    assert request.job_name is not None
    result = defs.resolve_job_def(request.job_name).execute_in_process(instance=instance, tags=request.tags)
    assert result.success


def _meta(instance: dg.DagsterInstance, name: str) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey(["extx", name]))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_new_extracts_start_training_then_scoring_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extracts = tmp_path / "extracts"
    declare_dataset(tmp_path, monkeypatch, "extx", (
        f'name: extx\nkind: tabular_supervised\nsource: {{type: tabular_files, path: "{extracts}"}}\n'
        'entity_key: customer_id\nlabel_column: target\nvalue_matrix: "tp=0,fp=100,fn=500,tn=100"\nseed: 3\n'
    ))
    defs = build_definitions()
    with dg.instance_for_test() as instance:
        skip = _tick(defs, instance)
        assert isinstance(skip, dg.SkipReason) and "extract folder not found" in skip.skip_message

        for i in range(3):
            _land(extracts / "training" / f"p{i + 1}.csv", seed=i, age_s=300)
        _land(extracts / "inference" / "batch_001.csv", seed=50, age_s=300, target=False)
        first = _tick(defs, instance)  # never trained: the training job
        assert isinstance(first, dg.RunRequest) and first.job_name == "extx_train"
        assert first.tags["vigia/trigger"] == "new_training_extracts"
        _execute(defs, instance, first)
        assert _meta(instance, "inference_batch")["batch_file"].endswith("batch_001.csv")
        unchanged = _tick(defs, instance)
        assert isinstance(unchanged, dg.SkipReason) and "already scored" in unchanged.skip_message

        # A drifted batch is being copied in: wait; once it has settled, score it (no retraining).
        _land(extracts / "inference" / "batch_002.csv", seed=51, age_s=0, drifted=True, target=False)
        waiting = _tick(defs, instance)
        assert isinstance(waiting, dg.SkipReason) and "batch_002.csv to settle" in waiting.skip_message
        past = time.time() - 120
        os.utime(extracts / "inference" / "batch_002.csv", (past, past))
        scoring = _tick(defs, instance)
        assert isinstance(scoring, dg.RunRequest) and scoring.job_name == "extx_score"
        assert scoring.tags["vigia/batch_file"] == "batch_002.csv"
        trained_before = _meta(instance, "model")["version"]
        _execute(defs, instance, scoring)
        assert _meta(instance, "inference_batch")["batch_file"].endswith("batch_002.csv")
        assert _meta(instance, "predictions")["batch_value"]["n"] == 1000
        assert _meta(instance, "drift_report")["drift_score"] > 0.15  # the drift sensor takes it from here
        assert _meta(instance, "model")["version"] == trained_before
        again = _tick(defs, instance)
        assert isinstance(again, dg.SkipReason) and "batch_002.csv already scored" in again.skip_message

        # A new labelled training extract: retrain (the training job also rescores the newest batch).
        _land(extracts / "training" / "p4.csv", seed=7, age_s=60)
        retrain = _tick(defs, instance)
        assert isinstance(retrain, dg.RunRequest) and retrain.job_name == "extx_train"
        assert retrain.run_key != first.run_key
        _execute(defs, instance, retrain)
        assert _meta(instance, "training")["extracts"]["files"] == ["p1.csv", "p2.csv", "p3.csv", "p4.csv"]
        final = _tick(defs, instance)
        assert isinstance(final, dg.SkipReason), final

"""Two overlapping training runs: a run that trains the candidate calibrates, evaluates and promotes only its own
model, failing when another run replaced the candidate meanwhile; runs that do not train use the current one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from tests.conftest import SMALL_DATASET_YAML
from tests.staging import FEATURE_ASSETS, range_tags, run_job, use_folders

DAYS = ["2026-01-05", "2026-01-07"]
RANGE = range_tags(DAYS[0], DAYS[-1])


def test_a_training_run_never_uses_another_runs_candidate(
    tmp_path: Path, small_dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vigia.pipeline.model_store as model_store

    (small_dataset_dir / "nettest.yaml").write_text(SMALL_DATASET_YAML.format(rows=4_000))
    models = use_folders(monkeypatch, small_dataset_dir, tmp_path / "data") / "models" / "nettest"
    with dg.instance_for_test() as instance:
        defs = build_definitions()
        assert run_job(instance, defs, "nettest", "daily", FEATURE_ASSETS, tags=RANGE).success
        other = run_job(instance, defs, "nettest", "train", ["detectors"])  # run B trains
        assert other.success
        b_pointer = (models / "candidate.json").read_text()

        save = model_store.save_model_set

        def save_then_overtaken(*args: Any, **kwargs: Any) -> dict[str, Any]:
            manifest = save(*args, **kwargs)
            (models / "candidate.json").write_text(b_pointer)  # run B's detectors step writes after run A's
            return manifest

        monkeypatch.setattr(model_store, "save_model_set", save_then_overtaken)
        mine = run_job(instance, defs, "nettest", "train", ["detectors", "thresholds"])
        assert not mine.success  # it used to calibrate run B's model and succeed
        (failure,) = [e for e in mine.all_events if e.is_step_failure]
        assert failure.step_key == "nettest__thresholds"
        message = str(failure.step_failure_data.error)
        assert f"replaced by run {other.run_id}" in message and "rerun" in message
        monkeypatch.setattr(model_store, "save_model_set", save)

        # no training here: run B's candidate is used
        assert run_job(instance, defs, "nettest", "train", ["thresholds"]).success
        full = run_job(instance, defs, "nettest", "train", None)  # the whole job (no asset selection), undisturbed
        assert full.success
        assert json.loads((models / "champion.json").read_text())["version"].endswith(full.run_id[:8])

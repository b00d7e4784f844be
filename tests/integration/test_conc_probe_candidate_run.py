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

DAYS = ["2026-01-05", "2026-01-07"]
RANGE = {"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[-1]}


def _run(instance: dg.DagsterInstance, defs: dg.Definitions, job: str, names: list[str] | None,
         **kwargs: Any) -> dg.ExecuteInProcessResult:  # fmt: skip
    keys = None if names is None else [dg.AssetKey(["nettest", n]) for n in names]
    return defs.resolve_job_def(f"nettest_{job}").execute_in_process(
        instance=instance, asset_selection=keys, raise_on_error=False, **kwargs
    )


def test_a_training_run_never_uses_another_runs_candidate(
    tmp_path: Path, small_dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vigia.pipeline.model_store as model_store

    (small_dataset_dir / "nettest.yaml").write_text(SMALL_DATASET_YAML.format(rows=4_000))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(small_dataset_dir))
    models = tmp_path / "data" / "models" / "nettest"
    with dg.instance_for_test() as instance:
        defs = build_definitions()
        assert _run(instance, defs, "daily", ["raw_conn", "stg_conn", "window_features"], tags=RANGE).success
        other = _run(instance, defs, "train", ["detectors"])  # run B trains
        assert other.success
        b_pointer = (models / "candidate.json").read_text()

        save = model_store.save_model_set

        def save_then_overtaken(*args: Any, **kwargs: Any) -> dict[str, Any]:
            manifest = save(*args, **kwargs)
            (models / "candidate.json").write_text(b_pointer)  # run B's detectors step writes after run A's
            return manifest

        monkeypatch.setattr(model_store, "save_model_set", save_then_overtaken)
        mine = _run(instance, defs, "train", ["detectors", "thresholds"])
        assert not mine.success  # it used to calibrate run B's model and succeed
        (failure,) = [e for e in mine.all_events if e.is_step_failure]
        assert failure.step_key == "nettest__thresholds"
        message = str(failure.step_failure_data.error)
        assert f"replaced by run {other.run_id}" in message and "rerun" in message
        monkeypatch.setattr(model_store, "save_model_set", save)

        assert _run(instance, defs, "train", ["thresholds"]).success  # no training here: B's candidate is used
        full = _run(instance, defs, "train", None)  # the whole job (no asset selection), undisturbed
        assert full.success
        assert json.loads((models / "champion.json").read_text())["version"].endswith(full.run_id[:8])

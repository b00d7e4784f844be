"""The MLflow ``champion`` aliases and ``champion.json`` move together: when champion.json cannot be written, the
aliases go back to the previous champion's versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import mlflow
import pytest

from orchestration.definitions import build_definitions
from tests.conftest import SMALL_DATASET_YAML
from tests.staging import FEATURE_ASSETS, TRAIN_ASSETS, range_tags, run_job, use_folders

RANGE = range_tags("2026-01-05", "2026-01-07")


def test_aliases_go_back_when_champion_json_fails(
    tmp_path: Path, small_dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vigia.pipeline.model_store as model_store

    (small_dataset_dir / "nettest.yaml").write_text(SMALL_DATASET_YAML.format(rows=3_000))
    use_folders(monkeypatch, small_dataset_dir, tmp_path / "data")
    with dg.instance_for_test() as instance:
        defs = build_definitions()
        assert run_job(instance, defs, "nettest", "daily", FEATURE_ASSETS, tags=RANGE).success
        assert run_job(instance, defs, "nettest", "train", TRAIN_ASSETS).success

        def disk_full(*args: Any, **kwargs: Any) -> dict[str, Any]:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(model_store, "set_champion", disk_full)
        failed = run_job(instance, defs, "nettest", "train", TRAIN_ASSETS)
        assert not failed.success

    champion = json.loads((tmp_path / "data" / "models" / "nettest" / "champion.json").read_text())
    mlflow.set_tracking_uri(f"sqlite:///{(tmp_path / 'data' / 'mlflow.db').resolve()}")
    client = mlflow.MlflowClient()
    for name, version in champion["registered_versions"].items():
        assert len(client.search_model_versions(f"name = '{name}'")) == 2  # the second run registered its own
        assert str(client.get_registered_model(name).aliases["champion"]) == str(version), name

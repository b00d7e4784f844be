"""MLflow store, registry and champion rule, tampered models, and a webhook that is down, through Dagster."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from orchestration.definitions import build_definitions
from tests.conftest import SMALL_DATASET_YAML

pytestmark = pytest.mark.slow

WORSE_DATASET = """\
name: nettest
kind: network_conn
source: {type: synthetic_zeek, params: {rows_per_day: 40000}}
sql_models: network
partitions: {start: "2026-01-05", end: "2026-01-08"}
detectors:
  - {name: iforest, type: isolation_forest, params: {n_estimators: 1, max_samples: 4, max_features: 1}}
consensus: {k: 1}
promotion: {keep_versions: 1}
seed: 3
"""
RANGE = {"dagster/asset_partition_range_start": "2026-01-05", "dagster/asset_partition_range_end": "2026-01-07"}
TRAIN = ["detectors", "thresholds", "evaluation", "champion"]


def _keys(names: list[str]) -> list[dg.AssetKey]:
    return [dg.AssetKey(["nettest", n]) for n in names]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dg.DagsterInstance]]:
    root = tmp_path_factory.mktemp("mlflow_registry")
    (root / "datasets").mkdir()
    (root / "datasets" / "nettest.yaml").write_text(SMALL_DATASET_YAML.format(rows=40_000))
    with pytest.MonkeyPatch.context() as mp, dg.instance_for_test() as instance:
        mp.setenv("VIGIA_DATASETS_DIR", str(root / "datasets"))
        mp.setenv("VIGIA_DATA_DIR", str(root / "data"))
        defs = build_definitions()
        daily, train = defs.resolve_job_def("nettest_daily"), defs.resolve_job_def("nettest_train")
        assert daily.execute_in_process(
            instance=instance, asset_selection=_keys(["raw_conn", "stg_conn", "window_features"]), tags=RANGE
        ).success
        assert train.execute_in_process(instance=instance, asset_selection=_keys(TRAIN)).success
        yield root, instance


def _tracking(root: Path) -> str:
    import mlflow

    uri = f"sqlite:///{(root / 'data' / 'mlflow.db').resolve()}"
    mlflow.set_tracking_uri(uri)
    return uri


def test_one_mlflow_run_per_detector_with_loadable_models(trained: tuple[Path, dg.DagsterInstance]) -> None:
    import mlflow

    root, instance = trained
    _tracking(root)
    runs = mlflow.search_runs(experiment_names=["vigia-nettest"], output_format="list")
    detector_runs = [r for r in runs if "vigia.detector" in r.data.tags]
    assert sorted(r.data.tags["vigia.detector"] for r in detector_runs) == ["iforest", "lof", "ocsvm"]
    parents = {r.info.run_id for r in runs} - {r.info.run_id for r in detector_runs}
    assert len(parents) == 1 and all(r.info.status == "FINISHED" for r in runs)
    for run in detector_runs:
        assert run.data.params and "test_f1" in run.data.metrics and "val_f1" in run.data.metrics
        assert run.data.tags["dataset"] == "nettest" and run.data.tags["dagster_run_id"]
    client = mlflow.MlflowClient()
    for name in ("iforest", "lof", "ocsvm"):
        version = client.get_model_version_by_alias(f"vigia-nettest-{name}", "champion")
        model = mlflow.sklearn.load_model(f"models:/vigia-nettest-{name}@champion")
        x = np.zeros((2, len(model.feature_names_in_))) if hasattr(model, "feature_names_in_") else None
        assert str(version.version) == "1" and (x is None or model.score_samples(x).shape == (2,))
    meta = instance.get_latest_materialization_event(dg.AssetKey(["nettest", "champion"])).asset_materialization
    assert meta.metadata["promoted"].value is True
    assert meta.metadata["mlflow_run_url"].value.startswith("http://127.0.0.1:5000/#/experiments/")


def _train(root: Path, datasets: Path, instance: dg.DagsterInstance) -> dg.AssetMaterialization:
    """Run the training job with the dataset files in ``datasets``; the champion asset's materialization."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIGIA_DATASETS_DIR", str(datasets))
        mp.setenv("VIGIA_DATA_DIR", str(root / "data"))
        job = build_definitions().resolve_job_def("nettest_train")
        assert job.execute_in_process(instance=instance, asset_selection=_keys(TRAIN)).success
    return instance.get_latest_materialization_event(dg.AssetKey(["nettest", "champion"])).asset_materialization


def test_worse_retrain_keeps_the_champion(trained: tuple[Path, dg.DagsterInstance]) -> None:
    import mlflow

    root, instance = trained
    before = json.loads((root / "data" / "models" / "nettest" / "champion.json").read_text())
    worse = root / "worse"
    worse.mkdir()
    (worse / "nettest.yaml").write_text(WORSE_DATASET)
    meta = _train(root, worse, instance)
    assert meta.metadata["promoted"].value is False
    assert "kept" in meta.metadata["reason"].value
    after = json.loads((root / "data" / "models" / "nettest" / "champion.json").read_text())
    assert after["version"] == before["version"]
    _tracking(root)
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("vigia-nettest-iforest", "champion").version) == "1"
    assert len(client.search_model_versions("name='vigia-nettest-iforest'")) == 2
    # keep_versions: 1 never deletes the champion or the candidate: both versions stay.
    versions = root / "data" / "models" / "nettest" / "versions"
    first_worse = json.loads((root / "data" / "models" / "nettest" / "candidate.json").read_text())["version"]
    assert meta.metadata["pruned_versions"].value == []
    assert sorted(p.name for p in versions.iterdir()) == sorted({before["version"], first_worse})
    # A second worse retrain: the first worse version is neither champion nor candidate any more, so it goes.
    meta = _train(root, worse, instance)
    second_worse = json.loads((root / "data" / "models" / "nettest" / "candidate.json").read_text())["version"]
    assert meta.metadata["pruned_versions"].value == [first_worse]
    assert sorted(p.name for p in versions.iterdir()) == sorted({before["version"], second_worse})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scoring_with_webhook_down_keeps_alerts_and_reports_it(trained: tuple[Path, dg.DagsterInstance]) -> None:
    root, instance = trained
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIGIA_DATASETS_DIR", str(root / "datasets"))
        mp.setenv("VIGIA_DATA_DIR", str(root / "data"))
        mp.setenv("VIGIA_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{_closed_port()}/hooks/secret-token")
        job = build_definitions().resolve_job_def("nettest_daily")
        result = job.execute_in_process(
            instance=instance, asset_selection=_keys(["window_scores", "alerts"]), partition_key="2026-01-07"
        )
    assert result.success
    meta = instance.get_latest_materialization_event(dg.AssetKey(["nettest", "alerts"])).asset_materialization
    assert meta.metadata["webhook_ok"].value is False
    assert "secret-token" not in json.dumps(meta.metadata["delivery"].value)
    delivered = meta.metadata["delivered"].value
    lines = (root / "data" / "alerts" / "nettest.ndjson").read_text().splitlines()
    assert delivered > 0 and len(lines) >= delivered


def test_tampered_model_is_refused(trained: tuple[Path, dg.DagsterInstance]) -> None:
    root, instance = trained
    champion = json.loads((root / "data" / "models" / "nettest" / "champion.json").read_text())
    model = root / "data" / "models" / "nettest" / "versions" / champion["version"] / "model_set.joblib"
    original = model.read_bytes()
    model.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("VIGIA_DATASETS_DIR", str(root / "datasets"))
            mp.setenv("VIGIA_DATA_DIR", str(root / "data"))
            job = build_definitions().resolve_job_def("nettest_daily")
            result = job.execute_in_process(
                instance=instance, asset_selection=_keys(["window_scores"]), partition_key="2026-01-07",
                raise_on_error=False,
            )  # fmt: skip
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
        message = str(failure.step_failure_data.error.cause)
        assert "TamperedModelError" in message or "SHA-256" in message or "sha256" in message.lower()
        assert str(model) in message
    finally:
        model.write_bytes(original)

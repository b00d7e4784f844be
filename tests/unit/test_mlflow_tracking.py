"""MLflow tracking / registry helpers against a real SQLite tracking store in a temp folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest

from vigia.models.preprocess import FeaturePreprocessor

mlflow = pytest.importorskip("mlflow")

from vigia.tracking import mlflow_runs, registry  # noqa: E402

FEATURES = ["bytes", "pkts", "duration", "ratio"]


@dataclass
class Fitted:
    X: np.ndarray
    prep: FeaturePreprocessor
    est: IsolationForest


@pytest.fixture(scope="module")
def fitted() -> Fitted:
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.lognormal(5, 2, 300), rng.poisson(20, 300), rng.exponential(3, 300), rng.random(300)])
    prep = FeaturePreprocessor(feature_names=FEATURES).fit(X)
    est = IsolationForest(n_estimators=25, random_state=0).fit(prep.transform(X))
    return Fitted(X, prep, est)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A configured SQLite store (one per module: creating the schema takes a few seconds)."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/sub/mlflow.db"
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID")}
    exp_id = mlflow_runs.configure(uri, "vigia-test")
    yield uri, exp_id, root
    mlflow_runs.ensure_ended()
    mlflow.set_tracking_uri(None)
    mlflow.tracking.fluent._active_experiment_id = None
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _log(fitted: Fitted, parent_run_id: str | None = None, **overrides) -> mlflow_runs.DetectorRunInfo:
    kwargs = dict(
        detector_name="iforest",
        detector_type="isolation_forest",
        estimator=fitted.est,
        preprocessor=fitted.prep,
        params={"n_estimators": 25, "nested": {"a": 1, "b": [1, 2]}, "long": "x" * 2000},
        metrics={"validation_f1": 0.8, "missing": None, "bad": float("nan")},
        tags={"dataset": "nettest"},
        input_example=fitted.X[:20],
        feature_names=FEATURES,
        parent_run_id=parent_run_id,
    )
    kwargs.update(overrides)
    return mlflow_runs.log_detector_run(**kwargs)


def _parent_run() -> str:
    with mlflow.start_run(run_name="parent") as parent:
        return parent.info.run_id


def test_configure_creates_db_and_artifact_location(store) -> None:
    uri, exp_id, root = store
    assert (root / "sub" / "mlflow.db").is_file()
    exp = mlflow.MlflowClient().get_experiment(exp_id)
    assert exp.artifact_location.startswith((root / "sub" / "mlartifacts").as_uri())
    assert mlflow_runs.configure(uri, "vigia-test") == exp_id  # idempotent


def test_log_detector_run(store, fitted: Fitted, tmp_path: Path) -> None:
    _, exp_id, root = store
    plot = tmp_path / "scores.png"
    plot.write_bytes(b"\x89PNG\r\n\x1a\n")
    parent_id = _parent_run()
    info = _log(fitted, parent_id, plots={"scores": plot, "absent": tmp_path / "nope.png"})
    assert mlflow.active_run() is None

    run = mlflow.MlflowClient().get_run(info.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.parentRunId"] == parent_id
    assert run.data.tags["dataset"] == "nettest"
    assert run.data.tags["vigia.detector_type"] == "isolation_forest"
    assert run.data.params["n_estimators"] == "25"
    assert run.data.params["nested.b"] == "[1, 2]"
    assert len(run.data.params["long"]) == 500
    assert run.data.params["preprocess.scaler"] == "standard"
    assert run.data.metrics == {"validation_f1": 0.8}

    assert info.run_url == f"#/experiments/{exp_id}/runs/{info.run_id}"
    assert info.artifact_dir is not None and info.artifact_dir.is_relative_to(root)
    assert info.artifacts == {"scores": "plots/scores.png", "model": "model"}
    assert (info.artifact_dir / "plots" / "scores.png").is_file()

    model = mlflow.sklearn.load_model(info.model_uri)
    expected = fitted.est.score_samples(fitted.prep.transform(fitted.X))
    np.testing.assert_allclose(model.score_samples(fitted.X), expected)
    run_model = mlflow.sklearn.load_model(info.run_model_uri)
    np.testing.assert_allclose(run_model.score_samples(fitted.X), expected)

    signature = mlflow.models.get_model_info(info.model_uri).signature
    assert signature.inputs.input_names() == FEATURES
    pyfunc = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_array_equal(
        pyfunc.predict(pd.DataFrame(fitted.X, columns=FEATURES)), fitted.est.predict(fitted.prep.transform(fitted.X))
    )


def test_run_ended_when_logging_raises(store, fitted: Fitted, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("artifact store down")

    monkeypatch.setattr(mlflow.sklearn, "log_model", boom)
    parent_id = _parent_run()
    with pytest.raises(RuntimeError, match="artifact store down"):
        _log(fitted, parent_id)
    assert mlflow.active_run() is None
    runs = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent_id}'", output_format="list")
    assert [r.info.status for r in runs] == ["FAILED"]


def test_nested_under_active_run_and_ensure_ended(store, fitted: Fitted) -> None:
    parent = mlflow.start_run(run_name="active-parent")
    try:
        info = _log(fitted, parent.info.run_id)
        assert mlflow.active_run().info.run_id == parent.info.run_id  # only the child was ended
        child = mlflow.MlflowClient().get_run(info.run_id)
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    finally:
        assert mlflow_runs.ensure_ended() == 1
    assert mlflow.active_run() is None
    assert mlflow_runs.ensure_ended() == 0


def test_helpers() -> None:
    assert mlflow_runs.sqlite_db_path("sqlite:////abs/x/m.db") == Path("/abs/x/m.db")
    assert mlflow_runs.sqlite_db_path("sqlite:///rel/m.db") == Path("rel/m.db")
    assert mlflow_runs.sqlite_db_path("http://host:5000") is None
    assert mlflow_runs.run_url("http://h:5000/", "1", "abc") == "http://h:5000/#/experiments/1/runs/abc"
    assert mlflow_runs.clean_metrics({"a": 1, "b": None, "c": float("inf"), "d": "x", "e/f g": 2.5}) == {
        "a": 1.0,
        "e/f g": 2.5,
    }
    assert mlflow_runs.flatten_params({"a": {"b": {"c": None}}, "k!": (1, 2)}) == {"a.b.c": "null", "k_": "[1, 2]"}


def test_decide_promotion_reasons() -> None:
    worse = registry.decide_promotion(0.812, 0.905, 0.02, "validation f1", champion_version="3")
    assert not worse.promote
    assert worse.reason == (
        "candidate validation f1 0.812 is worse than champion 0.905 by 0.093 (> tolerance 0.02): champion v3 kept"
    )
    assert registry.decide_promotion(0.5, None, 0.02, "f1").promote  # no champion
    assert registry.decide_promotion(None, None, 0.02, "f1").promote
    assert not registry.decide_promotion(None, 0.1, 0.02, "f1").promote
    assert not registry.decide_promotion(float("nan"), None, 0.02, "f1", champion_version="1").promote
    assert registry.decide_promotion(0.3, None, 0.02, "f1", champion_version="1").promote
    assert registry.decide_promotion(0.89, 0.90, 0.02, "f1").promote
    assert registry.decide_promotion(0.90, 0.90, 0.0, "f1").promote
    assert "better" in registry.decide_promotion(0.95, 0.90, 0.0, "f1").reason
    with pytest.raises(ValueError):
        registry.decide_promotion(0.9, 0.9, -1.0, "f1")


def _candidate(name: str, fitted: Fitted, metric: float | None, tolerance: float = 0.02) -> tuple[str, bool]:
    """Log + register a candidate, promote it when decide_promotion says so; return (version, promoted)."""
    info = _log(fitted, metrics={"validation_f1": metric})
    version = registry.register_version(info.model_uri, name, {"run_id": info.run_id})
    champ = registry.champion_version(name)
    decision = registry.decide_promotion(
        metric,
        champ.metric_value if champ else None,
        tolerance,
        "validation_f1",
        champion_version=champ.version if champ else None,
    )
    if decision.promote:
        registry.promote(name, version, "validation_f1", metric)
    return version, decision.promote


def test_registry_champion_flow(store, fitted: Fitted) -> None:
    name = "vigia-nettest-iforest"
    assert registry.champion_version(name) is None
    with pytest.raises(LookupError):
        registry.load_champion_sklearn(name)

    assert _candidate(name, fitted, 0.90) == ("1", True)
    champ = registry.champion_version(name)
    assert champ is not None and champ.version == "1"
    assert champ.metric_name == "validation_f1" and champ.metric_value == pytest.approx(0.90)
    assert champ.tags["run_id"] == champ.run_id

    assert _candidate(name, fitted, 0.80) == ("2", False)  # worse by 0.10 > 0.02
    assert registry.champion_version(name).version == "1"

    assert _candidate(name, fitted, 0.89) == ("3", True)  # worse by 0.01 <= 0.02
    assert registry.champion_version(name).version == "3"

    assert _candidate(name, fitted, None) == ("4", False)  # no metric never replaces a champion
    model, info = registry.load_champion_sklearn(name)
    assert info.version == "3" and info.metric_value == pytest.approx(0.89)
    np.testing.assert_allclose(model.score_samples(fitted.X), fitted.est.score_samples(fitted.prep.transform(fitted.X)))
    assert mlflow.active_run() is None


def test_a_tracking_server_that_is_down_fails_fast_naming_its_uri(tmp_path: Path) -> None:
    """Bounded HTTP retries by default (MLflow's own take about 4 minutes); a value the user set is kept."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as sock:  # a local port nothing listens on
        sock.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_HTTP_REQUEST")}
    env["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "3"  # the user's setting
    code = "from vigia.tracking.mlflow_runs import configure; import sys; configure(sys.argv[1], 'vigia-down')"
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True, env=env, timeout=60)
    assert time.monotonic() - start < 45
    assert done.returncode != 0
    assert f"MLflow tracking server {uri} (MlflowTracking.tracking_uri) cannot be used" in done.stderr
    assert "after 2 retries with a 3 s timeout" in done.stderr

"""Dagster-free MLflow helpers: configure a tracking store and log one detector run.

Only imported inside asset bodies (MLflow is slow to import). Everything takes explicit arguments.

The logged model (``sklearn`` flavour, artifact name ``model``) is a ``sklearn.pipeline.Pipeline``::

    Pipeline([("preprocess", PreprocessorTransformer(<fitted FeaturePreprocessor>)), ("detector", estimator)])

so ``mlflow.sklearn.load_model(uri)`` returns a model that takes RAW feature rows (a DataFrame with the
feature names, or an array in the same column order): ``model.score_samples(X)`` is sklearn's score
(negate it for Vigia's "higher = more anomalous" raw score) and ``model.predict(X)`` gives ±1. The
signature is inferred from the raw input example (DataFrame with the feature names) and the pipeline's
``predict`` output, which is also what the pyfunc flavour serves. The training-score CDF used to
normalise scores to [0, 1] is not part of the logged model. The model is serialised with skops (MLflow's
default) with the Vigia / scikit-learn types it needs listed as trusted; ``vigia`` must be importable to
load it. Should skops fail to serialise a model, cloudpickle is used instead.

Network: no autologging, explicit ``pip_requirements`` (no requirement inference), telemetry and the
artifact progress bar are switched off, and HTTP retries and timeout bounded, through environment defaults
set on import (``vigia.tracking.MLFLOW_ENV_DEFAULTS``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import mlflow
import numpy as np
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException

from vigia.tracking.sklearn_compat import PreprocessorTransformer

logger = logging.getLogger(__name__)

MODEL_NAME = "model"
PLOTS_DIR = "plots"
MAX_PARAM_CHARS = 500
MAX_KEY_CHARS = 250
INPUT_EXAMPLE_ROWS = 5
_TRUSTED_PREFIXES = ("vigia.", "sklearn.", "numpy.", "scipy.")
_KEY_BAD_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")


@dataclass
class DetectorRunInfo:
    """Where a logged detector run lives.

    ``model_uri`` is the logged model's URI (``models:/m-…`` in MLflow 3); ``run_model_uri`` the
    equivalent ``runs:/<run_id>/model``. ``run_url`` is absolute for http(s) tracking servers and a
    UI-relative fragment (``#/experiments/<exp>/runs/<run>``) otherwise. ``artifact_dir`` is the run's
    local artifact folder when artifacts are on the local file system. ``artifacts`` maps logical
    names (``model``, plot keys) to artifact paths relative to the run's artifact root.
    """

    run_id: str
    experiment_id: str
    model_uri: str
    run_model_uri: str
    run_url: str
    artifact_uri: str
    artifact_dir: Path | None
    artifacts: dict[str, str] = field(default_factory=dict)


def sqlite_db_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI (``None`` for other stores / in-memory)."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    raw = tracking_uri[len("sqlite:///") :].split("?", 1)[0]
    if not raw or raw == ":memory:":
        return None
    return Path(unquote(raw))


def _local_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and uri:
        return Path(uri)
    return None


def _safe_experiment_dir(experiment: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", experiment).strip("._") or "default"


def configure(tracking_uri: str, experiment: str) -> str:
    """Point MLflow at ``tracking_uri``, create / get (restoring if deleted) ``experiment``; return its id.

    For ``sqlite:///`` URIs the database's folder is created and a new experiment stores its artifacts
    under ``<db folder>/mlartifacts/<experiment>`` (never the current working directory). A tracking server
    that cannot be reached (after the bounded retries) raises an ``MlflowException`` naming its URI.
    """
    db = sqlite_db_path(tracking_uri)
    artifact_location = None
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
        artifact_location = (db.parent.resolve() / "mlartifacts" / _safe_experiment_dir(experiment)).as_uri()
    mlflow.set_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    try:
        exp = client.get_experiment_by_name(experiment)
    except MlflowException as exc:
        if not tracking_uri.startswith(("http://", "https://")):
            raise
        retries, timeout = (os.environ.get(f"MLFLOW_HTTP_REQUEST_{k}") for k in ("MAX_RETRIES", "TIMEOUT"))
        raise MlflowException(
            f"MLflow tracking server {tracking_uri} (MlflowTracking.tracking_uri) cannot be used, after {retries} "
            f"retries with a {timeout} s timeout (MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_TIMEOUT): "
            f"{exc.message}"
        ) from exc
    if exp is None:
        try:
            experiment_id = client.create_experiment(experiment, artifact_location=artifact_location)
        except MlflowException:  # created concurrently
            exp = client.get_experiment_by_name(experiment)
            if exp is None:
                raise
            experiment_id = exp.experiment_id
    else:
        experiment_id = exp.experiment_id
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(experiment_id)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def ensure_ended(status: str = "FINISHED") -> int:
    """End every active run in this thread (innermost first) with ``status``; return how many were ended."""
    ended = 0
    while mlflow.active_run() is not None and ended < 100:
        mlflow.end_run(status=status)
        ended += 1
    return ended


def _sanitize_key(key: Any) -> str:
    return _KEY_BAD_CHARS.sub("_", str(key))[:MAX_KEY_CHARS] or "_"


def _param_value(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, default=str, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested dicts → dotted keys; values stringified (JSON where possible) and capped at 500 chars."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten_params(value, f"{name}."))
        else:
            out[_sanitize_key(name)] = _param_value(value)
    return out


def clean_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Finite numeric metrics only (None, NaN, ±inf and non-numbers are dropped)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if value is None or isinstance(value, str):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[_sanitize_key(key)] = number
    return out


def run_url(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """MLflow UI link: absolute for http(s) servers, else the UI-relative fragment."""
    fragment = f"#/experiments/{experiment_id}/runs/{run_id}"
    if tracking_uri.startswith(("http://", "https://")):
        return f"{tracking_uri.rstrip('/')}/{fragment}"
    return fragment


def _pip_requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for pkg in ("scikit-learn", "numpy", "scipy", "pandas", "skops", "cloudpickle", "tensorflow", "keras"):
        try:
            reqs.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            continue
    return reqs


def _serialization(model: Any) -> tuple[str, list[str] | None]:
    """skops with the model's own (Vigia / sklearn / numpy) types trusted; cloudpickle otherwise."""
    try:
        import skops.io as sio

        untrusted = sio.get_untrusted_types(data=sio.dumps(model))
    except Exception as exc:  # skops missing or the model is not skops-serialisable
        logger.debug("skops serialisation unavailable (%s); using cloudpickle", exc)
        return "cloudpickle", None
    if all(t.startswith(_TRUSTED_PREFIXES) for t in untrusted):
        return "skops", list(untrusted)
    return "cloudpickle", None


def build_pipeline(preprocessor: Any, estimator: Any, feature_names: list[str]) -> Any:
    """The logged model: ``Pipeline([("preprocess", PreprocessorTransformer), ("detector", estimator)])``."""
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("preprocess", PreprocessorTransformer(preprocessor, list(feature_names))),
            ("detector", estimator),
        ]
    )


def _log_keras_model(estimator: Any, preprocessor: Any, X: np.ndarray, artifacts: dict[str, str]) -> Any:
    """Keras flavour for window autoencoders: input = scaled windows ``(n, timesteps, sensors)``.

    The fitted preprocessor (scaling of the flattened rows) is logged beside it as ``preprocess.joblib``.
    """
    import tempfile

    import joblib
    from mlflow.models import infer_signature

    windows = estimator._windows(preprocessor.transform(X[:INPUT_EXAMPLE_ROWS]))
    signature = infer_signature(windows, estimator.reconstruct_windows(windows))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preprocess.joblib"
        joblib.dump(preprocessor, path)
        mlflow.log_artifact(str(path), artifact_path="preprocess")
    artifacts["preprocess"] = "preprocess/preprocess.joblib"
    return mlflow.tensorflow.log_model(
        estimator.model_, name=MODEL_NAME, signature=signature, input_example=windows,
        pip_requirements=_pip_requirements(),
    )  # fmt: skip


def log_detector_run(
    *,
    detector_name: str,
    detector_type: str,
    estimator: Any,
    preprocessor: Any,
    params: dict[str, Any],
    metrics: dict[str, float | None],
    tags: dict[str, str],
    input_example: np.ndarray,
    feature_names: list[str],
    plots: dict[str, Path] | None = None,
    parent_run_id: str | None = None,
) -> DetectorRunInfo:
    """Log one detector as an MLflow run (nested under ``parent_run_id`` when given) and end it.

    ``input_example`` holds RAW (unscaled) feature rows in ``feature_names`` order; its first rows become
    the model's input example and, with the pipeline's ``predict`` output, its signature. Uses the
    experiment / tracking URI set by :func:`configure`. The run is always ended (``FAILED`` when
    anything raises); an already active run becomes its parent.
    """
    import pandas as pd
    from mlflow.models import infer_signature

    X = np.asarray(input_example, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(feature_names) or len(X) == 0:
        raise ValueError(f"input_example must be 2-D with {len(feature_names)} columns, got shape {X.shape}")
    run_tags = {"vigia.detector": detector_name, "vigia.detector_type": detector_type}
    run_tags.update({_sanitize_key(k): str(v) for k, v in tags.items()})
    nested = mlflow.active_run() is not None
    run = mlflow.start_run(run_name=detector_name, nested=nested, parent_run_id=parent_run_id, tags=run_tags)
    status = RunStatus.to_string(RunStatus.FAILED)
    try:
        run_id, experiment_id = run.info.run_id, run.info.experiment_id
        all_params = {"detector_name": detector_name, "detector_type": detector_type, **params}
        if hasattr(preprocessor, "scaler"):
            all_params["preprocess"] = {
                "scaler": getattr(preprocessor, "scaler", None),
                "clip": getattr(preprocessor, "clip", None),
                "log_features": list(getattr(preprocessor, "log_feature_names", []) or []),
            }
        mlflow.log_params(flatten_params(all_params))
        clean = clean_metrics(metrics)
        if clean:
            mlflow.log_metrics(clean)
        artifacts: dict[str, str] = {}
        for key, path in (plots or {}).items():
            path = Path(path)
            if not path.is_file():
                logger.warning("plot %s (%s) not found; not logged", key, path)
                continue
            mlflow.log_artifact(str(path), artifact_path=PLOTS_DIR)
            artifacts[key] = f"{PLOTS_DIR}/{path.name}"
        if hasattr(estimator, "model_") and hasattr(estimator, "timesteps"):
            info = _log_keras_model(estimator, preprocessor, X, artifacts)
        else:
            pipeline = build_pipeline(preprocessor, estimator, feature_names)
            example = pd.DataFrame(X[:INPUT_EXAMPLE_ROWS], columns=list(feature_names))
            signature = infer_signature(example, pipeline.predict(example))
            serialization_format, trusted = _serialization(pipeline)
            info = mlflow.sklearn.log_model(
                pipeline,
                name=MODEL_NAME,
                signature=signature,
                input_example=example,
                pip_requirements=_pip_requirements(),
                serialization_format=serialization_format,
                skops_trusted_types=trusted,
            )
        artifacts[MODEL_NAME] = MODEL_NAME
        artifact_uri = mlflow.get_artifact_uri()
        status = RunStatus.to_string(RunStatus.FINISHED)
    finally:
        mlflow.end_run(status=status)
    tracking_uri = mlflow.get_tracking_uri()
    return DetectorRunInfo(
        run_id=run_id,
        experiment_id=experiment_id,
        model_uri=info.model_uri,
        run_model_uri=f"runs:/{run_id}/{MODEL_NAME}",
        run_url=run_url(tracking_uri, experiment_id, run_id),
        artifact_uri=artifact_uri,
        artifact_dir=_local_path(artifact_uri),
        artifacts=artifacts,
    )

"""Versioned model sets on disk, a champion pointer, and SHA-256-verified loading.

Layout under ``data/models/<dataset>/``::

    versions/<version>/model_set.joblib   the fitted ModelSet (preprocessing + detectors)
    versions/<version>/manifest.json      sha256 of the model file, split, rows, features
    versions/<version>/thresholds.json    calibrated thresholds (rule, value, sweep) per detector
    versions/<version>/reference.parquet  the training windows: the drift reference
    candidate.json                        the newest trained version (and the Dagster run that trained it)
    champion.json                         the version scoring uses (promoted by the champion rule)

``prune_versions`` keeps the newest versions (and always the champion's and the candidate's).
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from vigia.models.bundle import load_bundle, save_bundle
from vigia.pipeline.training import ModelSet

MODEL_FILE = "model_set.joblib"
MANIFEST_FILE = "manifest.json"
THRESHOLDS_FILE = "thresholds.json"
REFERENCE_FILE = "reference.parquet"
CANDIDATE = "candidate"
CHAMPION = "champion"


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    tmp.replace(path)


def version_dir(models_dir: Path, version: str) -> Path:
    return models_dir / "versions" / version


def new_version_id(run_id: str | None = None) -> str:
    """Sortable version id: UTC timestamp plus the first characters of the Dagster run id."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{(run_id or 'local')[:8]}"


def save_model_set(
    model_set: ModelSet, models_dir: Path, version: str, reference: pl.DataFrame, run_id: str | None = None
) -> dict[str, Any]:
    """Write a new version (model, manifest with its SHA-256, drift reference) and mark it the candidate of the
    run ``run_id``."""
    directory = version_dir(models_dir, version)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MODEL_FILE
    digest = save_bundle(model_set, path)
    reference.write_parquet(directory / REFERENCE_FILE)
    side = export_side_artifacts(model_set, models_dir, version)
    manifest = {
        "side_artifacts": side,
        "dataset": model_set.dataset,
        "version": version,
        "path": str(path),
        "sha256": digest,
        "trained_at": model_set.trained_at,
        "detectors": sorted(model_set.detectors),
        "feature_columns": model_set.feature_columns,
        "split": model_set.split_bounds,
        "n_rows": model_set.n_rows,
        "labelled": model_set.labelled,
    }
    _write_json(directory / MANIFEST_FILE, manifest)
    _write_json(models_dir / f"{CANDIDATE}.json", {"version": version, "sha256": digest, "run_id": run_id})
    return manifest


def export_side_artifacts(model_set: ModelSet, models_dir: Path, version: str) -> dict[str, str]:
    """Standalone copies next to the bundle: each autoencoder as ``<detector>.keras`` with its scaler
    (``<detector>.scaler.joblib``), and the event encoders fitted for this dataset. Returns name -> SHA-256."""
    directory = version_dir(models_dir, version)
    digests: dict[str, str] = {}
    for name, det in model_set.detectors.items():
        if getattr(det.estimator, "model_", None) is not None and hasattr(det.estimator, "timesteps"):
            from vigia.timeseries.autoencoders import save_autoencoder

            digests[f"{name}.keras"] = save_autoencoder(det.estimator.model_, model_set.preprocessor,
                                                        directory / f"{name}.keras")  # fmt: skip
    encoders = models_dir / "encoders.joblib"
    if encoders.exists():
        shutil.copy2(encoders, directory / "encoders.joblib")
        from vigia.models.bundle import sha256_file

        digests["encoders.joblib"] = sha256_file(directory / "encoders.joblib")
    return digests


def pointer(models_dir: Path, name: str) -> dict[str, Any]:
    """The ``candidate`` or ``champion`` pointer; FileNotFoundError with a hint when absent."""
    path = models_dir / f"{name}.json"
    if not path.exists():
        step = "detectors" if name == CANDIDATE else "champion"
        raise FileNotFoundError(f"no {name} model in {models_dir}: materialize the {step} asset first")
    return json.loads(path.read_text())


def has_pointer(models_dir: Path, name: str) -> bool:
    return (models_dir / f"{name}.json").exists()


def set_champion(models_dir: Path, version: str, details: dict[str, Any]) -> dict[str, Any]:
    """Point ``champion.json`` at ``version`` (its manifest SHA-256 is copied in)."""
    manifest = json.loads((version_dir(models_dir, version) / MANIFEST_FILE).read_text())
    record = {
        "version": version,
        "sha256": manifest["sha256"],
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **details,
    }
    _write_json(models_dir / f"{CHAMPION}.json", record)
    return record


VERSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # one folder name: no separator, never "." or ".."


def load_model_set(
    models_dir: Path, which: str = CHAMPION, version: str | None = None, run_id: str | None = None
) -> tuple[ModelSet, str]:
    """Load the ``candidate`` / ``champion`` model set, or an explicit ``version``, after checking its SHA-256.

    Returns (model set, version). An explicit version is checked against its own manifest. With ``run_id``, the
    pointer must have been written by that run (a run that trained the candidate uses its own model, never one
    that an overlapping run trained meanwhile): RuntimeError otherwise.
    """
    if version:
        if not VERSION_ID.fullmatch(version):
            raise ValueError(
                f"model version {version!r} is not a version id: give the name of one folder under "
                f"{models_dir / 'versions'} (like {new_version_id()!r}: letters, digits, '.', '_', '-'; "
                "no path separators or '..')"
            )
        directory = version_dir(models_dir, version)
        if not (directory / MANIFEST_FILE).exists():
            known = sorted(p.name for p in (models_dir / "versions").glob("*")) if models_dir.exists() else []
            raise FileNotFoundError(f"model version {version!r} not found in {models_dir} (known: {known})")
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
        return load_bundle(directory / MODEL_FILE, manifest["sha256"]), version
    ref = pointer(models_dir, which)
    if run_id is not None and ref.get("run_id") != run_id:
        raise RuntimeError(
            f"{which} replaced by run {ref.get('run_id') or '(unknown)'} (version {ref['version']}) while this run "
            f"({run_id}) trained; rerun"
        )
    directory = version_dir(models_dir, ref["version"])
    if not (directory / MANIFEST_FILE).exists():
        raise FileNotFoundError(
            f"{which}.json points at model version {ref['version']}, whose folder {directory} is missing or "
            "incomplete: restore it, or retrain (the champion asset then promotes the new candidate)"
        )
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    if manifest["sha256"] != ref["sha256"]:
        raise ValueError(f"{which} pointer and manifest of version {ref['version']} disagree on the model hash")
    return load_bundle(directory / MODEL_FILE, manifest["sha256"]), ref["version"]


def load_reference(models_dir: Path, version: str) -> pl.DataFrame:
    return pl.read_parquet(version_dir(models_dir, version) / REFERENCE_FILE, glob=False)


DRIFT_CALIBRATION_FILE = "drift_calibration.json"


def save_drift_calibration(thresholds: dict[str, float], models_dir: Path, version: str) -> Path:
    """Per-feature drift distance thresholds of a version (``drift.calibrate``)."""
    path = version_dir(models_dir, version) / DRIFT_CALIBRATION_FILE
    _write_json(path, thresholds)
    return path


def load_drift_calibration(models_dir: Path, version: str) -> dict[str, float] | None:
    """The version's drift thresholds, or None when it was trained without ``drift.calibrate``."""
    path = version_dir(models_dir, version) / DRIFT_CALIBRATION_FILE
    return {k: float(v) for k, v in json.loads(path.read_text()).items()} if path.exists() else None


def save_thresholds(thresholds: dict[str, Any], models_dir: Path, version: str) -> Path:
    """Thresholds of a version as JSON: ``{detector: ThresholdResult.to_dict()}``."""
    path = version_dir(models_dir, version) / THRESHOLDS_FILE
    _write_json(path, {name: t.to_dict() for name, t in thresholds.items()})
    return path


def load_threshold_details(models_dir: Path, version: str) -> dict[str, Any]:
    path = version_dir(models_dir, version) / THRESHOLDS_FILE
    if not path.exists():
        raise FileNotFoundError(f"no thresholds for model version {version}: materialize the thresholds asset first")
    return json.loads(path.read_text())


def load_thresholds(models_dir: Path, version: str) -> dict[str, float]:
    """The chosen threshold value per detector of a version."""
    return {name: float(t["threshold"]) for name, t in load_threshold_details(models_dir, version).items()}


DELETING_PREFIX = ".deleting-"


def prune_versions(models_dir: Path, keep: int | None) -> list[str]:
    """Delete the version folders older than the newest ``keep``, except the champion's and the candidate's.

    Version ids sort by time. Each folder is renamed away before it is deleted, so a reader never sees half a
    version, and a folder left by an interrupted prune is removed on the next call. ``keep=None`` deletes
    nothing. Returns the deleted version ids, oldest first.
    """
    root = models_dir / "versions"
    if keep is None or not root.is_dir():
        return []
    for leftover in root.glob(f"{DELETING_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    protected = {pointer(models_dir, n)["version"] for n in (CHAMPION, CANDIDATE) if has_pointer(models_dir, n)}
    versions = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    doomed = [v for v in versions[: max(len(versions) - keep, 0)] if v not in protected]
    for name in doomed:
        trash = root / f"{DELETING_PREFIX}{name}"
        (root / name).rename(trash)
        shutil.rmtree(trash)
    return doomed

"""Persist model sets and thresholds; model files are loaded only when their SHA-256 matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vigia.models.bundle import load_bundle, save_bundle
from vigia.pipeline.training import ModelSet

MODEL_FILE = "model_set.joblib"
MANIFEST_FILE = "manifest.json"
THRESHOLDS_FILE = "thresholds.json"


def save_model_set(model_set: ModelSet, directory: Path) -> dict[str, Any]:
    """Write the model set and a manifest recording its SHA-256; returns the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MODEL_FILE
    digest = save_bundle(model_set, path)
    manifest = {
        "dataset": model_set.dataset,
        "path": str(path),
        "sha256": digest,
        "trained_at": model_set.trained_at,
        "detectors": sorted(model_set.detectors),
        "feature_columns": model_set.feature_columns,
        "split": model_set.split_bounds,
        "n_rows": model_set.n_rows,
        "labelled": model_set.labelled,
    }
    tmp = directory / f".{MANIFEST_FILE}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    tmp.replace(directory / MANIFEST_FILE)
    return manifest


def load_model_set(directory: Path) -> ModelSet:
    """Load the model set after checking its hash against the manifest."""
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.exists():
        raise FileNotFoundError(f"no trained model in {directory}: materialize the detectors asset first")
    manifest = json.loads(manifest_path.read_text())
    return load_bundle(directory / MODEL_FILE, manifest["sha256"])


def save_thresholds(thresholds: dict[str, Any], directory: Path) -> Path:
    """Thresholds as JSON: ``{detector: ThresholdResult.to_dict()}``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / THRESHOLDS_FILE
    tmp = directory / f".{THRESHOLDS_FILE}.tmp"
    tmp.write_text(json.dumps({name: t.to_dict() for name, t in thresholds.items()}, indent=2, default=float))
    tmp.replace(path)
    return path


def load_thresholds(directory: Path) -> dict[str, float]:
    """The chosen threshold value per detector."""
    path = directory / THRESHOLDS_FILE
    if not path.exists():
        raise FileNotFoundError(f"no thresholds in {directory}: materialize the thresholds asset first")
    return {name: float(t["threshold"]) for name, t in json.loads(path.read_text()).items()}

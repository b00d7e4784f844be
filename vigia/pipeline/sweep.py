"""Grid search of a window autoencoder on the sensor kind: each trial is trained on the normal training
windows and scored by its best-F1 threshold on the validation windows (test windows are never used).
Windows are labelled as in ``window_features``: by ``label_windows`` when set; unknown labels stay unknown."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vigia.config import CalibrationConfig, DatasetConfig
from vigia.models.calibration import calibrate, has_both_classes
from vigia.models.detectors import estimator_params
from vigia.models.preprocess import FeaturePreprocessor
from vigia.pipeline.kinds import feature_columns
from vigia.pipeline.label_windows import label_frame, read_label_windows
from vigia.pipeline.sensor_features import sensor_windows
from vigia.pipeline.training import split_frame

SWEEP_FILE = "sweep.json"
SERIES_KEYS = ("window", "step")


def grid_trials(grid: dict[str, list[Any]], max_trials: int) -> list[dict[str, Any]]:
    """The cartesian product of ``grid`` in a stable order, at most ``max_trials`` trials."""
    keys = sorted(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))][
        :max_trials
    ]


def _labels(part: pl.DataFrame) -> np.ndarray:
    """Window labels as floats, NaN where unknown."""
    return part["label"].cast(pl.Float64).fill_null(np.nan).to_numpy()


def _trial(
    clean: pl.DataFrame,
    cfg: DatasetConfig,
    detector: str | None,
    params: dict[str, Any],
    intervals: pl.DataFrame | None = None,
) -> dict[str, Any]:
    from vigia.timeseries.ae_estimator import WindowAutoencoder

    start = time.perf_counter()
    base = next((d for d in cfg.detectors if d.name == detector), None)
    if base is None or not base.type.endswith("_autoencoder"):
        names = [d.name for d in cfg.detectors if d.type.endswith("_autoencoder")]
        raise ValueError(f"sweep of {cfg.name}: sweep.detector {detector!r} is not an autoencoder detector of the "
                         f"config (autoencoders: {names or 'none'})")  # fmt: skip
    series = cfg.series.model_copy(update={k: params[k] for k in SERIES_KEYS if k in params})
    trial_cfg = cfg.model_copy(update={"series": series})
    windows = sensor_windows(clean, trial_cfg).table
    if intervals is not None:  # the label file replaces the records' labels, as in window_features
        windows = label_frame(windows, intervals, entity_column=str(cfg.entity_key))
    parts = split_frame(windows, trial_cfg)
    cols = feature_columns(windows, cfg.entity_key)
    train, val = parts["train"], parts["validation"]
    y_train = _labels(train)
    # As train_models: normal = labelled 0 (unknown windows left out); all windows when none is labelled.
    normal = (y_train == 0) if (~np.isnan(y_train)).any() else np.ones(train.height, dtype=bool)
    prep = FeaturePreprocessor(log_columns=None).fit(train.select(cols).to_numpy(), y_train)
    arch = {
        **estimator_params(base),
        **{k: v for k, v in params.items() if k not in SERIES_KEYS},
        "timesteps": series.window,
    }
    kind = "conv" if base.type == "conv_autoencoder" else "lstm"
    if not normal.any() or val.height == 0:
        raise ValueError(
            f"sweep trial {params} of {cfg.name}: {series.window}-sample windows every {series.step} leave "
            f"{int(normal.sum())} normal training and {val.height} validation window(s); a trial needs "
            "both (shorten the window or add days)"
        )
    model = WindowAutoencoder(kind=kind, seed=cfg.seed, **arch)
    model.fit(prep.transform(train.select(cols).to_numpy()[normal]))
    scores = -model.score_samples(prep.transform(val.select(cols).to_numpy()))
    y_val = _labels(val)  # unknown windows (NaN) are left out of the metrics
    result = calibrate(scores, y_val, CalibrationConfig(strategy="auto"))
    metrics = result.metrics or {}
    return {
        "params": params,
        "rankable": has_both_classes(y_val),  # F1 means something only with positives and negatives
        "f1": metrics.get("f1"),
        "precision": metrics.get("precision"),
        "recall": metrics.get("recall"),
        "threshold_rule": result.rule,
        "n_train_windows": int(normal.sum()),
        "n_validation_windows": val.height,
        "epochs_run": model.history_.get("epochs_run"),
        "seconds": round(time.perf_counter() - start, 2),
    }


def sweep_detector(cfg: DatasetConfig) -> str | None:
    """The detector the sweep tunes: ``sweep.detector``, else the first autoencoder."""
    return cfg.sweep.detector or next((d.name for d in cfg.detectors if d.type.endswith("_autoencoder")), None)


def run_sweep(clean: pl.DataFrame, cfg: DatasetConfig) -> dict[str, Any]:
    """Every trial of ``cfg.sweep``, ranked by validation F1 (best first)."""
    sweep = cfg.sweep
    detector = sweep_detector(cfg)
    intervals = read_label_windows(cfg.label_windows) if cfg.label_windows else None
    trials = [_trial(clean, cfg, detector, p, intervals) for p in grid_trials(sweep.grid, sweep.max_trials)]
    return {"dataset": cfg.name, "detector": detector, "grid": sweep.grid, **rank_trials(trials)}


def rank_trials(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """``trials`` best validation F1 first, and the best one; none when the validation labels cannot rank them
    (no positive or no negative: every F1 is 0 and the first trial would win by its place in the grid)."""
    ranked = sorted(trials, key=lambda t: -1.0 if t["f1"] is None or np.isnan(t["f1"]) else t["f1"], reverse=True)
    if ranked and not ranked[0].get("rankable", True):
        note = "the validation windows hold no positive (or no negative): the trials cannot be ranked, none is applied"
        return {"trials": ranked, "best": None, "note": note}
    return {"trials": ranked, "best": ranked[0] if ranked else None}


def save_sweep(result: dict[str, Any], models_dir: Path) -> Path:
    path = models_dir / SWEEP_FILE
    path.write_text(json.dumps(result, indent=2, default=str))
    return path


def apply_best(cfg: DatasetConfig, models_dir: Path) -> tuple[DatasetConfig, dict[str, Any] | None]:
    """``cfg`` with the sweep's best autoencoder parameters merged in, when a sweep of the configured grid
    was recorded. A sweep of another grid or detector (the config changed since) is not applied: returns a note."""
    path = models_dir / SWEEP_FILE
    if not (cfg.sweep.apply_best and cfg.sweep.grid and path.exists()):
        return cfg, None
    result = json.loads(path.read_text())
    if result.get("grid") != cfg.sweep.grid or result.get("detector") != sweep_detector(cfg):
        return cfg, {"note": f"{path} records a sweep of another grid or detector: not applied (materialize ae_sweep)"}
    best = result.get("best")
    if not best:
        return cfg, None
    params = dict(best["params"])
    series = {k: params.pop(k) for k in SERIES_KEYS if k in params}
    if any(getattr(cfg.series, k) != v for k, v in series.items()):
        # Windows of another size need other window features: record it, train on the configured ones.
        best = {**best, "note": f"best window/step {series} differ from series config; not applied"}
    detectors = [
        d.model_copy(update={"params": {**d.params, **params}}) if d.name == result["detector"] else d
        for d in cfg.detectors
    ]
    return cfg.model_copy(update={"detectors": detectors}), best

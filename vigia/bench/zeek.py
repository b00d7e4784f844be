"""``vigia bench zeek``: window-level detection on labelled Zeek conn logs.

Protocol (per capture = per file): cleaned with the same ``stg_conn`` SQL model as the pipeline,
windowed with the same features, windows ordered by time and split in half. The detectors are fitted
on the first half's windows without malicious flows only. The second half (all windows) is evaluated; a
window is malicious if any of its flows is. Metrics are computed over the evaluation windows of all
captures pooled. The consensus flags a window when ``k`` detectors agree.

Per-detector thresholds (``calibration``), as the pipeline calibrates (best F1 where labels exist):

* ``best_f1`` (default): where a capture's first half holds malicious windows too, the threshold maximises F1
  on the first half, scored out of sample: each normal window by a model fitted on the other normal windows
  (``CALIBRATION_FOLDS`` contiguous folds in time), each malicious window by the model fitted on all of them.
  A capture whose first half has no malicious window falls back to the quantile rule. Nothing of the second
  half is used.
* ``quantile``: the ``threshold_quantile`` of the training windows' scores (no attack label used).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from vigia.config import DetectorConfig
from vigia.features.conn_windows import CONN_FEATURE_COLUMNS, build_conn_features
from vigia.models.calibration import best_f1_threshold
from vigia.models.detectors import FittedDetector, fit_detector, normalized_scores
from vigia.models.evaluation import binary_metrics, consensus_flags, consensus_score
from vigia.models.preprocess import FeaturePreprocessor
from vigia.paths import DEFAULT_SQL_ROOT
from vigia.sources.zeek_files import parse_conn_files
from vigia.warehouse.duck import ensure_schema
from vigia.warehouse.sql_models import discover_models, materialize_model

DEFAULT_DETECTORS = (
    DetectorConfig(name="iforest", type="isolation_forest", params={"n_estimators": 200}),
    DetectorConfig(name="lof", type="lof", params={"n_neighbors": 20}),
    DetectorConfig(name="ocsvm", type="ocsvm", params={"nu": 0.01}),
)


def load_clean_conn(path: Path) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Parse every conn log under ``path`` and clean it with the network ``stg_conn`` model (in memory)."""
    con = duckdb.connect()
    ensure_schema(con, "bench")
    parsed = parse_conn_files(
        con, path, dataset="bench", run_id="bench", staging_table="staging", rejects_table="bench.rejects"
    )
    con.execute("CREATE TABLE bench.raw_conn AS SELECT * FROM staging")
    stg = next(m for m in discover_models(DEFAULT_SQL_ROOT, "network") if m.name == "stg_conn")
    materialize_model(con, stg, "bench")
    frame = pl.from_arrow(con.sql("SELECT * FROM bench.stg_conn").to_arrow_table())
    con.close()
    return frame, {"read": parsed.read, "accepted": parsed.accepted, "rejected": parsed.rejected}


def _capture_windows(conn: pl.DataFrame, window_seconds: int) -> pl.DataFrame:
    return build_conn_features(conn.lazy(), window_seconds=window_seconds).collect().sort("window_start")


CALIBRATION_FOLDS = 5
CALIBRATIONS = ("best_f1", "quantile")


def _cross_fitted_scores(
    cfg: DetectorConfig, fitted: FittedDetector, x_normal: np.ndarray, x_malicious: np.ndarray, seed: int
) -> np.ndarray:
    """Out-of-sample scores of the training half: normal windows by contiguous-fold models, then malicious ones."""
    folds = np.array_split(np.arange(len(x_normal)), CALIBRATION_FOLDS)
    normal = np.empty(len(x_normal))
    for held in folds:
        rest = np.setdiff1d(np.arange(len(x_normal)), held)
        normal[held] = normalized_scores(fit_detector(cfg, x_normal[rest], seed), x_normal[held])
    return np.concatenate([normal, normalized_scores(fitted, x_malicious)])


def evaluate_capture(
    windows: pl.DataFrame,
    detectors: tuple[DetectorConfig, ...],
    k: int,
    quantile: float,
    seed: int,
    calibration: str = "best_f1",
) -> dict[str, Any] | None:
    """Train on the first half's normal windows, score the second half. None when a half is unusable."""
    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {', '.join(CALIBRATIONS)}, got {calibration!r}")
    labels = windows["label"].fill_null(0).to_numpy().astype(np.int64)
    half = windows.height // 2
    x = windows.select(CONN_FEATURE_COLUMNS).to_numpy().astype(np.float64)
    train_normal = np.zeros(windows.height, dtype=bool)
    train_normal[:half] = labels[:half] == 0
    train_malicious = np.zeros(windows.height, dtype=bool)
    train_malicious[:half] = labels[:half] == 1
    if train_normal.sum() < 10 or half == windows.height:
        return None
    labelled = calibration == "best_f1" and train_malicious.any() and train_normal.sum() >= 2 * CALIBRATION_FOLDS
    prep = FeaturePreprocessor().fit(x[train_normal])
    x_train, x_eval = prep.transform(x[train_normal]), prep.transform(x[half:])
    scores, flags = {}, {}
    for cfg in detectors:
        fitted = fit_detector(cfg, x_train, seed)
        if labelled:
            calib = _cross_fitted_scores(cfg, fitted, x_train, prep.transform(x[train_malicious]), seed)
            y_calib = np.r_[np.zeros(len(x_train)), np.ones(int(train_malicious.sum()))]
            threshold = best_f1_threshold(calib, y_calib)[0]
        else:
            threshold = float(np.quantile(normalized_scores(fitted, x_train), quantile))
        scores[cfg.name] = normalized_scores(fitted, x_eval)
        flags[cfg.name] = scores[cfg.name] > threshold
    return {
        "calibration": "best_f1" if labelled else "quantile",
        "y": labels[half:],
        "score": consensus_score(scores),
        "pred": consensus_flags(flags, k),
        **{f"pred_{n}": f for n, f in flags.items()},
        **{f"score_{n}": s for n, s in scores.items()},
    }


def run_zeek_benchmark(
    path: Path,
    *,
    window_seconds: int = 300,
    k: int = 2,
    threshold_quantile: float = 0.99,
    seed: int = 7,
    detectors: tuple[DetectorConfig, ...] = DEFAULT_DETECTORS,
    calibration: str = "best_f1",
) -> dict[str, Any]:
    """Run the protocol on every labelled capture under ``path``; returns the JSON-ready result."""
    start = time.perf_counter()
    conn, parse_stats = load_clean_conn(path)
    labelled = conn.filter(pl.col("label").is_not_null())
    captures, parts = [], []
    for (source,), group in labelled.group_by(["source_file"], maintain_order=True):
        windows = _capture_windows(group, window_seconds)
        result = evaluate_capture(windows, detectors, k, threshold_quantile, seed, calibration)
        captures.append(
            {
                "capture": Path(str(source)).name,
                "connections": group.height,
                "windows": windows.height,
                "malicious_windows": int(windows["label"].fill_null(0).sum()),
                "evaluated": result is not None,
            }
        )
        if result is not None:
            captures[-1]["threshold_rule"] = result.pop("calibration")
            parts.append(result)
            captures[-1].update(_metrics(result, "pred", "score"))
    if not parts:
        raise ValueError(f"no labelled capture under {path} had enough normal training windows")
    pooled = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    per_detector = {d.name: _metrics(pooled, f"pred_{d.name}", f"score_{d.name}") for d in detectors}
    overall = _metrics(pooled, "pred", "score")
    return {
        **{m: overall[m] for m in ("precision", "recall", "f1", "roc_auc", "average_precision")},
        "n_windows": len(pooled["y"]),
        "n_malicious_windows": int(pooled["y"].sum()),
        "confusion": {m: overall[m] for m in ("tp", "fp", "fn", "tn")},
        "seconds": round(time.perf_counter() - start, 2),
        "protocol": {
            "window_seconds": window_seconds,
            "consensus_k": k,
            "detectors": [d.name for d in detectors],
            "threshold": (
                f"best F1 on the training half (cross-fitted, {CALIBRATION_FOLDS} folds) where it holds malicious "
                f"windows, else the {threshold_quantile} quantile of training-normal scores"
                if calibration == "best_f1"
                else f"{threshold_quantile} quantile of training-normal scores"
            ),
            "calibration": calibration,
        },
        "per_detector": per_detector,
        "captures": captures,
        "records": parse_stats,
        "labelled_connections": labelled.height,
    }


def _metrics(part: dict[str, np.ndarray], pred: str, score: str) -> dict[str, Any]:
    m = binary_metrics(part["y"], part[score], part[pred])
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}

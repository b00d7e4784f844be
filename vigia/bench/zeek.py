"""``vigia bench zeek``: window-level detection on labelled Zeek conn logs.

Protocol (per capture = per file): cleaned with the same ``stg_conn`` SQL model as the pipeline,
windowed with the same features, windows ordered by time and split in half. The detectors are fitted
on the first half's windows without malicious flows only; thresholds come from the training scores
alone (no attack labels are used to tune them): a window is flagged by a detector when its normalised
score exceeds the ``threshold_quantile`` of the training windows' scores. The consensus flags a window
when ``k`` detectors agree. The second half (all windows) is evaluated; a window is malicious if any
of its flows is. Metrics are computed over the evaluation windows of all captures pooled.
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
from vigia.models.detectors import fit_detector, normalized_scores
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


def evaluate_capture(
    windows: pl.DataFrame, detectors: tuple[DetectorConfig, ...], k: int, quantile: float, seed: int
) -> dict[str, np.ndarray] | None:
    """Train on the first half's normal windows, score the second half. None when a half is unusable."""
    labels = windows["label"].fill_null(0).to_numpy().astype(np.int64)
    half = windows.height // 2
    x = windows.select(CONN_FEATURE_COLUMNS).to_numpy().astype(np.float64)
    train_normal = np.zeros(windows.height, dtype=bool)
    train_normal[:half] = labels[:half] == 0
    if train_normal.sum() < 10 or half == windows.height:
        return None
    prep = FeaturePreprocessor().fit(x[train_normal])
    x_train, x_eval = prep.transform(x[train_normal]), prep.transform(x[half:])
    scores, flags = {}, {}
    for cfg in detectors:
        fitted = fit_detector(cfg, x_train, seed)
        threshold = float(np.quantile(normalized_scores(fitted, x_train), quantile))
        scores[cfg.name] = normalized_scores(fitted, x_eval)
        flags[cfg.name] = scores[cfg.name] > threshold
    return {
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
) -> dict[str, Any]:
    """Run the protocol on every labelled capture under ``path``; returns the JSON-ready result."""
    start = time.perf_counter()
    conn, parse_stats = load_clean_conn(path)
    labelled = conn.filter(pl.col("label").is_not_null())
    captures, parts = [], []
    for (source,), group in labelled.group_by(["source_file"], maintain_order=True):
        windows = _capture_windows(group, window_seconds)
        result = evaluate_capture(windows, detectors, k, threshold_quantile, seed)
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
            "threshold": f"{threshold_quantile} quantile of training-normal scores",
        },
        "per_detector": per_detector,
        "captures": captures,
        "records": parse_stats,
        "labelled_connections": labelled.height,
    }


def _metrics(part: dict[str, np.ndarray], pred: str, score: str) -> dict[str, Any]:
    m = binary_metrics(part["y"], part[score], part[pred])
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}

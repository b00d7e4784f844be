"""SKAB (Skoltech Anomaly Benchmark): reading its folders, the per-file protocol and its binary metrics.

Layout: ``PATH/<subset>/<n>.csv`` with subsets ``valve1``, ``valve2``, ``other`` (labelled) and
``anomaly-free`` (no labels). Files are ``;``-separated with a ``datetime`` column, eight sensor
columns and the ``anomaly`` / ``changepoint`` labels.

Protocol (as in SKAB's evaluation notebooks): per file, the first :data:`TRAIN_ROWS` rows are the
training part (a ``StandardScaler`` and the detector are fitted on them, and the alarm threshold is
derived from the detector's scores on them only); the rest is the test part, which is scored.

Metrics (as SKAB's ``core/metrics.py`` ``metric="binary"``): the confusion counts of the point
predictions of all test parts pooled, then ``F1 = TP / (TP + (FN + FP) / 2)``,
``FAR = FP / (FP + TN) * 100`` and ``MAR = FN / (FN + TP) * 100`` (SKAB rounds them to 2 decimals).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score

TRAIN_ROWS = 400
FEATURE_COLUMNS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
LABEL_COLUMN = "anomaly"
DEFAULT_SUBSETS = ("valve1", "valve2")


@dataclass
class SkabFile:
    """One experiment: sensor values ``x`` ``(n, 8)``, point labels ``y`` ``(n,)`` (None if unlabelled)."""

    name: str  # "<subset>/<file>", e.g. "valve1/3.csv"
    subset: str
    x: np.ndarray
    y: np.ndarray | None
    timestamps: np.ndarray

    @property
    def n(self) -> int:
        return len(self.x)


def _sort_key(p: Path) -> tuple[str, int, str]:
    return (p.parent.name, int(p.stem) if p.stem.isdigit() else 10**9, p.name)


def discover_skab_files(path: str | Path, subsets: Iterable[str] | None = None) -> list[Path]:
    """CSV files under ``path`` (recursively), sorted by subset then number; ``subsets`` filters by parent folder.

    ``path`` may be a single CSV file too.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"SKAB folder not found: {path}")
    wanted = set(subsets) if subsets else None
    files = [p for p in path.rglob("*.csv") if wanted is None or p.parent.name in wanted]
    return sorted(files, key=_sort_key)


def read_skab_csv(path: str | Path) -> SkabFile:
    """Read one SKAB CSV (``;``-separated); ``y`` is None when the file has no ``anomaly`` column."""
    path = Path(path)
    df = pl.read_csv(path, separator=";", infer_schema_length=10_000, glob=False)
    missing = [c for c in FEATURE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing SKAB columns {missing}")
    x = df.select([pl.col(c).cast(pl.Float64) for c in FEATURE_COLUMNS]).to_numpy()
    if not np.isfinite(x).all():
        raise ValueError(f"{path}: non-finite sensor values")
    y = None
    if LABEL_COLUMN in df.columns:
        y = df[LABEL_COLUMN].cast(pl.Float64).fill_null(0.0).to_numpy().astype(np.int8)
    ts = df["datetime"].to_numpy() if "datetime" in df.columns else np.arange(len(df))
    return SkabFile(name=f"{path.parent.name}/{path.name}", subset=path.parent.name, x=x, y=y, timestamps=ts)


def load_skab(path: str | Path, subsets: Iterable[str] | None = None, labelled_only: bool = True) -> list[SkabFile]:
    """Every (labelled) SKAB file under ``path``."""
    files = [read_skab_csv(p) for p in discover_skab_files(path, subsets)]
    return [f for f in files if f.y is not None] if labelled_only else files


def protocol_split(f: SkabFile, train_rows: int = TRAIN_ROWS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, x_test, y_test)``: the first ``train_rows`` rows train, the rest is detected on."""
    if f.y is None:
        raise ValueError(f"{f.name} has no labels")
    if f.n <= train_rows:
        raise ValueError(f"{f.name} has {f.n} rows, needs more than {train_rows}")
    return f.x[:train_rows], f.x[train_rows:], f.y[train_rows:]


# --------------------------------------------------------------------------------------------- metrics


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, int]:
    """TP / TN / FP / FN of 0/1 arrays (as SKAB's ``confusion_matrix``: ``== 1`` is positive)."""
    t, p = np.asarray(y_true) == 1, np.asarray(y_pred) == 1
    if t.shape != p.shape:
        raise ValueError(f"y_true shape {t.shape} != y_pred shape {p.shape}")
    return {
        "tp": int((t & p).sum()),
        "tn": int((~t & ~p).sum()),
        "fp": int((~t & p).sum()),
        "fn": int((t & ~p).sum()),
    }


def skab_rates(tp: int, tn: int, fp: int, fn: int) -> dict[str, float]:
    """SKAB's F1, FAR % and MAR % from confusion counts (unrounded; 0 where undefined)."""
    f1 = tp / (tp + (fn + fp) / 2) if tp else 0.0
    far = 100.0 * fp / (fp + tn) if fp + tn else 0.0
    mar = 100.0 * fn / (fn + tp) if fn + tp else 0.0
    return {"f1": f1, "far": far, "mar": mar}


def skab_binary_metrics(
    y_true: Sequence[np.ndarray], y_pred: Sequence[np.ndarray], y_score: Sequence[np.ndarray] | None = None
) -> dict[str, Any]:
    """Pooled over files: counts, F1, FAR %, MAR % (unrounded plus SKAB's 2-decimal rounding), ROC-AUC of scores.

    ROC-AUC is computed on the pooled point scores when given; since scores of different files are not
    on a common scale, ``roc_auc_mean_per_file`` (the mean of per-file ROC-AUCs) is reported as well.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} label arrays for {len(y_pred)} prediction arrays")
    counts = {"tp": 0, "tn": 0, "fp": 0, "fn": 0}
    for t, p in zip(y_true, y_pred, strict=True):
        for k, v in confusion_counts(t, p).items():
            counts[k] += v
    rates = skab_rates(**counts)
    out: dict[str, Any] = {**counts, **rates}
    out.update({f"{k}_rounded": round(v, 2) for k, v in rates.items()})
    out["roc_auc"] = out["roc_auc_mean_per_file"] = None
    if y_score is not None:
        out["roc_auc"] = roc_auc(np.concatenate(list(y_true)), np.concatenate(list(y_score)))
        per_file = [roc_auc(t, s) for t, s in zip(y_true, y_score, strict=True)]
        per_file = [a for a in per_file if a is not None]
        out["roc_auc_mean_per_file"] = float(np.mean(per_file)) if per_file else None
    return out


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """ROC-AUC of a score (NaN scores count as the lowest); None with a single class."""
    y = np.asarray(y_true) == 1
    if y.all() or not y.any():
        return None
    s = np.asarray(score, dtype=np.float64)
    s = np.where(np.isfinite(s), s, np.nanmin(s[np.isfinite(s)]) - 1 if np.isfinite(s).any() else 0.0)
    return float(roc_auc_score(y, s))


# ------------------------------------------------------------------------------ windows -> point labels


def skab_window_to_point_flags(window_flags: np.ndarray, n: int, size: int) -> np.ndarray:
    """SKAB notebooks' rule (stride-1 windows): sample ``i`` is anomalous when windows ``i-size+1 .. i-1`` all are.

    Transcribed from the notebooks' loop ``for i in range(size - 1, m - size + 1): if all(flags[i - size + 1:i])``
    (``m`` = number of windows); samples outside that range are never flagged.
    """
    f = np.asarray(window_flags, dtype=bool)
    m = len(f)
    if m != max(n - size + 1, 0):
        raise ValueError(f"{m} windows for n={n}, size={size} (stride 1 expected)")
    out = np.zeros(n, dtype=bool)
    if size < 2:
        out[:m] = f
        return out
    csum = np.concatenate([[0], np.cumsum(~f, dtype=np.int64)])
    for i in range(size - 1, m - size + 1):
        out[i] = csum[i] - csum[i - size + 1] == 0
    return out


def covering_min(window_scores: np.ndarray, n: int, size: int) -> np.ndarray:
    """Per sample, the minimum score over the stride-1 windows that cover it (the "all windows agree" score)."""
    s = np.asarray(window_scores, dtype=np.float64)
    if len(s) != max(n - size + 1, 0):
        raise ValueError(f"{len(s)} windows for n={n}, size={size} (stride 1 expected)")
    out = np.full(n, np.inf)
    for off in range(size):
        np.minimum(out[off : off + len(s)], s, out=out[off : off + len(s)])
    return out


def smooth(x: np.ndarray, span: int, how: str = "median", causal: bool = False) -> np.ndarray:
    """Rolling mean / median of a 1-D series (centred, or trailing when ``causal``); edges use shorter windows."""
    x = np.asarray(x, dtype=np.float64)
    if span <= 1:
        return x.copy()
    s = pl.Series(x)
    fn = s.rolling_median if how == "median" else s.rolling_mean
    return fn(window_size=span, min_samples=1, center=not causal).to_numpy()

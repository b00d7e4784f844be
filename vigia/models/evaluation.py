"""Evaluation metrics, detector consensus and per-row feature attributions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score


def _none_if_nan(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def binary_metrics(
    y_true: np.ndarray | Sequence, y_score: np.ndarray | Sequence | None, y_pred: np.ndarray | Sequence
) -> dict[str, Any]:
    """Precision / recall / F1 of ``y_pred``, ROC-AUC / average precision of ``y_score``, confusion matrix.

    Rows with unknown labels (NaN / None) are dropped. ``roc_auc`` and ``average_precision`` are
    ``None`` when only one class is present (or no scores given); precision / recall / F1 are 0
    when undefined. ``support`` = positives, ``n`` = labelled rows evaluated.
    """
    y = np.asarray(y_true, dtype=float)
    pred = np.asarray(y_pred).astype(bool)
    if pred.shape != y.shape:
        raise ValueError(f"y_pred shape {pred.shape} != y_true shape {y.shape}")
    known = ~np.isnan(y)
    pos, pred = y[known] == 1, pred[known]
    tp, fp = int((pos & pred).sum()), int((~pos & pred).sum())
    fn, tn = int((pos & ~pred).sum()), int((~pos & ~pred).sum())
    roc_auc = average_precision = None
    if y_score is not None:
        score = np.asarray(y_score, dtype=float)
        if score.shape != y.shape:
            raise ValueError(f"y_score shape {score.shape} != y_true shape {y.shape}")
        score = score[known]
        if pos.any() and (~pos).any():
            roc_auc = _none_if_nan(roc_auc_score(pos, score))
            average_precision = _none_if_nan(average_precision_score(pos, score))
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "roc_auc": roc_auc,
        "average_precision": average_precision,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "support": int(pos.sum()),
        "n": int(known.sum()),
        "n_flagged": int(pred.sum()),
    }


def _stack(arrays: Mapping[str, np.ndarray], dtype: Any) -> np.ndarray:
    if not arrays:
        raise ValueError("need at least one detector")
    cols = [np.asarray(a, dtype=dtype) for a in arrays.values()]
    n = {c.shape for c in cols}
    if len(n) != 1 or cols[0].ndim != 1:
        raise ValueError(f"per-detector arrays must be 1-D and the same length, got shapes {sorted(n)}")
    return np.column_stack(cols)


def consensus_flags(flags: Mapping[str, np.ndarray], k: int) -> np.ndarray:
    """True where at least ``k`` of the detectors flag the row."""
    m = _stack(flags, bool)
    if not 1 <= k <= m.shape[1]:
        raise ValueError(f"consensus k={k} must be between 1 and the number of detectors ({m.shape[1]})")
    return m.sum(axis=1) >= k


def consensus_score(norm_scores: Mapping[str, np.ndarray]) -> np.ndarray:
    """Mean of the per-detector normalised scores (each in ``[0, 1]``)."""
    return _stack(norm_scores, float).mean(axis=1)


def agreeing_detectors(flags: Mapping[str, np.ndarray]) -> list[str]:
    """Per row, the names of the flagging detectors joined by ``","`` in dict order (``""`` if none)."""
    m = _stack(flags, bool)
    names = list(flags)
    if len(names) > 62:
        return [",".join(n for n, f in zip(names, row, strict=True) if f) for row in m]
    codes = m.astype(np.int64) @ (np.int64(1) << np.arange(len(names), dtype=np.int64))
    uniq, inv = np.unique(codes, return_inverse=True)
    labels = [",".join(n for i, n in enumerate(names) if (int(c) >> i) & 1) for c in uniq]
    return [labels[i] for i in inv.ravel()]


def _top_k(
    X_scaled: np.ndarray, feature_names: Sequence[str], k: int, raw_values: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Per row, the column indices of the ``k`` largest ``|z|`` (ties keep feature order), their ``z`` and values."""
    Z = np.atleast_2d(np.asarray(X_scaled, dtype=float))
    names = list(feature_names)
    if Z.shape[1] != len(names):
        raise ValueError(f"{len(names)} feature names for {Z.shape[1]} columns")
    raw = None if raw_values is None else np.atleast_2d(np.asarray(raw_values))
    if raw is not None and raw.shape != Z.shape:
        raise ValueError(f"raw_values shape {raw.shape} != X_scaled shape {Z.shape}")
    k = max(0, min(k, len(names)))
    mag = np.nan_to_num(np.abs(Z), nan=0.0)
    order = np.argsort(-mag, axis=1, kind="stable")[:, :k]
    z_top = np.take_along_axis(Z, order, axis=1)
    v_top = z_top if raw is None else np.take_along_axis(raw, order, axis=1)
    return order, z_top, v_top, names


def top_feature_contributions(
    X_scaled: np.ndarray,
    feature_names: Sequence[str],
    k: int,
    raw_values: np.ndarray | None = None,
) -> list[list[dict[str, Any]]]:
    """For each row, the ``k`` features with the largest ``|z|`` (the ones that drove the score).

    Returns one list per row of ``{feature, z, value}``, largest ``|z|`` first (ties keep feature
    order). ``value`` is the raw feature value from ``raw_values`` when given, else ``z``.
    """
    order, z_top, v_top, names = _top_k(X_scaled, feature_names, k, raw_values)
    names_top = np.asarray(names, dtype=object)[order].tolist()
    return [
        [{"feature": f, "z": z, "value": v} for f, z, v in zip(fs, zs, vs, strict=True)]
        for fs, zs, vs in zip(names_top, z_top.tolist(), v_top.tolist(), strict=True)  # Python floats
    ]


_NON_FINITE_JSON = {np.inf: "Infinity", -np.inf: "-Infinity"}  # what ``json.dumps`` writes (NaN: "NaN")


def _json_floats(values: np.ndarray) -> pl.Series:
    """``json.dumps`` of each float (``repr``; ``NaN`` / ``Infinity`` / ``-Infinity``), as a string column."""
    flat = values.ravel()
    text = list(map(repr, flat.tolist()))
    for i in np.flatnonzero(~np.isfinite(flat)):
        text[i] = _NON_FINITE_JSON.get(float(flat[i]), "NaN")
    return pl.Series(text, dtype=pl.String)


def top_feature_json(
    X_scaled: np.ndarray,
    feature_names: Sequence[str],
    k: int,
    raw_values: np.ndarray | None = None,
) -> pl.Series:
    """``json.dumps`` of each row of :func:`top_feature_contributions`, the same text, built column-wise
    (one string per row; the scoring path writes these for every distinct feature row)."""
    order, z_top, v_top, names = _top_k(X_scaled, feature_names, k, raw_values)
    if not (np.issubdtype(v_top.dtype, np.floating) and np.issubdtype(z_top.dtype, np.floating)):
        found = top_feature_contributions(X_scaled, feature_names, k, raw_values)
        return pl.Series("top_features", [json.dumps(row) for row in found], dtype=pl.String)
    n_rows, n_top = order.shape
    if n_top == 0:
        return pl.Series("top_features", ["[]"] * n_rows, dtype=pl.String)
    names_json = pl.Series([json.dumps(name) for name in names], dtype=pl.String)
    # one cell per (row, rank), row-major: row i's j-th feature is cell i * k + j
    cells = pl.DataFrame({
        "name": names_json.gather(order.ravel()), "z": _json_floats(z_top), "value": _json_floats(v_top),
    })  # fmt: skip
    parts = [pl.lit('{"feature": '), "name", pl.lit(', "z": '), "z", pl.lit(', "value": '), "value", pl.lit("}")]
    item = cells.select(pl.concat_str(parts).alias("item"))["item"]
    by_rank = [item.gather(np.arange(j, n_rows * n_top, n_top)).alias(f"item{j}") for j in range(n_top)]
    joined = pl.DataFrame(by_rank).select(pl.concat_str(pl.all(), separator=", ").alias("top_features"))
    return ("[" + joined["top_features"] + "]").rename("top_features")

"""Threshold calibration on validation scores (higher = more anomalous).

Convention: a row is flagged when ``score >= threshold`` (see :func:`flag`).

Named rules:

* ``percentile``: ``np.percentile(scores, p)`` (linear interpolation);
* ``mad``: ``median + k * 1.4826 * MAD`` (robust z-score of ``k``);
* ``iqr``: ``Q3 + k * IQR`` (Tukey fence);
* ``contamination``: ``np.quantile(scores, 1 - c)``;

Ties: when several validation scores equal a ``percentile``, ``mad``, ``iqr`` or ``contamination``
threshold, the threshold moves just above them (:func:`above_ties`). Those rules mean "above the bulk";
with ties at the cut (a constant sensor, MAD or IQR of 0) ``>=`` would flag the bulk itself.
* ``best_f1`` (labels needed): the threshold maximising validation F1 over every possible cut.
  Its candidates lie midway between consecutive distinct validation scores (the flagged set on
  validation is the same as cutting at the upper score, with a margin for unseen rows); only the
  winning candidate is added to the sweep.

``calibrate`` strategies: ``auto`` picks the best F1 over every candidate (percentile sweep, MAD,
IQR, contamination, best_f1) when the labelled validation rows contain both classes, else the
contamination quantile; the other strategies force their rule. Ties in F1 go to the higher
threshold (fewer alerts). Unknown labels (NaN / None) are ignored for metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vigia.config import CalibrationConfig

MAD_SCALE = 1.4826


def flag(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean alert mask: ``scores >= threshold``."""
    return np.asarray(scores, dtype=float) >= threshold


def _scores(scores: np.ndarray | Sequence[float]) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or len(s) == 0:
        raise ValueError(f"scores must be a non-empty 1-D array, got shape {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    return s


def _labels(labels: np.ndarray | Sequence | None, n: int) -> np.ndarray | None:
    """Float labels (NaN = unknown), or None when there are no labels at all."""
    if labels is None:
        return None
    y = np.asarray(labels, dtype=float)
    if y.shape != (n,):
        raise ValueError(f"labels have shape {y.shape}, expected ({n},)")
    return None if np.isnan(y).all() else y


def has_both_classes(labels: np.ndarray | Sequence | None) -> bool:
    """At least one labelled positive and one labelled negative."""
    if labels is None:
        return False
    y = np.asarray(labels, dtype=float)
    return bool((y == 1).any() and (y == 0).any())


def threshold_metrics(scores: np.ndarray, labels: np.ndarray | None, threshold: float) -> dict[str, Any]:
    """``n_flagged`` (all rows) plus precision / recall / f1 / tp / fp / fn on labelled rows."""
    s = np.asarray(scores, dtype=float)
    flagged = flag(s, threshold)
    out: dict[str, Any] = {"n_flagged": int(flagged.sum()), "flagged_rate": float(flagged.mean())}
    y = _labels(labels, len(s)) if labels is not None else None
    if y is None:
        return out
    known = ~np.isnan(y)
    pos, pred = y[known] == 1, flagged[known]
    tp, fp, fn = int((pos & pred).sum()), int((~pos & pred).sum()), int((pos & ~pred).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    out.update(precision=precision, recall=recall, f1=f1, tp=tp, fp=fp, fn=fn)
    return out


def _row(rule: str, param: float | None, threshold: float, scores: np.ndarray, labels: np.ndarray | None) -> dict:
    return {"rule": rule, "param": param, "threshold": float(threshold), **threshold_metrics(scores, labels, threshold)}


def above_ties(scores: np.ndarray, threshold: float) -> float:
    """``threshold``, or the next float above it when more than one score equals it."""
    return float(np.nextafter(threshold, np.inf)) if int((scores == threshold).sum()) > 1 else float(threshold)


def percentile_sweep(
    scores: np.ndarray | Sequence[float],
    labels: np.ndarray | Sequence | None = None,
    percentiles: Iterable[float] = range(80, 100),
) -> list[dict[str, Any]]:
    """One row per percentile: ``{rule, param, threshold, n_flagged, [precision, recall, f1, ...]}``."""
    s = _scores(scores)
    y = _labels(labels, len(s))
    return [_row("percentile", float(p), above_ties(s, float(np.percentile(s, p))), s, y) for p in percentiles]


def mad_threshold(scores: np.ndarray | Sequence[float], k: float = 3.5) -> float:
    """``median + k * 1.4826 * median(|s - median|)``."""
    s = _scores(scores)
    med = float(np.median(s))
    return above_ties(s, med + k * MAD_SCALE * float(np.median(np.abs(s - med))))


def iqr_threshold(scores: np.ndarray | Sequence[float], k: float = 1.5) -> float:
    """``Q3 + k * (Q3 - Q1)`` with ``np.percentile`` quartiles."""
    s = _scores(scores)
    q1, q3 = np.percentile(s, [25, 75])
    return above_ties(s, float(q3 + k * (q3 - q1)))


def contamination_threshold(scores: np.ndarray | Sequence[float], c: float) -> float:
    """``np.quantile(scores, 1 - c)``: flags about a fraction ``c`` of rows."""
    if not 0 < c < 1:
        raise ValueError(f"contamination must be in (0, 1), got {c}")
    s = _scores(scores)
    return above_ties(s, float(np.quantile(s, 1 - c)))


def best_f1_threshold(scores: np.ndarray | Sequence[float], labels: np.ndarray | Sequence) -> tuple[float, float]:
    """``(threshold, f1)`` maximising F1 on labelled rows; ties go to the higher threshold.

    Thresholds sit midway between consecutive distinct scores (the lowest score itself when
    flagging everything wins). Vectorised: one sort, cumulative counts.
    """
    s = _scores(scores)
    y = _labels(labels, len(s))
    if not has_both_classes(y):
        raise ValueError("best_f1 needs validation labels with at least one positive and one negative")
    known = ~np.isnan(y)
    s, pos = s[known], y[known] == 1
    order = np.argsort(-s, kind="stable")
    s_desc, pos_desc = s[order], pos[order]
    tp = np.cumsum(pos_desc)
    k = np.arange(1, len(s) + 1)
    # Only cut after the last row of each run of equal scores.
    ends = np.flatnonzero(np.r_[s_desc[1:] != s_desc[:-1], True])
    f1 = 2 * tp[ends] / (k[ends] + pos.sum())
    best = int(np.flatnonzero(f1 >= f1.max() - 1e-12)[0])  # first = highest threshold
    e = ends[best]
    threshold = s_desc[e] if e == len(s) - 1 else (s_desc[e] + s_desc[e + 1]) / 2.0
    return float(threshold), float(f1[best])


@dataclass
class ThresholdResult:
    """The chosen threshold, its rule and validation metrics, and every candidate evaluated."""

    rule: str
    param: float | None
    threshold: float
    strategy: str
    metrics: dict[str, Any] | None
    sweep: list[dict[str, Any]] = field(default_factory=list)
    n_validation: int = 0
    labelled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "param": self.param,
            "threshold": float(self.threshold),
            "strategy": self.strategy,
            "metrics": self.metrics,
            "sweep": self.sweep,
            "n_validation": self.n_validation,
            "labelled": self.labelled,
        }


def _pick_best_f1(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return max(rows, key=lambda r: (round(r["f1"], 12), r["threshold"]))


def calibrate(
    scores: np.ndarray | Sequence[float], labels: np.ndarray | Sequence | None, cfg: CalibrationConfig
) -> ThresholdResult:
    """Choose a threshold on validation scores according to ``cfg.strategy``."""
    s = _scores(scores)
    y = _labels(labels, len(s))
    both = has_both_classes(y)
    metric_labels = y if y is not None else None

    sweep = percentile_sweep(s, metric_labels, cfg.percentiles)
    if cfg.percentile not in [r["param"] for r in sweep]:
        sweep.append(_row("percentile", float(cfg.percentile), above_ties(s, float(np.percentile(s, cfg.percentile))),
                          s, y))
    mad_row = _row("mad", float(cfg.mad_k), mad_threshold(s, cfg.mad_k), s, y)
    iqr_row = _row("iqr", float(cfg.iqr_k), iqr_threshold(s, cfg.iqr_k), s, y)
    cont_row = _row("contamination", float(cfg.contamination), contamination_threshold(s, cfg.contamination), s, y)
    sweep += [mad_row, iqr_row, cont_row]
    if both:
        sweep.append(_row("best_f1", None, best_f1_threshold(s, y)[0], s, y))

    strategy = cfg.strategy
    if strategy in ("auto", "best_f1"):
        if both:
            chosen = _pick_best_f1(sweep)
        elif strategy == "best_f1":
            raise ValueError(
                "calibration strategy 'best_f1' needs validation labels with at least one positive and one negative"
            )
        else:
            chosen = cont_row
    elif strategy == "percentile":
        chosen = next(r for r in sweep if r["rule"] == "percentile" and r["param"] == float(cfg.percentile))
    else:
        chosen = {"mad": mad_row, "iqr": iqr_row, "contamination": cont_row}[strategy]

    metrics = {k: v for k, v in chosen.items() if k not in ("rule", "param", "threshold")}
    return ThresholdResult(
        rule=chosen["rule"],
        param=chosen["param"],
        threshold=chosen["threshold"],
        strategy=strategy,
        metrics=metrics if y is not None else None,
        sweep=sweep,
        n_validation=len(s),
        labelled=y is not None,
    )

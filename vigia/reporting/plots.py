"""Evaluation plots (PNG, matplotlib Agg backend, never opens a window).

Each function writes one PNG and returns its path. Labels may contain NaN (unknown rows are
dropped); a detector whose labels hold a single class gets no curve and is named in the title.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from vigia.atomic_files import atomic_path

Curves = Mapping[str, tuple[np.ndarray, np.ndarray]]


def _labelled(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Boolean labels and scores of labelled rows, or None when fewer than two classes remain."""
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(score, dtype=float)
    keep = ~np.isnan(y) & np.isfinite(s)
    y, s = y[keep] == 1, s[keep]
    if not (y.any() and (~y).any()):
        return None
    return y, s


def _save(fig: plt.Figure, path: str | Path) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:  # a failed save leaves the previous plot whole
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)
    return str(path)


def _title(base: str, skipped: list[str]) -> str:
    return base if not skipped else f"{base}\n(skipped, single-class labels: {', '.join(skipped)})"


def roc_plot(curves: Curves, path: str | Path, title: str = "ROC") -> str:
    """ROC curve per detector (``{name: (y_true, score)}``) with AUC in the legend."""
    fig, ax = plt.subplots(figsize=(6, 5))
    skipped = []
    for name, (y_true, score) in curves.items():
        data = _labelled(y_true, score)
        if data is None:
            skipped.append(name)
            continue
        fpr, tpr, _ = roc_curve(*data)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(*data):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    ax.set(xlabel="False positive rate", ylabel="True positive rate", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(_title(title, skipped), fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def pr_plot(curves: Curves, path: str | Path, title: str = "Precision-Recall") -> str:
    """Precision-recall curve per detector with average precision in the legend."""
    fig, ax = plt.subplots(figsize=(6, 5))
    skipped = []
    for name, (y_true, score) in curves.items():
        data = _labelled(y_true, score)
        if data is None:
            skipped.append(name)
            continue
        precision, recall, _ = precision_recall_curve(*data)
        ax.plot(recall, precision, label=f"{name} (AP {average_precision_score(*data):.3f})")
    ax.set(xlabel="Recall", ylabel="Precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(_title(title, skipped), fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", fontsize=8)
    return _save(fig, path)


def score_distribution_plot(
    scores_by_name: Mapping[str, np.ndarray],
    labels: np.ndarray | None,
    thresholds: Mapping[str, float] | None,
    path: str | Path,
    bins: int = 50,
) -> str:
    """One histogram panel per detector (normal vs malicious when labelled), threshold as a vertical line."""
    names = list(scores_by_name)
    if not names:
        raise ValueError("score_distribution_plot needs at least one detector")
    thresholds = thresholds or {}
    fig, axes = plt.subplots(len(names), 1, figsize=(7, 2.6 * len(names)), squeeze=False)
    y = None if labels is None else np.asarray(labels, dtype=float)
    for ax, name in zip(axes[:, 0], names, strict=True):
        s = np.asarray(scores_by_name[name], dtype=float)
        finite = np.isfinite(s)
        edges = np.histogram_bin_edges(s[finite], bins=bins) if finite.any() else bins
        groups = [("all", finite)] if y is None else [
            ("normal", finite & (y == 0)),
            ("malicious", finite & (y == 1)),
            ("unlabelled", finite & np.isnan(y)),
        ]
        for label, mask in groups:
            if mask.any():
                ax.hist(s[mask], bins=edges, alpha=0.55, label=f"{label} ({int(mask.sum())})", log=True)
        note = ""
        if y is not None and not ((y == 0).any() and (y == 1).any()):
            note = " (single-class labels)"
        if name in thresholds and thresholds[name] is not None:
            ax.axvline(float(thresholds[name]), color="red", linestyle="--", label=f"threshold {thresholds[name]:.4g}")
        ax.set_title(f"{name}{note}", fontsize=10)
        ax.set_ylabel("rows (log)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel("score")
    return _save(fig, path)

"""Business value of binary decisions: a configurable value matrix, threshold choice, per-record value.

Conventions
-----------
* The positive class is the one the business acts on (default, fraud, "bad" applicant); a record is
  flagged (``decision = 1``) when its probability is ``>= threshold``.
* :class:`ValueMatrix` holds four **non-negative magnitudes**: ``tp_benefit`` (value gained by a true
  positive), ``fp_cost`` (cost of a false positive), ``fn_cost`` (cost of a false negative) and
  ``tn_value`` (value of a true negative). The signed value of an outcome is ``+tp_benefit``,
  ``-fp_cost``, ``-fn_cost``, ``+tn_value``. A pure cost matrix has ``tp_benefit = tn_value = 0`` and
  its cost per record is ``-value per record``.
* Realised value uses labels (``outcome_values``); expected value uses calibrated probabilities
  (``expected_values``): flagged → ``p·tp_benefit − (1−p)·fp_cost``, not flagged →
  ``(1−p)·tn_value − p·fn_cost``.
* :func:`choose_threshold` sweeps every distinct predicted probability of a validation set (plus
  "flag nothing") and returns the threshold maximising the total realised value; ties go to the
  highest threshold (fewest flags). The returned threshold is the lowest flagged probability, so the
  same decisions are reproduced with ``probability >= threshold``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

ArrayLike = np.ndarray | Sequence[float]


@dataclass(frozen=True)
class ValueMatrix:
    """Value of each outcome; costs are given as positive magnitudes (see the module docstring)."""

    tp_benefit: float = 0.0
    fp_cost: float = 1.0
    fn_cost: float = 1.0
    tn_value: float = 0.0

    def __post_init__(self) -> None:
        for name, v in asdict(self).items():
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"ValueMatrix.{name} must be a finite non-negative magnitude, got {v}")

    @classmethod
    def from_cost_matrix(cls, fp_cost: float, fn_cost: float) -> ValueMatrix:
        """A pure cost matrix (correct decisions are worth 0)."""
        return cls(tp_benefit=0.0, fp_cost=fp_cost, fn_cost=fn_cost, tn_value=0.0)

    @classmethod
    def parse(cls, text: str) -> ValueMatrix:
        """``"fp=1,fn=5"`` or ``"tp=100,fp=5,fn=50,tn=0"`` (keys tp, fp, fn, tn; missing keys are 0)."""
        keys = {"tp": "tp_benefit", "fp": "fp_cost", "fn": "fn_cost", "tn": "tn_value"}
        values = dict.fromkeys(keys.values(), 0.0)
        for part in (p.strip() for p in text.split(",") if p.strip()):
            key, sep, raw = part.partition("=")
            key = key.strip().lower()
            if not sep or key not in keys:
                raise ValueError(f"bad value-matrix entry {part!r} in {text!r}: expected tp=, fp=, fn= or tn=")
            try:
                values[keys[key]] = float(raw)
            except ValueError:
                raise ValueError(f"bad number {raw!r} for {key} in {text!r}") from None
        return cls(**values)

    @property
    def is_cost_matrix(self) -> bool:
        return self.tp_benefit == 0 and self.tn_value == 0

    def bayes_threshold(self) -> float:
        """Probability above which flagging has the higher expected value (for calibrated probabilities)."""
        denom = self.tp_benefit + self.fp_cost + self.fn_cost + self.tn_value
        if denom == 0:
            return 0.5
        return (self.fp_cost + self.tn_value) / denom

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _arrays(*arrays: ArrayLike) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=float).ravel() for a in arrays]
    if len({a.shape for a in out}) != 1:
        raise ValueError(f"arrays must have the same length, got {[a.size for a in out]}")
    return out


def outcome_values(vm: ValueMatrix, y_true: ArrayLike, decision: ArrayLike) -> np.ndarray:
    """Realised signed value of each record (labels 1 = positive, decision 1 = flagged)."""
    y, d = _arrays(y_true, decision)
    pos, flag = y == 1, d == 1
    return np.where(flag, np.where(pos, vm.tp_benefit, -vm.fp_cost), np.where(pos, -vm.fn_cost, vm.tn_value)).astype(
        float
    )


def expected_values(vm: ValueMatrix, probability: ArrayLike, decision: ArrayLike) -> np.ndarray:
    """Expected signed value of each record given its (calibrated) probability and the decision."""
    p, d = _arrays(probability, decision)
    flagged = p * vm.tp_benefit - (1 - p) * vm.fp_cost
    passed = (1 - p) * vm.tn_value - p * vm.fn_cost
    return np.where(d == 1, flagged, passed)


def confusion(y_true: ArrayLike, decision: ArrayLike) -> dict[str, int]:
    y, d = _arrays(y_true, decision)
    pos, flag = y == 1, d == 1
    return {
        "tp": int((pos & flag).sum()),
        "fp": int((~pos & flag).sum()),
        "fn": int((pos & ~flag).sum()),
        "tn": int((~pos & ~flag).sum()),
    }


def batch_value(
    vm: ValueMatrix, probability: ArrayLike, decision: ArrayLike, y_true: ArrayLike | None = None
) -> dict[str, Any]:
    """Per-batch totals: expected value (from probabilities) and, with labels, the realised value."""
    ev = expected_values(vm, probability, decision)
    n = int(ev.size)
    out: dict[str, Any] = {
        "n": n,
        "n_flagged": int((np.asarray(decision) == 1).sum()),
        "expected_value_total": float(ev.sum()),
        "expected_value_per_record": float(ev.mean()) if n else 0.0,
    }
    if y_true is not None:
        rv = outcome_values(vm, y_true, decision)
        out.update(
            realised_value_total=float(rv.sum()),
            realised_value_per_record=float(rv.mean()) if n else 0.0,
            **confusion(y_true, decision),
        )
        if vm.is_cost_matrix:
            out["cost_per_record"] = -out["realised_value_per_record"]
    return out


def labelled_value(vm: ValueMatrix, decision: ArrayLike, y_true: ArrayLike) -> dict[str, Any]:
    """Realised value of the decisions on the rows whose outcome is known (``y_true`` NaN/None = unknown)."""
    d, y = _arrays(decision, y_true)
    known = ~np.isnan(y)
    out: dict[str, Any] = {"labelled_rows": int(known.sum())}
    if known.any():
        rv = outcome_values(vm, y[known], d[known])
        out.update(
            realised_value_total=float(rv.sum()),
            realised_value_per_record=float(rv.mean()),
            **confusion(y[known], d[known]),
        )
        if vm.is_cost_matrix:
            out["cost_per_record"] = -out["realised_value_per_record"]
    return out


def expected_cost_per_applicant(y_true: ArrayLike, decision: ArrayLike, *, fp_cost: float, fn_cost: float) -> float:
    """Mean misclassification cost: ``(FP·fp_cost + FN·fn_cost) / n``."""
    c = confusion(y_true, decision)
    n = sum(c.values())
    if n == 0:
        raise ValueError("expected_cost_per_applicant needs at least one record")
    return (c["fp"] * fp_cost + c["fn"] * fn_cost) / n


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold and its outcome on the data it was chosen on."""

    threshold: float
    criterion: str
    score: float
    value_total: float | None
    value_per_record: float | None
    n: int
    n_flagged: int
    tp: int
    fp: int
    fn: int
    tn: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sweep(y_true: ArrayLike, probability: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Cut points (thresholds, cumulative TP and FP for 'flag the top k'), k = 0 first; positives, negatives."""
    y, p = _arrays(y_true, probability)
    if y.size == 0:
        raise ValueError("threshold choice needs at least one labelled record")
    if not np.isfinite(p).all():
        raise ValueError("probabilities must be finite")
    order = np.argsort(-p, kind="stable")
    p_desc, pos_desc = p[order], y[order] == 1
    ends = np.flatnonzero(np.r_[p_desc[1:] != p_desc[:-1], True])  # last index of each run of equal p
    tp = np.r_[0, np.cumsum(pos_desc)[ends]]
    fp = np.r_[0, np.cumsum(~pos_desc)[ends]]
    thresholds = np.r_[np.nextafter(p_desc[0], np.inf), p_desc[ends]]
    return thresholds, tp, fp, int(pos_desc.sum()), int((~pos_desc).sum())


def _choice(criterion: str, scores: np.ndarray, thresholds, tp, fp, n_pos, n_neg, vm) -> ThresholdChoice:
    best = int(np.flatnonzero(scores >= scores.max() - 1e-12)[0])  # first = highest threshold
    return _outcome(criterion, float(thresholds[best]), float(scores[best]), int(tp[best]), int(fp[best]), n_pos,
                    n_neg, vm)


def _outcome(
    criterion: str, threshold: float, score: float, tp: int, fp: int, n_pos: int, n_neg: int, vm: ValueMatrix | None
) -> ThresholdChoice:
    fn, tn = n_pos - tp, n_neg - fp
    n = n_pos + n_neg
    value = None
    if vm is not None:
        value = tp * vm.tp_benefit - fp * vm.fp_cost - fn * vm.fn_cost + tn * vm.tn_value
    return ThresholdChoice(
        threshold=threshold,
        criterion=criterion,
        score=score,
        value_total=None if value is None else float(value),
        value_per_record=None if value is None else float(value / n),
        n=n,
        n_flagged=tp + fp,
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
    )


def threshold_choice_at(
    y_true: ArrayLike, probability: ArrayLike, threshold: float, vm: ValueMatrix, criterion: str
) -> ThresholdChoice:
    """The outcome of a threshold fixed in advance (e.g. :meth:`ValueMatrix.bayes_threshold`); score = total value."""
    y, p = _arrays(y_true, probability)
    pos, flag = y == 1, p >= threshold
    tp, fp = int((pos & flag).sum()), int((~pos & flag).sum())
    choice = _outcome(criterion, float(threshold), 0.0, tp, fp, int(pos.sum()), int((~pos).sum()), vm)
    return replace(choice, score=float(choice.value_total or 0.0))


def choose_threshold(y_true: ArrayLike, probability: ArrayLike, vm: ValueMatrix) -> ThresholdChoice:
    """Threshold maximising the total realised value on labelled (validation) records."""
    thresholds, tp, fp, n_pos, n_neg = _sweep(y_true, probability)
    value = tp * vm.tp_benefit - fp * vm.fp_cost - (n_pos - tp) * vm.fn_cost + (n_neg - fp) * vm.tn_value
    return _choice("value", value.astype(float), thresholds, tp, fp, n_pos, n_neg, vm)


def choose_f1_threshold(y_true: ArrayLike, probability: ArrayLike) -> ThresholdChoice:
    """Threshold maximising F1 (used when no value matrix is configured)."""
    thresholds, tp, fp, n_pos, n_neg = _sweep(y_true, probability)
    f1 = np.where(tp > 0, 2 * tp / np.maximum(tp + fp + n_pos, 1), 0.0).astype(float)
    return _choice("f1", f1, thresholds, tp, fp, n_pos, n_neg, None)

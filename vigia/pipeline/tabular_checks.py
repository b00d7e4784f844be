"""Plain evaluations behind the supervised tabular kind's asset checks (the assets turn them into results)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from vigia.tabular.extracts import ExtractsResult


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)


def rows_accounted(result: ExtractsResult) -> CheckOutcome:
    """Every record read is either in the table or in the rejects table: read = accepted + rejected."""
    read, accepted, rejected = result.rows_read, result.rows_accepted, result.rejects.height
    return CheckOutcome(read == accepted + rejected, {"read": read, "accepted": accepted, "rejected": rejected})


def better_than_chance(metrics: Mapping[str, Any]) -> CheckOutcome:
    """The chosen model ranks the held-out rows better than chance: ROC-AUC above 0.5 and average precision
    above the held-out positive rate (what a random score gets). Undefined figures (one class held out) fail."""
    auc, ap = metrics.get("roc_auc"), metrics.get("average_precision")
    n, positives = int(metrics.get("n") or 0), int(metrics.get("positives") or 0)
    base_rate = positives / n if n else None
    passed = auc is not None and ap is not None and base_rate is not None and auc > 0.5 and ap > base_rate
    meta = {"roc_auc": auc, "average_precision": ap, "positive_rate": base_rate, "heldout_rows": n}
    return CheckOutcome(passed, meta)


def every_row_scored(batch_rows: int, scored: pl.DataFrame) -> CheckOutcome:
    """One prediction per batch row, each a probability in [0, 1] and a 0/1 decision."""
    p = pl.col("probability")
    bad_prob = scored.filter(p.is_null() | p.is_nan() | (p < 0) | (p > 1)).height
    bad_decision = scored.filter(~pl.col("decision").is_in([0, 1]) | pl.col("decision").is_null()).height
    passed = scored.height == batch_rows and bad_prob == 0 and bad_decision == 0
    return CheckOutcome(passed, {"batch_rows": batch_rows, "scored_rows": scored.height,
                                 "invalid_probabilities": bad_prob, "invalid_decisions": bad_decision})  # fmt: skip


def drift_within_threshold(score: float, threshold: float, drifted_features: list[str]) -> CheckOutcome:
    """The batch's drift score is at most the threshold (above it, the drift sensor retrains)."""
    return CheckOutcome(
        score <= threshold, {"drift_score": score, "threshold": threshold, "drifted_features": drifted_features}
    )

"""Plain evaluations behind the supervised tabular kind's asset checks (the assets turn them into results)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


def drift_within_threshold(score: float, threshold: float, drifted_features: list[str]) -> CheckOutcome:
    """The batch's drift score is at most the threshold (above it, the drift sensor retrains)."""
    return CheckOutcome(
        score <= threshold, {"drift_score": score, "threshold": threshold, "drifted_features": drifted_features}
    )

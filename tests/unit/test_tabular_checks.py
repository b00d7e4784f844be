"""The evaluations behind the supervised kind's asset checks, each shown passing and failing."""

from __future__ import annotations

import polars as pl

from vigia.pipeline.tabular_checks import (
    better_than_chance,
    drift_within_threshold,
    rows_accounted,
)
from vigia.tabular.extracts import ExtractsResult, empty_rejects


def _extracts(rows_read: int, accepted: int, rejected: int) -> ExtractsResult:
    schema = empty_rejects().schema
    rejects = pl.DataFrame({c: [None] * rejected for c in schema}, schema=schema)
    return ExtractsResult(
        frame=pl.DataFrame({"x": list(range(accepted))}), files=["a.csv"], numeric_columns=["x"],
        categorical_columns=[], rows_read=rows_read, rejects=rejects, extra_columns={}, type_errors={},
        skipped_files={}, duplicate_ids=0, fingerprint="f",
    )  # fmt: skip


def test_rows_accounted() -> None:
    ok = rows_accounted(_extracts(10, 8, 2))
    assert ok.passed and ok.metadata == {"read": 10, "accepted": 8, "rejected": 2}
    assert not rows_accounted(_extracts(10, 7, 2)).passed  # a row lost on the way


def test_better_than_chance() -> None:
    good = {"roc_auc": 0.74, "average_precision": 0.41, "n": 200, "positives": 40}
    outcome = better_than_chance(good)
    assert outcome.passed and outcome.metadata["positive_rate"] == 0.2
    assert not better_than_chance({**good, "roc_auc": 0.5}).passed
    assert not better_than_chance({**good, "average_precision": 0.19}).passed  # below what a random score gets
    assert not better_than_chance({**good, "roc_auc": None, "average_precision": None}).passed  # one class held out


def test_drift_within_threshold() -> None:
    assert drift_within_threshold(0.15, 0.15, []).passed
    above = drift_within_threshold(0.42, 0.15, ["age", "income"])
    assert not above.passed and above.metadata["drifted_features"] == ["age", "income"]

"""Synthetic customer table: rates, missing values, drift vs no drift under dataset_drift."""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl
import pytest

from vigia.monitoring import dataset_drift
from vigia.tabular.synth import CATEGORICAL_COLUMNS, FEATURE_COLUMNS, NUMERIC_COLUMNS, generate_customers


def test_layout_rate_and_missing_values() -> None:
    df = generate_customers(5000, 1)
    assert df.height == 5000 and set(FEATURE_COLUMNS) <= set(df.columns)
    assert all(df.schema[c].is_numeric() for c in NUMERIC_COLUMNS)
    assert all(df.schema[c] == pl.String for c in CATEGORICAL_COLUMNS)
    assert df["target"].dtype == pl.Int8
    assert 0.17 < df["target"].mean() < 0.23
    nulls = {c: df[c].null_count() for c in df.columns if df[c].null_count()}
    assert {"income", "tenure_months", "region", "channel"} <= set(nulls)
    assert df["customer_id"].n_unique() == 5000
    assert 0.07 < generate_customers(5000, 2, target_rate=0.1)["target"].mean() < 0.13


def test_deterministic_and_target_driven_by_features() -> None:
    a, b = generate_customers(2000, 7), generate_customers(2000, 7)
    assert a.equals(b)
    df = generate_customers(5000, 3)
    hi = df.filter(pl.col("utilisation") > 0.5)["target"].mean()
    lo = df.filter(pl.col("utilisation") < 0.2)["target"].mean()
    assert hi > lo + 0.1


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(TypeError, match="bogus"):
        generate_customers(10, 1, bogus=1)


def test_drifted_sample_scores_above_and_independent_sample_below_threshold() -> None:
    ref = generate_customers(5000, 11)
    same = dataset_drift(ref, generate_customers(5000, 12), features=list(FEATURE_COLUMNS))
    drifted = dataset_drift(ref, generate_customers(5000, 13, drifted=True), features=list(FEATURE_COLUMNS))
    assert same.score < 0.15 and not same.drifted
    assert drifted.score > 0.15 and drifted.drifted
    assert {"age", "utilisation", "channel"} <= set(drifted.drifted_features)


def test_synthetic_extracts_are_rewritten_only_when_their_content_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retraining run must not touch the landing folder: a batch dropped there since stays the newest."""
    from vigia.config import DatasetConfig
    from vigia.pipeline.tabular import write_synthetic_extracts
    from vigia.tabular.extracts import newest_extract

    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path))
    raw = {"name": "c", "kind": "tabular_supervised", "label_column": "target", "entity_key": "customer_id",
           "source": {"type": "synthetic_customers", "params": {"extracts": 2, "rows_per_extract": 200,
                                                                "batch_rows": 100}}}
    root = write_synthetic_extracts(DatasetConfig.model_validate(raw))
    files = sorted(root.rglob("*.csv"))
    assert [p.name for p in files] == ["batch_001.csv", "p1.csv", "p2.csv"]
    past = time.time() - 600
    for p in files:
        os.utime(p, (past, past))
    generate_customers(50, seed=9).drop("target").write_csv(root / "inference" / "batch_002.csv")
    write_synthetic_extracts(DatasetConfig.model_validate(raw))
    assert all(p.stat().st_mtime == pytest.approx(past) for p in files)
    assert newest_extract(root / "inference").name == "batch_002.csv"
    # Switching the batch to the drifted population does rewrite it.
    raw["source"]["params"]["drifted_batch"] = True
    write_synthetic_extracts(DatasetConfig.model_validate(raw))
    assert newest_extract(root / "inference").name == "batch_001.csv"

"""Tabular fixes: stable held-out rows, empty / all-rejected targets, numeric inputs that arrive as text,
the synthetic target rate with population keys, case-insensitive positive labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vigia.config import DatasetConfig
from vigia.pipeline.tabular import read_training
from vigia.sources.errors import SourceError
from vigia.tabular.credit_data import load_credit_table
from vigia.tabular.model import (
    check_trainable,
    fit_credit_model,
    heldout_mask,
    kind_changes,
    non_numeric_values,
    predict_batch,
)
from vigia.tabular.synth import generate_customers


def test_heldout_rows_keep_their_side_when_rows_are_added_or_reordered() -> None:
    data = generate_customers(5000, 1)
    mask = heldout_mask(data, "target", test_size=0.2, seed=3, key="customer_id")
    assert 0.18 < mask.mean() < 0.22
    more = pl.concat([generate_customers(2000, 2, drifted=True), data.reverse()])
    again = heldout_mask(more, "target", test_size=0.2, seed=3, key="customer_id")
    assert np.array_equal(again[2000:], mask[::-1])
    # Without a key (or with a missing one), the row's content decides: the same row is on the same side.
    no_id = data.drop("customer_id")
    by_content = heldout_mask(no_id, "target", test_size=0.2, seed=3)
    assert np.array_equal(heldout_mask(no_id.reverse(), "target", test_size=0.2, seed=3), by_content[::-1])
    assert not np.array_equal(by_content, heldout_mask(no_id, "target", test_size=0.2, seed=4))
    null_ids = data.with_columns(pl.lit(None, dtype=pl.String).alias("customer_id"))
    assert heldout_mask(null_ids, "target", test_size=0.2, seed=3, key="customer_id").mean() > 0.15


def test_an_empty_target_is_named_not_a_numpy_error() -> None:
    with pytest.raises(ValueError, match="target 'target' has no rows"):
        check_trainable(generate_customers(20, 1).head(0), "target", 0.2)


def _layout(tmp_path: Path, frame: pl.DataFrame) -> DatasetConfig:
    (tmp_path / "training").mkdir()
    frame.write_csv(tmp_path / "training" / "p1.csv")
    return DatasetConfig.model_validate({"name": "loans", "kind": "tabular_supervised", "label_column": "target",
                                         "source": {"type": "tabular_files", "path": str(tmp_path)},
                                         "entity_key": "customer_id"})  # fmt: skip


def test_training_table_fails_when_every_row_is_rejected(tmp_path: Path) -> None:
    yes_no = generate_customers(50, 1).with_columns(
        pl.when(pl.col("target") == 1).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("target")
    )
    with pytest.raises(SourceError, match=r"every training row .* rejected \(50 rows; e\.g\. p1\.csv line 2: "
                       r"target 'target' value '(yes|no)' is not 1/0\)"):  # fmt: skip
        read_training(_layout(tmp_path, yes_no), "r1")


def test_a_numeric_input_that_arrives_as_text_is_scored_with_its_non_numbers_missing() -> None:
    champion = fit_credit_model(generate_customers(400, 1).drop("customer_id"), target="target", kind="logreg",
                                cv_repeats=1)  # fmt: skip
    batch = generate_customers(100, 3).with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.lit("-")).otherwise(pl.col("income").cast(pl.String))
        .alias("income")
    )  # fmt: skip
    scored = predict_batch(champion, batch)
    assert scored["probability"].is_not_null().all() and scored.height == 100
    assert kind_changes(champion.spec, batch) == {"income": "String"}
    assert non_numeric_values(champion.spec, batch) == {"income": 34}


@pytest.mark.parametrize("params", [{"age_mean": 30.0}, {"utilisation_a": 4.0, "utilisation_b": 3.0}])
def test_target_rate_holds_for_the_undrifted_population_with_population_keys(params: dict) -> None:
    rate = float(generate_customers(20_000, 1, target_rate=0.2, **params)["target"].mean())
    assert abs(rate - 0.2) < 0.02


def test_positive_label_is_case_insensitive_and_an_unmatched_one_is_named(tmp_path: Path) -> None:
    df = generate_customers(300, 3).rename({"target": "Y"})
    bad = int(df["Y"].sum())
    path = tmp_path / "mixed.csv"
    half = pl.int_range(pl.len()) % 2 == 0
    df.with_columns(pl.when(pl.col("Y") == 1).then(pl.when(half).then(pl.lit("bad")).otherwise(pl.lit("Bad")))
                    .otherwise(pl.lit("good")).alias("Y")).write_csv(path)  # fmt: skip
    assert int(load_credit_table(path, target="Y", positive="bad").frame["Y"].sum()) == bad
    assert int(load_credit_table(path, target="Y", positive="BAD").frame["Y"].sum()) == bad
    with pytest.raises(ValueError, match=r"positive label 'yes' matches no value of 'Y' \(values seen: .*'good'"):
        load_credit_table(path, target="Y", positive="yes")

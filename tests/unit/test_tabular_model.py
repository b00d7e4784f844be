"""Tabular model: stratified split, unseen categories, calibration, persistence with a hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vigia.models.bundle import TamperedModelError
from vigia.tabular.model import (
    calibration_plot,
    check_trainable,
    evaluate_model,
    fit_and_select,
    fit_credit_model,
    infer_features,
    load_model,
    predict_batch,
    save_model,
    stratified_split,
    unseen_categories,
)
from vigia.tabular.synth import generate_customers
from vigia.tabular.value import ValueMatrix


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return generate_customers(3000, 5).drop("customer_id")


@pytest.fixture(scope="module")
def model(data: pl.DataFrame):
    train, _ = stratified_split(data, "target", seed=1)
    return fit_credit_model(train, target="target", kind="logreg", validation="holdout", seed=1)


def test_stratified_split_preserves_rate(data: pl.DataFrame) -> None:
    train, test = stratified_split(data, "target", test_size=0.2, seed=3)
    assert (train.height, test.height) == (2400, 600)
    rate = data["target"].mean()
    assert abs(train["target"].mean() - rate) < 0.002 and abs(test["target"].mean() - rate) < 0.002
    again, _ = stratified_split(data, "target", test_size=0.2, seed=3)
    assert train.equals(again)


def test_infer_features(data: pl.DataFrame) -> None:
    spec = infer_features(data, "target")
    assert "segment" in spec.categorical and "income" in spec.numeric and "target" not in spec.columns


def test_unseen_categories_handled_at_predict_time(data: pl.DataFrame, model) -> None:
    batch = data.head(5).with_columns(
        pl.Series("channel", ["telepathy", "branch", None, "telepathy", "online"]),
        pl.Series("region", ["mars", "north", "south", "east", "west"]),
    )
    out = predict_batch(model, batch)
    assert out["unseen_categories"].to_list() == [2, 0, 0, 1, 0]
    assert out["probability"].is_between(0, 1).all() and out["decision"].dtype == pl.Int8
    assert unseen_categories(model, batch) == {"channel": {"telepathy": 2}, "region": {"mars": 1}}
    with pytest.raises(ValueError, match="income"):
        predict_batch(model, batch.drop("income"))


def test_calibration_improves_brier_on_a_toy(model) -> None:
    briers = model.validation["brier_by_calibration"]
    # class weights inflate the raw probabilities; calibration brings them back
    assert min(briers["sigmoid"], briers["isotonic"]) < briers["none"]
    assert model.calibration in ("sigmoid", "isotonic")
    assert briers[model.calibration] == min(briers["sigmoid"], briers["isotonic"])


def test_metrics_value_threshold_and_selection(data: pl.DataFrame, tmp_path: Path) -> None:
    train, test = stratified_split(data, "target", seed=2)
    vm = ValueMatrix(tp_benefit=0, fp_cost=1, fn_cost=4)
    best, models = fit_and_select(train, target="target", value_matrix=vm, seed=2, validation="holdout")
    assert set(models) == {"hgb", "logreg", "blend"} and best.validation["mode"] == "holdout"
    m = evaluate_model(best, test)
    assert m["roc_auc"] > 0.7 and 0 < m["brier"] < 0.2
    assert {"average_precision", "f1", "calibration_curve", "value"} <= set(m)
    assert m["value"]["cost_per_record"] >= 0
    assert 0 < best.threshold < 0.5  # false negatives cost 4x: flag below 0.5
    out = predict_batch(best, test)
    assert "expected_value" in out.columns
    curves = {k: (test["target"].to_numpy(), v.predict_proba(test)) for k, v in models.items()}
    png = calibration_plot(curves, tmp_path / "cal.png")
    assert Path(png).read_bytes()[:4] == b"\x89PNG"


def test_cross_validated_validation_mode(data: pl.DataFrame) -> None:
    train = data.head(1200)
    m = fit_credit_model(train, target="target", kind="logreg", calibration="sigmoid", seed=4)
    assert m.validation["mode"] == "cv" and m.validation["rows"] == 1200  # out-of-fold: every train row validates
    assert m.validation["repeats"] == 3 and m.validation["n"] == 3 * 1200  # below 2,000 rows: 3 CV partitions
    assert m.calibration == "sigmoid"


def test_pipeline_roundtrip_with_hash(data: pl.DataFrame, model, tmp_path: Path) -> None:
    path = tmp_path / "models" / "credit-v1.joblib"
    sha = save_model(model, path)
    loaded = load_model(path, sha)
    batch = data.tail(50)
    assert np.allclose(loaded.predict_proba(batch), model.predict_proba(batch))
    assert loaded.threshold == model.threshold and loaded.summary()["kind"] == "logreg"
    with pytest.raises(TamperedModelError):
        load_model(path, "0" * 64)


@pytest.mark.parametrize("positives", [1, 3, 9])
def test_a_class_too_rare_to_fit_fails_naming_the_target_and_counts(data: pl.DataFrame, positives: int) -> None:
    """It used to fail inside scikit-learn ('y should be a 1d array, got an array of shape ()', 'The least
    populated classes in y have only 1 member'), naming no column."""
    frame = data.head(1000).with_columns(target=pl.Series([1] * positives + [0] * (1000 - positives)))
    message = f"target 'target' has {positives} rows of class 1 and {1000 - positives} of class 0"
    with pytest.raises(ValueError, match=f"{message}: training needs at least 10 of each"):
        fit_and_select(frame, target="target", kinds=("logreg",))
    with pytest.raises(ValueError, match=f"{message}: training needs at least 13 of each .10 to fit after the 20%"):
        check_trainable(frame, "target", 0.2)


def test_the_rarest_trainable_class_fits(data: pl.DataFrame) -> None:
    frame = data.head(1000).with_columns(target=pl.Series([1] * 13 + [0] * 987))
    check_trainable(frame, "target", 0.2)
    train, test = stratified_split(frame, "target", test_size=0.2, seed=42)
    best, _ = fit_and_select(train, target="target", kinds=("logreg",))
    assert 0.0 <= evaluate_model(best, test)["roc_auc"] <= 1.0 and int(test["target"].sum()) >= 1


def test_training_pipeline_refuses_a_too_rare_class_before_writing(data: pl.DataFrame, tmp_path: Path) -> None:
    from vigia.config import DatasetConfig
    from vigia.pipeline.tabular_training import train_and_promote

    cfg = DatasetConfig.model_validate({"name": "rare", "kind": "tabular_supervised", "label_column": "target",
                                        "source": {"type": "synthetic_customers"}})  # fmt: skip
    frame = data.head(600).with_columns(target=pl.Series([1] * 5 + [0] * 595))
    models = tmp_path / "models"
    with pytest.raises(ValueError, match="'target' has 5 rows of class 1 and 595 of class 0: training needs at least"):
        train_and_promote(frame, frame.drop("target").head(10), cfg, models, tmp_path, {}, lambda *_: "", "run1")
    assert not models.exists() or not any(models.iterdir())

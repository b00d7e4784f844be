"""Model selection of the tabular model: blend of the calibrated kinds, threshold rules scored by
cross-validated value, repeated CV on small tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from vigia.tabular.model import (
    ProbabilityAverage,
    _cross_validated_rule_value,
    _Validation,
    fit_and_select,
    fit_credit_model,
    load_model,
    save_model,
    selection_score,
    stratified_split,
)
from vigia.tabular.synth import generate_customers
from vigia.tabular.value import ValueMatrix, choose_threshold, outcome_values

COSTS = ValueMatrix.from_cost_matrix(fp_cost=1.0, fn_cost=5.0)


@pytest.fixture(scope="module")
def data() -> pl.DataFrame:
    return generate_customers(1500, 8).drop("customer_id")


@pytest.fixture(scope="module")
def selected(data: pl.DataFrame):
    train, test = stratified_split(data, "target", seed=8)
    best, models = fit_and_select(train, target="target", value_matrix=COSTS, seed=8, cv_repeats=2)
    return best, models, test


def test_blend_is_the_mean_of_the_calibrated_kinds(selected) -> None:
    _, models, test = selected
    blend = models["blend"]
    assert isinstance(blend.pipeline, ProbabilityAverage)
    assert blend.calibration == f"hgb:{models['hgb'].calibration}+logreg:{models['logreg'].calibration}"
    expected = (models["hgb"].predict_proba(test) + models["logreg"].predict_proba(test)) / 2
    assert np.allclose(blend.predict_proba(test), expected)
    assert set(blend.validation["brier_by_calibration"]) == {"mean"}


def test_selection_by_cross_validated_value(selected) -> None:
    best, models, _ = selected
    for m in models.values():
        v = m.validation
        assert v["mode"] == "cv" and v["repeats"] == 2 and v["rows"] == 1200 and v["n"] == 2400
        assert set(v["threshold_rules"]) == {"bayes", "value"}
        rule = v["threshold_rule"]
        assert v["selection_value_per_record"] == max(r["cv_value_per_record"] for r in v["threshold_rules"].values())
        assert selection_score(m) == v["threshold_rules"][rule]["cv_value_per_record"]
        assert m.threshold_choice["criterion"] == rule
        if rule == "bayes":
            assert m.threshold == pytest.approx(COSTS.bayes_threshold())  # 1 / (1 + 5)
        assert selection_score(m) <= 0  # a pure cost matrix
    assert selection_score(best) == max(selection_score(m) for m in models.values())


def test_blend_model_roundtrip(selected, tmp_path: Path) -> None:
    _, models, test = selected
    path = tmp_path / "blend.joblib"
    loaded = load_model(path, save_model(models["blend"], path))
    assert np.allclose(loaded.predict_proba(test), models["blend"].predict_proba(test))


def _validation(y: np.ndarray, p: np.ndarray, folds: int = 5, repeats: int = 1) -> _Validation:
    rng = np.random.default_rng(0)
    fold = np.concatenate([rng.permutation(np.arange(y.size) % folds) for _ in range(repeats)])
    return _Validation(
        np.tile(y, repeats), {"sigmoid": np.tile(p, repeats)}, np.repeat(np.arange(repeats), y.size), fold,
        "cv", y.size, repeats, {},
    )  # fmt: skip


def test_threshold_rules_are_scored_out_of_sample() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 400)
    y = (rng.uniform(0, 1, 400) < p).astype(int)  # calibrated by construction
    val = _validation(y, p, repeats=2)
    # the Bayes threshold fits nothing: its cross-validated value is its in-sample value
    bayes_in_sample = outcome_values(COSTS, y, (p >= 1 / 6).astype(int)).mean()
    assert _cross_validated_rule_value(val, np.tile(p, 2), "bayes", COSTS) == pytest.approx(bayes_in_sample)
    # the fitted threshold cannot do better out of sample than its in-sample optimum
    in_sample = choose_threshold(y, p, COSTS).value_per_record
    assert _cross_validated_rule_value(val, np.tile(p, 2), "value", COSTS) <= in_sample + 1e-12


def test_repeats_default_and_validation(data: pl.DataFrame) -> None:
    big = generate_customers(2500, 9).drop("customer_id")
    m = fit_credit_model(big, target="target", kind="logreg", calibration="sigmoid", seed=1)
    assert m.validation["mode"] == "cv" and m.validation["repeats"] == 1 and m.validation["n"] == 2500
    assert "threshold_rule" not in m.validation and m.threshold_choice["criterion"] == "f1"
    with pytest.raises(ValueError, match="cv_repeats"):
        fit_credit_model(data, target="target", kind="logreg", cv_repeats=0)
    with pytest.raises(ValueError, match="model kind"):
        fit_credit_model(data, target="target", kind="forest")  # type: ignore[arg-type]


def test_holdout_threshold_rules(data: pl.DataFrame) -> None:
    m = fit_credit_model(
        data, target="target", kind="logreg", calibration="sigmoid", value_matrix=COSTS, validation="holdout", seed=3
    )
    assert m.validation["mode"] == "holdout" and m.validation["n"] == m.validation["rows"] == 375
    assert m.validation["threshold_rule"] in ("bayes", "value")

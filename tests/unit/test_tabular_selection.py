"""Model selection of the tabular model: blend of the calibrated kinds, threshold rules scored by
cross-validated value, repeated CV on small tables, hyper-parameter tuning by cross-validated value on
the training frame only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import vigia.tabular.model as model_module
from vigia.tabular.model import (
    TUNE_SEED_OFFSET,
    ProbabilityAverage,
    _calibrated,
    _cross_validated_rule_value,
    _fit_calibrations,
    _pick_grid_point,
    _Validation,
    build_estimator,
    fit_and_select,
    fit_credit_model,
    infer_features,
    load_model,
    save_model,
    selection_score,
    stratified_split,
    to_model_input,
)
from vigia.tabular.synth import generate_customers
from vigia.tabular.value import ValueMatrix, choose_threshold, outcome_values

COSTS = ValueMatrix.from_cost_matrix(fp_cost=1.0, fn_cost=5.0)
SMALL_GRIDS = {"hgb": [{}, {"max_depth": 2}], "logreg": [{}, {"C": 0.05}]}  # keeps the unit tests quick


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


def test_tuning_picks_the_grid_point_with_the_better_cv_value(data: pl.DataFrame) -> None:
    # an L1 penalty this strong zeroes every coefficient: constant predictions, a clearly worse cost
    useless, useful = {"C": 1e-4, "l1_ratio": 1.0}, {"C": 1.0}
    for grid, expected in (([useless, useful], 1), ([useful, useless], 0)):
        m = fit_credit_model(
            data, target="target", kind="logreg", calibration="sigmoid", value_matrix=COSTS, seed=5, cv_repeats=1,
            grids={"logreg": grid}, tune="auto",
        )  # fmt: skip
        t = m.validation["tuning"]
        assert t["best"] == t["chosen"] == expected and m.validation["params"] == useful
        scores = [row["cv_value_per_record"] for row in t["grid"]]
        assert scores[expected] > scores[1 - expected] + 0.05
        assert m.pipeline.calibrated_classifiers_[0].estimator[-1].C == 1.0  # the refitted model uses it


def test_equal_grid_points_keep_the_defaults(data: pl.DataFrame) -> None:
    m = fit_credit_model(
        data, target="target", kind="logreg", calibration="sigmoid", value_matrix=COSTS, seed=5, cv_repeats=1,
        grids={"logreg": [{}, {"C": 0.5}]}, tune="auto",  # the second point is the default again
    )  # fmt: skip
    t = m.validation["tuning"]
    assert t["grid"][0]["cv_value_per_record"] == t["grid"][1]["cv_value_per_record"]
    assert t["best"] == t["chosen"] == 0 and t["gain_over_defaults"] == 0 and m.validation["params"] == {}


def test_one_standard_error_rule() -> None:
    rng = np.random.default_rng(0)
    base = rng.choice([0.0, -1.0, -5.0], size=800, p=[0.6, 0.3, 0.1])  # per-row values of the defaults
    noisy = base.copy()
    noisy[:88] += 1.0
    noisy[88:168] -= 1.0  # mean gain 8 / 800 = 0.01, standard error of the paired difference ~ 0.016
    best, chosen, gain, se = _pick_grid_point([base.mean(), noisy.mean()], [base, noisy])
    assert best == 1 and gain == pytest.approx(0.01) and se == pytest.approx(0.0162, abs=5e-4) and chosen == 0
    clear = base + 0.2  # the same gain on every row: no noise at all
    best, chosen, gain, se = _pick_grid_point([base.mean(), noisy.mean(), clear.mean()], [base, noisy, clear])
    assert best == chosen == 2 and gain == pytest.approx(0.2) and se == pytest.approx(0.0, abs=1e-12)
    best, chosen, _, _ = _pick_grid_point([noisy.mean(), base.mean()], [noisy, base])
    assert best == chosen == 0  # the defaults are best: nothing to beat


def test_tuning_defaults(data: pl.DataFrame) -> None:
    # no value matrix: nothing to tune by (selection is then by ROC-AUC), unless forced (an error)
    m = fit_credit_model(data, target="target", kind="logreg", calibration="sigmoid", seed=1, cv_repeats=1)
    assert m.validation["tuning"] is None and m.validation["params"] == {}
    with pytest.raises(ValueError, match="value_matrix"):
        fit_credit_model(data, target="target", kind="logreg", tune=True)
    with pytest.raises(ValueError, match="tune"):
        fit_credit_model(data, target="target", kind="logreg", value_matrix=COSTS, tune="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="grids"):
        fit_credit_model(data, target="target", kind="logreg", value_matrix=COSTS, grids={"forest": [{}]})
    # tuning is opt-in; "auto" skips hold-out validation (5,000 training rows and more by default)
    for kwargs in ({"validation": "holdout", "tune": "auto"}, {}):
        m = fit_credit_model(
            data, target="target", kind="logreg", calibration="sigmoid", value_matrix=COSTS, seed=1, cv_repeats=1,
            **kwargs,
        )  # fmt: skip
        assert m.validation["tuning"] is None and m.validation["params"] == {}


def test_tuning_sees_only_the_training_frame(data: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every set of validation predictions (tuning and final) is computed on the frame given to
    fit_and_select, never on the test part; tuning uses its own partitions."""
    frame = data.head(600).with_row_index("rid")
    train, test = stratified_split(frame, "target", seed=8)
    spec = infer_features(train, "target", exclude=["rid"])
    seen: list[tuple[set[int], int]] = []
    original = model_module._validation_predictions

    def spy(train_part: pl.DataFrame, *args, **kwargs):
        seen.append((set(train_part["rid"].to_list()), kwargs["seed"]))
        return original(train_part, *args, **kwargs)

    monkeypatch.setattr(model_module, "_validation_predictions", spy)
    _, models = fit_and_select(
        train, target="target", spec=spec, value_matrix=COSTS, seed=8, cv_repeats=1, grids=SMALL_GRIDS, tune="auto"
    )
    train_rows, test_rows = set(train["rid"].to_list()), set(test["rid"].to_list())
    assert len(seen) == 2 * 2 + 2  # two grid points per base kind, then the final validation of each
    for rows, _ in seen:
        assert rows == train_rows and not rows & test_rows
    assert sorted(seed for _, seed in seen) == [8, 8] + [8 + TUNE_SEED_OFFSET] * 4
    # the grid table of each base kind, and the blend built from the tuned members
    for kind in ("hgb", "logreg"):
        v = models[kind].validation
        t = v["tuning"]
        assert t is not None and t["seed"] == 8 + TUNE_SEED_OFFSET and len(t["grid"]) == 2
        assert [row["params"] for row in t["grid"]] == SMALL_GRIDS[kind]
        assert v["params"] == SMALL_GRIDS[kind][t["chosen"]]
        scores = [row["cv_value_per_record"] for row in t["grid"]]
        assert t["best"] == int(np.argmax(scores))
        assert t["gain_over_defaults"] == pytest.approx(scores[t["best"]] - scores[0], abs=1e-9)
        assert t["chosen"] in (0, t["best"])
        if t["best"] != 0:  # the better point is kept only if it beats the defaults by more than 1 SE
            assert (t["chosen"] == t["best"]) == (t["gain_over_defaults"] > t["standard_error"])
    blend = models["blend"].validation
    assert blend["tuning"] is None
    assert blend["params"] == {
        "hgb": models["hgb"].validation["params"],
        "logreg": models["logreg"].validation["params"],
    }


@pytest.mark.parametrize("kind", ["hgb", "logreg"])
def test_shared_calibration_fits_match_calibrated_classifier_cv(data: pl.DataFrame, kind: str) -> None:
    spec = infer_features(data, "target")
    x, y = to_model_input(data.head(600), spec), data.head(600)["target"].to_numpy()
    x_new = to_model_input(data.tail(200), spec)
    base = build_estimator(kind, spec, seed=3, n_rows=600)  # type: ignore[arg-type]
    shared = _fit_calibrations(base, ["none", "sigmoid", "isotonic"], 3, x, y)
    for method, est in shared.items():
        reference = _calibrated(base, method, 3).fit(x, y)
        assert np.allclose(est.predict_proba(x_new), reference.predict_proba(x_new), rtol=0, atol=1e-12)

"""bench/credit_hindsight.py: the three test costs of a candidate and the summary over candidates."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import polars as pl
import pytest

from tests.conftest import load_bench_script
from vigia.tabular import model as m
from vigia.tabular.value import expected_cost_per_applicant


@pytest.fixture(scope="module")
def hindsight() -> ModuleType:
    return load_bench_script("credit_hindsight.py")


def _frame(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    kind = rng.choice(["A", "B"], n)
    bad = rng.random(n) < 1 / (1 + np.exp(-(1.5 * x + (kind == "B") - 1)))
    return pl.DataFrame({"x": x, "kind": kind, "class": bad.astype(int)})


def test_costs_of_a_candidate_at_each_threshold(hindsight: ModuleType) -> None:
    train, test = _frame(300, 1), _frame(120, 2)
    spec = m.FeatureSpec(numeric=("x",), categorical=("kind",))
    val, p_cv, p_test = hindsight._fit(train, test, "class", spec, "logreg")
    assert p_cv.shape == (3 * 300,) and p_test.shape == (120,)  # 3 repeats of the CV over the train part
    y = test["class"].to_numpy()
    row = hindsight._row("logreg", val, p_cv, p_test, y)

    def cost(threshold: float) -> float:
        return expected_cost_per_applicant(y, (p_test >= threshold).astype(int), fp_cost=1.0, fn_cost=5.0)

    assert row["test_cost_bayes"] == pytest.approx(cost(1 / 6))
    assert row["test_cost_protocol"] == pytest.approx(cost(row["protocol_threshold"]))
    assert row["test_cost_hindsight"] == pytest.approx(cost(row["hindsight_threshold"]))
    # the hindsight threshold is the best one for these labels: no cut point of the test probabilities beats it
    best = min(cost(t) for t in [*np.unique(p_test), np.inf])
    assert row["test_cost_hindsight"] == pytest.approx(best)
    assert row["test_cost_hindsight"] <= min(row["test_cost_protocol"], row["test_cost_bayes"])
    assert row["threshold_rule"] in ("bayes", "value") and 0 < row["cv_cost_per_record"] < 5


def test_summary_picks_the_lowest_cost_and_counts_the_target(hindsight: ModuleType) -> None:
    rows = [
        {"candidate": name, "test_cost_protocol": p, "test_cost_bayes": b, "test_cost_hindsight": h}
        for name, p, b, h in [("a", 0.60, 0.62, 0.51), ("b", 0.50, 0.55, 0.45), ("c", 0.58, 0.52, 0.49)]
    ]
    out = hindsight.summary(rows)
    assert out["candidates"] == 3 and out["target"] == 0.50
    assert out["protocol"] == {"lowest": 0.50, "lowest_candidate": "b", "median": 0.58, "at_or_below_target": 1}
    assert out["bayes"]["lowest_candidate"] == "c" and out["bayes"]["at_or_below_target"] == 0
    assert out["hindsight"]["at_or_below_target"] == 2

"""bench/credit_splits.py: the summary over splits and the unchanged protocol per split."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import load_bench_script
from vigia.bench.credit import run_credit_benchmark
from vigia.tabular.synth import generate_customers
from vigia.tabular.value import ValueMatrix


@pytest.fixture(scope="module")
def splits() -> ModuleType:
    return load_bench_script("credit_splits.py")


def test_summary_uses_the_corrected_resampled_t_error(splits: ModuleType) -> None:
    s = splits.summarize([0.5, 0.6, 0.7, 0.6], n_train=800, n_test=200, fixed=0.6)
    sd = math.sqrt(0.02 / 3)
    assert s["mean"] == pytest.approx(0.6) and s["sd"] == pytest.approx(sd)
    assert s["naive_se"] == pytest.approx(sd / 2)
    # Nadeau & Bengio: variance (1/J + n_test/n_train) s^2 = (1/4 + 1/4) s^2, twice the naive variance
    assert s["corrected_se"] == pytest.approx(math.sqrt(0.5) * sd)
    half = 3.182446305284263 * math.sqrt(0.5) * sd  # t(0.975, 3 degrees of freedom)
    assert s["ci95"] == pytest.approx([0.6 - half, 0.6 + half])
    assert (s["min"], s["median"], s["max"]) == pytest.approx((0.5, 0.6, 0.7))
    assert s["fixed_split"] == {"value": 0.6, "rank": 2, "of": 4}  # one split is strictly lower


def test_summary_needs_two_splits(splits: ModuleType) -> None:
    with pytest.raises(ValueError, match="at least 2 splits"):
        splits.summarize([0.5], n_train=800, n_test=200)
    with pytest.raises(ValueError, match="at least 2 splits, got 1"):  # refused before any split runs
        splits.run(Path("does-not-exist.csv"), "csv", None, [42])


def test_each_split_runs_the_unchanged_benchmark(splits: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    generate_customers(400, seed=3).drop("customer_id").write_csv(path)
    vm = ValueMatrix.from_cost_matrix(fp_cost=1.0, fn_cost=5.0)
    goals = {"cost_per_record": 0.9, "roc_auc": 0.7}
    out = splits.run(path, "csv", vm, [42, 7], jobs=1, targets=goals, target="target")
    direct = run_credit_benchmark(path, value_matrix=vm, seed=7, target="target")
    by_seed = {r["seed"]: r for r in out["runs"]}
    assert set(by_seed) == {42, 7} and out["n_test"] == direct["n_test"]
    assert by_seed[7]["cost_per_record"] == direct["cost_per_record"]
    assert by_seed[7]["model"] == direct["model"]
    chosen = next(c for c in direct["protocol"]["candidates"] if c["chosen"])
    assert by_seed[7]["test_minus_cv_cost"] == pytest.approx(direct["cost_per_record"] - chosen["cv_cost_per_record"])
    costs = [r["cost_per_record"] for r in out["runs"]]
    assert out["summary"]["cost_per_record"]["mean"] == pytest.approx(sum(costs) / 2)
    assert out["summary"]["cost_per_record"]["fixed_split"]["value"] == by_seed[42]["cost_per_record"]
    assert out["targets"]["cost_per_record"] == {
        "target": 0.9,
        "met_when": "<=",
        "splits_meeting": sum(c <= 0.9 for c in costs),
        "of": 2,
    }
    aucs = [r["roc_auc"] for r in out["runs"]]
    assert out["targets"]["roc_auc"]["splits_meeting"] == sum(a >= 0.7 for a in aucs)
    assert sum(out["models_reported"].values()) == 2
    assert "value_per_record" not in out["summary"]  # a pure cost matrix: the value is the cost's opposite
    blend = [r["test_cost_by_model"]["blend"] for r in out["runs"]]
    assert by_seed[7]["test_cost_by_model"]["blend"] == direct["models"]["blend"]["value"]["cost_per_record"]
    assert out["test_cost_by_model"]["blend"]["mean"] == pytest.approx(sum(blend) / 2)
    rules = [r["threshold_rule"] for r in out["runs"]]
    assert out["threshold_rules_reported"] == {rule: rules.count(rule) for rule in set(rules)}
    assert out["run"]["jobs"] == 1 and out["run"]["machine"]["cores"] >= 1 and "commit" in out["run"]

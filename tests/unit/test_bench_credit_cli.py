"""`vigia bench credit PATH --json OUT` on a CSV with another target name and separator: the fixed stratified
80/20 split, the four probability figures and, with a value matrix, the value and cost per record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vigia.cli import main
from vigia.tabular.synth import generate_customers


def test_bench_credit_writes_the_figures_of_the_fixed_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = generate_customers(6_500, seed=3).rename({"target": "bad"}).drop("customer_id")
    data.write_csv(tmp_path / "customers.csv", separator=";")
    out = tmp_path / "out" / "credit.json"
    argv = ["bench", "credit", str(tmp_path / "customers.csv"), "--target", "bad", "--sep", ";",
            "--cost-matrix", "fp=1,fn=5", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out)["roc_auc"] == result["roc_auc"]  # the same figures on stdout
    for figure in ("roc_auc", "average_precision", "f1", "brier", "expected_value_per_record", "cost_per_record"):
        assert isinstance(result[figure], float), figure
    assert 0.6 < result["roc_auc"] < 1 and 0 < result["brier"] < 0.25
    positives = int(data["bad"].sum())
    assert (result["n_rows"], result["n_train"], result["n_test"]) == (6_500, 5_200, 1_300)
    reported = result["models"][result["model"]]
    c = reported["confusion"]
    assert c["tp"] + c["fn"] == round(0.2 * positives)  # stratified: the test part keeps the target rate
    assert result["cost_per_record"] == pytest.approx((c["fp"] * 1 + c["fn"] * 5) / 1_300, abs=1e-4)
    assert result["protocol"]["split"] == "stratified 80%/20% train/test, seed 42"
    assert result["protocol"]["target"] == "bad" and result["data"]["dropped_rows"] == 0

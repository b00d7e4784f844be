"""bench/verify_targets.py: each target judged on the benchmark's JSON; checks without their data skipped."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import load_bench_script


@pytest.fixture(scope="module")
def vt() -> ModuleType:
    return load_bench_script("verify_targets.py")


def _check(vt: ModuleType, name: str) -> object:
    return next(c for c in vt.checks(chain_repeat=1) if c.name == name)


def test_judge_reads_nested_figures_and_both_directions(vt: ModuleType) -> None:
    skab = _check(vt, "skab")
    rows = vt.judge(skab, {"methods": {"conv_ae_tuned": {"f1": 0.86, "far": 15.2, "mar": 14.7}}, "seconds": 380})
    assert [(r["target"], r["met"]) for r in rows] == [
        ("conv_ae_tuned F1", True),
        ("conv_ae_tuned FAR %", False),  # above the 15 % bound
        ("conv_ae_tuned MAR %", True),
        ("whole benchmark seconds", True),
    ]
    german = _check(vt, "credit_german")
    assert vt.judge(german, {"cost_per_record": 0.5})[0]["met"] is True  # the bound itself is met
    assert vt.judge(german, {"cost_per_record": 0.6})[0]["met"] is False


def test_a_missing_figure_is_not_met(vt: ModuleType) -> None:
    rows = vt.judge(_check(vt, "http"), {"f1": 0.97})
    assert rows[1] == {"target": "ROC-AUC", "figure": None, "op": ">=", "bound": 0.95, "met": False}


def test_checks_on_real_data_are_skipped_without_it(vt: ModuleType, tmp_path: Path) -> None:
    result = vt.run_check(_check(vt, "credit_taiwan"), tmp_path, tmp_path)
    assert result["status"] == "skipped"
    assert str(tmp_path / "tabular") in result["reason"]


def test_a_run_is_judged_and_a_miss_fails_the_command(vt: ModuleType, tmp_path: Path, monkeypatch) -> None:
    """A real subprocess writing its JSON; the exit status follows the verdict."""
    script = tmp_path / "fake_bench.py"
    script.write_text(
        "import json, sys\njson.dump({'f1': float(sys.argv[2]), 'roc_auc': 0.99}, open(sys.argv[1], 'w'))\n"
    )

    def fake_checks(chain_repeat: int) -> list:
        return [vt.Check("http", 5, lambda s, out: [sys.executable, str(script), str(out), f1],
                         (vt.Target("F1", ("f1",), ">=", 0.90), vt.Target("ROC-AUC", ("roc_auc",), ">=", 0.95)))]

    monkeypatch.setattr(vt, "checks", fake_checks)
    out = tmp_path / "targets.json"
    f1 = "0.95"
    assert vt.main(["--json", str(out)]) == 0
    assert json.loads(out.read_text())["results"][0]["status"] == "met"
    f1 = "0.80"
    assert vt.main(["--json", str(out)]) == 1
    result = json.loads(out.read_text())["results"][0]
    assert result["status"] == "missed" and result["targets"][0]["figure"] == 0.8


def test_a_failed_run_is_an_error_not_an_earlier_runs_figures(vt: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "http.json").write_text(json.dumps({"f1": 0.99, "roc_auc": 0.99}))  # left by an earlier run
    check = vt.Check("http", 5, lambda s, out: [sys.executable, "-c", "raise SystemExit(3)"],
                     (vt.Target("F1", ("f1",), ">=", 0.90),))  # fmt: skip
    result = vt.run_check(check, tmp_path, tmp_path)
    assert result["status"] == "error" and result["returncode"] == 3

"""Credit scoring over many splits: how much of a fixed split's test figure is the split's luck.

``vigia bench credit`` reports one stratified 80/20 split (seed 42). With 200 test applicants (German credit)
its cost per applicant has a standard error near 0.06, and the bootstrap intervals in its JSON cover the
test part's sampling spread only, not training's. This script runs the **whole, unchanged protocol** of
``vigia bench credit`` (split, validation on the train part, calibration, threshold rule, selection, refit,
test figures) once per seed ``first_seed .. first_seed + splits - 1`` and summarises the reported model's test
figures across splits.

The mean over splits estimates the procedure's expected figure on a new 80/20 split. Repeated splits share
training rows, so the naive standard error of that mean is too small; the summary also gives the corrected
resampled-t standard error of Nadeau & Bengio (2003), variance ``(1/J + n_test/n_train) * s**2`` for J splits,
and a 95 % t interval from it. The rank of the fixed split (seed 42) among the splits shows where the
headline figure lies in that spread.

Evaluation only: every split reads its own test part, and together the splits cover every row of the table,
the fixed split's test part included, so these figures must not be used to choose models, features or seeds.

    .venv/bin/python bench/credit_splits.py ../shared/datasets/tabular/german_credit/german.data \
        --format german --splits 20 --jobs 2 --target-cost 0.5 --json bench/results/credit_splits_german.json
    .venv/bin/python bench/credit_splits.py ../shared/datasets/tabular/taiwan_credit_default/UCI_Credit_Card.csv \
        --format taiwan --splits 10 --jobs 2 --target-roc-auc 0.78 --json bench/results/credit_splits_taiwan.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench_common import git_state, machine
from scipy import stats
from threadpoolctl import threadpool_limits

from vigia.bench.credit import DEFAULT_SEED, cli_value_matrix, run_credit_benchmark
from vigia.tabular.credit_data import Format
from vigia.tabular.value import ValueMatrix

FIGURES = ("cost_per_record", "value_per_record", "roc_auc", "average_precision", "f1", "brier")
MET_WHEN = {"cost_per_record": "<=", "roc_auc": ">="}  # the figures a target can be set for, and its direction
SUMMARISED = (*FIGURES, "cv_cost_per_record", "test_minus_cv_cost")


def run_split(
    path: Path, fmt: Format, value_matrix: ValueMatrix | None, seed: int, target: str | None = None
) -> dict[str, Any]:
    """One run of ``vigia bench credit``'s protocol with ``seed``, reduced to the figures summarised here."""
    with threadpool_limits(limits=1, user_api="openmp"):  # one core per split; splits run side by side
        result = run_credit_benchmark(path, fmt=fmt, value_matrix=value_matrix, seed=seed, target=target)
    candidates = result["protocol"]["candidates"]
    cv_cost = {c["model"]: c["cv_cost_per_record"] for c in candidates if "cv_cost_per_record" in c}
    return {
        "seed": seed,
        "model": result["model"],
        "threshold_rule": result.get("threshold_rule"),
        **_figures(result),
        # what the selection saw for the reported model, and how far its test cost landed from it
        **(
            {
                "cv_cost_per_record": cv_cost[result["model"]],
                "test_minus_cv_cost": result["cost_per_record"] - cv_cost[result["model"]],
            }
            if cv_cost
            else {}
        ),
        "cv_cost_by_model": cv_cost,
        "test_cost_by_model": {
            kind: m["value"]["cost_per_record"]
            for kind, m in result["models"].items()
            if "cost_per_record" in m.get("value", {})
        },
        "n_train": result["n_train"],
        "n_test": result["n_test"],
        "seconds": result["seconds"],
    }


def _figures(result: dict[str, Any]) -> dict[str, float]:
    """The reported model's test figures; with a pure cost matrix the value per record (its opposite) is left out."""
    out = {k: result[k] for k in FIGURES if k in result}
    if "cost_per_record" in out:
        out.pop("value_per_record", None)
    return out


def summarize(values: list[float], n_train: int, n_test: int, fixed: float | None = None) -> dict[str, Any]:
    """Mean, spread and the corrected resampled-t interval of one figure over J >= 2 splits."""
    j = len(values)
    if j < 2:
        raise ValueError("a summary over splits needs at least 2 splits")
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    corrected_se = math.sqrt((1 / j + n_test / n_train) * sd**2)
    half = float(stats.t.ppf(0.975, j - 1)) * corrected_se
    out: dict[str, Any] = {
        "splits": j,
        "mean": mean,
        "sd": sd,
        "naive_se": sd / math.sqrt(j),
        "corrected_se": corrected_se,
        "ci95": [mean - half, mean + half],
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
    }
    if fixed is not None:  # 1 = lowest value among the splits
        out["fixed_split"] = {"value": fixed, "rank": 1 + sum(v < fixed for v in values), "of": j}
    return out


def run(
    path: Path,
    fmt: Format,
    value_matrix: ValueMatrix | None,
    seeds: list[int],
    jobs: int = 1,
    targets: dict[str, float] | None = None,
    target: str | None = None,
) -> dict[str, Any]:
    """Run every split (``jobs`` at a time) and summarise each figure the runs report. ``targets`` maps
    ``cost_per_record`` (met when <=) or ``roc_auc`` (met when >=) to a target; the splits meeting it are counted."""
    if len(seeds) < 2:
        raise ValueError(f"a summary over splits needs at least 2 splits, got {len(seeds)}")
    start = time.perf_counter()
    n = len(seeds)
    args = ([path] * n, [fmt] * n, [value_matrix] * n, seeds, [target] * n)
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            runs = list(pool.map(run_split, *args))
    else:
        runs = list(map(run_split, *args))
    n_train, n_test = runs[0]["n_train"], runs[0]["n_test"]
    fixed = next((r for r in runs if r["seed"] == DEFAULT_SEED), None)
    summary = {
        k: summarize([r[k] for r in runs], n_train, n_test, None if fixed is None else fixed[k])
        for k in SUMMARISED
        if all(k in r for r in runs)
    }
    by_model = {  # each candidate's test cost had it always been reported (context, not a choice)
        kind: summarize(
            [r["test_cost_by_model"][kind] for r in runs],
            n_train,
            n_test,
            None if fixed is None else fixed["test_cost_by_model"][kind],
        )
        for kind in runs[0]["test_cost_by_model"]
        if all(kind in r["test_cost_by_model"] for r in runs)
    }
    out: dict[str, Any] = {
        "path": str(path),
        "format": fmt,
        "value_matrix": None if value_matrix is None else value_matrix.to_dict(),
        "seeds": seeds,
        "n_train": n_train,
        "n_test": n_test,
        "summary": summary,
        "test_cost_by_model": by_model,
        "models_reported": _counts(r["model"] for r in runs),
        "threshold_rules_reported": _counts(r["threshold_rule"] for r in runs if r["threshold_rule"]),
        "runs": runs,
        "seconds": round(time.perf_counter() - start, 1),
        "protocol": "vigia bench credit, unchanged, once per seed; evaluation only (the splits read every row)",
        "run": _run_context(jobs),
    }
    out["targets"] = {
        figure: {
            "target": goal,
            "met_when": MET_WHEN[figure],
            "splits_meeting": sum(_meets(figure, r[figure], goal) for r in runs),
            "of": len(runs),
        }
        for figure, goal in (targets or {}).items()
        if figure in summary
    }
    return out


def _run_context(jobs: int) -> dict[str, Any]:
    """When, where and on which commit the splits ran."""
    return {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **git_state(), "machine": machine(),
            "jobs": jobs}  # fmt: skip


def _counts(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def _meets(figure: str, value: float, goal: float) -> bool:
    return value <= goal if MET_WHEN[figure] == "<=" else value >= goal


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--format", choices=["csv", "german", "taiwan"], default="csv", dest="fmt")
    parser.add_argument("--target", default=None, help="label column, as vigia bench credit")
    parser.add_argument("--cost-matrix", default=None, help="as vigia bench credit; --format german: fp=1,fn=5")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--target-cost", type=float, default=None, help="count the splits with cost <= this")
    parser.add_argument("--target-roc-auc", type=float, default=None, help="count the splits with ROC-AUC >= this")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    vm = cli_value_matrix(args.cost_matrix, args.fmt)
    seeds = list(range(args.first_seed, args.first_seed + args.splits))
    goals = {"cost_per_record": args.target_cost, "roc_auc": args.target_roc_auc}
    targets = {k: v for k, v in goals.items() if v is not None}
    out = run(args.path, args.fmt, vm, seeds, jobs=args.jobs, targets=targets, target=args.target)
    for name, s in out["summary"].items():
        fixed = s.get("fixed_split")
        where = f"  seed {DEFAULT_SEED}: {fixed['value']:.4f}, rank {fixed['rank']}/{fixed['of']}" if fixed else ""
        print(f"{name:18s} mean {s['mean']:.4f}  sd {s['sd']:.4f}  corrected SE {s['corrected_se']:.4f}  "
              f"95% [{s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}]  range [{s['min']:.4f}, {s['max']:.4f}]"
              + where)  # fmt: skip
    for figure, t in out["targets"].items():
        print(f"{figure} {t['met_when']} {t['target']}: {t['splits_meeting']} of {t['of']} splits")
    for kind, c in out["test_cost_by_model"].items():
        print(f"{kind} alone: test cost mean {c['mean']:.4f}  95% [{c['ci95'][0]:.4f}, {c['ci95'][1]:.4f}]")
    print(f"models reported: {out['models_reported']}; threshold rules: {out['threshold_rules_reported']}; "
          f"{out['seconds']} s")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

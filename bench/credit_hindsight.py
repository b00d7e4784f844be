"""German credit, a diagnostic that READS THE TEST PART: can any tried candidate cost <= 0.50 on the fixed split?

Not a selection step and not a model: nothing here may be adopted, because every figure below is read off the
fixed split's 200 test applicants. It answers one question about issue 6's German target: whether any of the
candidates of ``bench/credit_candidates.py`` (the library's hgb, logreg and blend, an RBF SVM, shrinkage LDA, a
weight-of-evidence scorecard, a spline logistic model, the ordinal-coded variants and every mean of 2 to 6 base
models) costs <= 0.50 per applicant on the test part, and with which threshold.

Each base model goes through the library's validation protocol on the train part (3 x 5-fold CV, calibration
method by Brier), is refitted on the whole train part with that calibration (as ``fit_and_select`` does) and
scores the test part; a mean of models averages their test probabilities. Three thresholds per candidate:

* ``protocol``: the one its cross-validated threshold rule picks on the train part's CV predictions (what
  ``vigia bench credit`` would report for that candidate);
* ``bayes``: 1/6, the cost-derived threshold (fits nothing);
* ``hindsight``: the best threshold for the test labels themselves, a lower bound for any threshold rule
  given the candidate's ranking of the test applicants.

    .venv/bin/python bench/credit_hindsight.py ../shared/datasets/tabular/german_credit/german.data \
        [--json bench/results/credit_hindsight.json]
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from credit_candidates import BASES, SEED, _base, _ordinal, german_args
from threadpoolctl import threadpool_limits

from vigia.bench.credit import GERMAN_COST_MATRIX
from vigia.tabular import model as m
from vigia.tabular.credit_data import load_credit_table
from vigia.tabular.value import choose_threshold, expected_cost_per_applicant

TARGET = 0.50
COSTS = {"fp_cost": GERMAN_COST_MATRIX.fp_cost, "fn_cost": GERMAN_COST_MATRIX.fn_cost}


def _cost(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    return expected_cost_per_applicant(y, (p >= threshold).astype(int), **COSTS)


def _fit(train: Any, test: Any, target: str, spec: m.FeatureSpec, kind: str) -> tuple[Any, np.ndarray, np.ndarray]:
    """Validation (train part), then the refit on the whole train part and its test probabilities."""
    shared = {"mode": "cv", "validation_size": 0.25, "cv": 3, "repeats": m.CV_REPEATS}
    base = _base(kind, spec, train.height)
    val, chosen, _ = m._calibrated_validation(train, target, spec, base, ("sigmoid", "isotonic"), seed=SEED, **shared)
    y = m._labels(train, target)
    model = m._calibrated(base, chosen, 3).fit(m.to_model_input(train, spec), y)
    return val, val.probs[chosen], model.predict_proba(m.to_model_input(test, spec))[:, 1]


def _row(name: str, val: Any, p_cv: np.ndarray, p_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    metrics, _ = m.validation_values(val, p_cv, GERMAN_COST_MATRIX)
    protocol = metrics["threshold_rules"][metrics["threshold_rule"]]["threshold"]
    hindsight = choose_threshold(y_test, p_test, GERMAN_COST_MATRIX)
    return {
        "candidate": name,
        "cv_cost_per_record": -metrics["selection_value_per_record"],
        "threshold_rule": metrics["threshold_rule"],
        "protocol_threshold": protocol,
        "test_cost_protocol": _cost(y_test, p_test, protocol),
        "test_cost_bayes": _cost(y_test, p_test, GERMAN_COST_MATRIX.bayes_threshold()),
        "hindsight_threshold": hindsight.threshold,
        "test_cost_hindsight": -float(hindsight.value_per_record or 0.0),
    }


def run(path: Path) -> list[dict[str, Any]]:
    table = load_credit_table(path, fmt="german")
    train, test = m.stratified_split(table.frame, table.target, test_size=0.2, seed=SEED)
    y_test = m._labels(test, table.target)
    spec = m.infer_features(train, table.target, categorical=table.categorical)
    ordinal_train, ordinal_test = _ordinal(train), _ordinal(test)
    categorical = [c for c in table.categorical if c in ordinal_train.columns]
    ord_spec = m.infer_features(ordinal_train, table.target, categorical=categorical)
    fits: dict[str, tuple[Any, np.ndarray, np.ndarray]] = {}
    with threadpool_limits(limits=1, user_api="openmp"):
        for kind in BASES:
            fits[kind] = _fit(train, test, table.target, spec, kind)
        for kind in ("hgb", "logreg"):
            fits[f"{kind} (ordinal)"] = _fit(ordinal_train, ordinal_test, table.target, ord_spec, kind)
    val = fits["hgb"][0]  # every candidate saw the same partitions (seeds SEED + repeat)
    rows = [_row(name, v, p_cv, p_test, y_test) for name, (v, p_cv, p_test) in fits.items()]
    means = [("hgb (ordinal)", "logreg (ordinal)")]
    means += [c for r in range(2, len(BASES) + 1) for c in itertools.combinations(BASES, r)]
    for combo in means:
        p_cv = np.mean([fits[k][1] for k in combo], axis=0)
        p_test = np.mean([fits[k][2] for k in combo], axis=0)
        rows.append(_row("+".join(combo), val, p_cv, p_test, y_test))
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per threshold kind: the lowest test cost over the candidates, which one, and how many reach the target."""
    out: dict[str, Any] = {"candidates": len(rows), "target": TARGET}
    for kind in ("protocol", "bayes", "hindsight"):
        costs = np.array([r[f"test_cost_{kind}"] for r in rows])
        best = int(costs.argmin())
        out[kind] = {
            "lowest": float(costs[best]),
            "lowest_candidate": rows[best]["candidate"],
            "median": float(np.median(costs)),
            "at_or_below_target": int((costs <= TARGET + 1e-12).sum()),
        }
    return out


def main() -> int:
    args = german_args(__doc__.splitlines()[0])
    start = time.perf_counter()
    rows = run(args.path)
    print(f"{'candidate':36s} {'CV cost':>8s} {'protocol':>9s} {'bayes':>7s} {'hindsight':>10s} (threshold)")
    for r in rows:
        costs = f"{r['test_cost_protocol']:9.3f} {r['test_cost_bayes']:7.3f} {r['test_cost_hindsight']:10.3f}"
        print(f"{r['candidate']:36s} {r['cv_cost_per_record']:8.4f} {costs} ({r['hindsight_threshold']:.3f})")
    result = summary(rows)
    print(json.dumps(result, indent=2))
    print(f"{time.perf_counter() - start:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"seed": SEED, "split": "stratified 80/20; test part READ", "summary": result, "rows": rows}
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

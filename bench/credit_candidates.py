"""German credit: candidates beyond ``fit_and_select``'s, scored on the TRAIN PART only (test part never read).

Takes the fixed stratified 80/20 split (seed 42) of ``vigia bench credit --format german`` and, on its train
part, runs each base model through the library's validation protocol (3 x 5-fold CV, calibration by Brier,
cross-validated threshold rules; ``vigia.tabular.model``). Reports the cross-validated cost per applicant of:
the current candidates (hgb, logreg and their blend), an RBF SVM, shrinkage LDA, a weight-of-evidence scorecard, a
spline logistic model, every mean of 2 to 6 of these base models, and hgb / logreg / blend on ordinal codes for the
codebook's three ordered attributes (checking account, savings, employment) instead of one-hot. Each row gives its
per-applicant gain over the current blend and the standard error of that paired difference: the rule used in the
docs is to adopt a candidate only when its gain exceeds one standard error.

    .venv/bin/python bench/credit_candidates.py ../shared/datasets/tabular/german_credit/german.data \
        [--json bench/results/credit_candidates.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import KBinsDiscretizer, SplineTransformer, StandardScaler, TargetEncoder
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from vigia.bench.credit import DEFAULT_SEED, GERMAN_COST_MATRIX
from vigia.tabular import model as m
from vigia.tabular.credit_data import load_credit_table

SEED = DEFAULT_SEED  # vigia bench credit's fixed split
BASES = ("hgb", "logreg", "svm", "lda", "scorecard", "splines")
ORDINAL = {
    "checking_status": {"A11": 0, "A12": 1, "A13": 2},  # A14 (no account): unknown, with its own flag
    "savings": {"A61": 0, "A62": 1, "A63": 2, "A64": 3},  # A65 (unknown / none): unknown, with its own flag
    "employment_since": {"A71": 0, "A72": 1, "A73": 2, "A74": 3, "A75": 4},
}


def _base(kind: str, spec: m.FeatureSpec, n_rows: int) -> Pipeline:
    if kind in ("hgb", "logreg"):
        return m.build_estimator(kind, spec, SEED, n_rows=n_rows)  # type: ignore[arg-type]
    if kind == "scorecard":
        return _scorecard(spec)
    if kind == "splines":
        return _spline_logreg(spec)
    clf: Any = (
        SVC(C=1.0, gamma="scale", class_weight="balanced", probability=True, random_state=SEED)
        if kind == "svm"
        else LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    )
    return Pipeline([("prep", m.build_preprocessor(spec, scale=True)), ("model", clf)])


def _scorecard(spec: m.FeatureSpec) -> Pipeline:
    """The credit-scoring classic: numeric columns in 5 quantile bins, every attribute replaced by its (cross-fitted)
    target encoding, the weight-of-evidence idea, then a class-weighted logistic regression on the scaled codes."""
    encode = {"target_type": "binary", "random_state": SEED}
    num = Pipeline([("impute", SimpleImputer(strategy="median")),
                    ("bins", KBinsDiscretizer(n_bins=5, encode="ordinal", strategy="quantile",
                                              quantile_method="averaged_inverted_cdf")),
                    ("woe", TargetEncoder(**encode))])  # fmt: skip
    cat = Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("woe", TargetEncoder(**encode))])
    prep = ColumnTransformer([("num", num, list(spec.numeric)), ("cat", cat, list(spec.categorical))])
    return Pipeline([("prep", prep), ("scale", StandardScaler()), ("model", _library_logreg(spec))])


def _spline_logreg(spec: m.FeatureSpec) -> Pipeline:
    """An additive logistic model: each numeric column as a cubic B-spline (5 quantile knots), so risk can bend
    with duration, amount and age; categorical columns one-hot, as the library's baseline has them."""
    num = Pipeline([("impute", SimpleImputer(strategy="median")),
                    ("spline", SplineTransformer(n_knots=5, degree=3, knots="quantile", extrapolation="constant")),
                    ("scale", StandardScaler())])  # fmt: skip
    prep = m.build_preprocessor(spec, scale=True).set_params(num=num)  # the library's one-hot categoricals kept
    return Pipeline([("prep", prep), ("model", _library_logreg(spec))])


def _library_logreg(spec: m.FeatureSpec) -> Any:
    """The logistic regression of the library's ``logreg`` candidate, with its settings (C, class weights)."""
    return m.build_estimator("logreg", spec, SEED).named_steps["model"]


def _ordinal(train: pl.DataFrame) -> pl.DataFrame:
    levels = [
        pl.col(c).cast(pl.String).replace_strict(codes, default=None, return_dtype=pl.Float64).alias(f"{c}_level")
        for c, codes in ORDINAL.items()
    ]
    unknown = [
        pl.col(c).cast(pl.String).is_in(list(codes)).not_().cast(pl.Int8).alias(f"{c}_unknown")
        for c, codes in ORDINAL.items()
        if c != "employment_since"  # every employment code is ordered
    ]
    return train.with_columns(levels + unknown).drop(list(ORDINAL))


def _validation(train: pl.DataFrame, target: str, spec: m.FeatureSpec, kind: str) -> tuple[Any, np.ndarray]:
    shared = {"mode": "cv", "validation_size": 0.25, "cv": 3, "repeats": m.CV_REPEATS}
    base = _base(kind, spec, train.height)
    val, chosen, _ = m._calibrated_validation(train, target, spec, base, ("sigmoid", "isotonic"), seed=SEED, **shared)
    return val, val.probs[chosen]


def _row(name: str, val: Any, p: np.ndarray, reference: np.ndarray | None) -> dict[str, Any]:
    metrics, per_row = m.validation_values(val, p, GERMAN_COST_MATRIX)
    out = {"candidate": name, "cv_cost_per_record": -metrics["selection_value_per_record"],
           "threshold_rule": metrics["threshold_rule"], "roc_auc": metrics["roc_auc"], "per_row": per_row}  # fmt: skip
    if reference is not None:
        gain, se = m.paired_gain(per_row, reference)
        out.update(gain_over_blend=gain, standard_error=se)
    return out


def run(path: Path) -> list[dict[str, Any]]:
    table = load_credit_table(path, fmt="german")
    train, _ = m.stratified_split(table.frame, table.target, test_size=0.2, seed=SEED)  # the test part is dropped
    spec = m.infer_features(train, table.target, categorical=table.categorical)
    ordinal = _ordinal(train)
    ord_spec = m.infer_features(ordinal, table.target, categorical=[c for c in table.categorical if c not in ORDINAL])
    probs: dict[str, tuple[Any, np.ndarray]] = {}
    with threadpool_limits(limits=1, user_api="openmp"):
        for kind in BASES:
            probs[kind] = _validation(train, table.target, spec, kind)
        for kind in ("hgb", "logreg"):
            probs[f"{kind} (ordinal)"] = _validation(ordinal, table.target, ord_spec, kind)
    val = probs["hgb"][0]  # every candidate saw the same partitions (seeds SEED + repeat)
    blend = _row("hgb+logreg (current blend)", val, (probs["hgb"][1] + probs["logreg"][1]) / 2, None)
    rows = [blend]
    for name, (v, p) in probs.items():
        rows.append(_row(name, v, p, blend["per_row"]))
    rows.append(_row("blend (ordinal)", val, (probs["hgb (ordinal)"][1] + probs["logreg (ordinal)"][1]) / 2,
                     blend["per_row"]))  # fmt: skip
    for r in (2, 3, 4, 5, 6):
        for combo in itertools.combinations(BASES, r):
            if combo != ("hgb", "logreg"):
                p = np.mean([probs[k][1] for k in combo], axis=0)
                rows.append(_row("+".join(combo), val, p, blend["per_row"]))
    for row in rows:
        del row["per_row"]
    return rows


def german_args(description: str) -> argparse.Namespace:
    """``path`` (german.data) and ``--json`` (an output file), the arguments of the German credit scripts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("path", type=Path, help="german.data (Statlog German credit)")
    parser.add_argument("--json", type=Path, default=None)
    return parser.parse_args()


def main() -> int:
    args = german_args(__doc__.splitlines()[0])
    start = time.perf_counter()
    rows = run(args.path)
    print(f"{'candidate':30s} {'CV cost':>8s} {'gain':>8s} {'SE':>7s}  rule")
    for r in rows:
        gain = f"{r['gain_over_blend']:+.4f}" if "gain_over_blend" in r else "-"
        se = f"{r['standard_error']:.4f}" if "standard_error" in r else "-"
        print(f"{r['candidate']:30s} {r['cv_cost_per_record']:8.4f} {gain:>8s} {se:>7s}  {r['threshold_rule']}")
    print(f"{time.perf_counter() - start:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"seed": SEED, "split": "stratified 80/20, train part only", "rows": rows},
                                        indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

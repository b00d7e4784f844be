"""``vigia bench credit``: supervised credit scoring on a labelled table (Taiwan default, German credit).

Protocol: the table is split once, stratified, 80 % train / 20 % test with ``seed``. On the train
part only, :func:`vigia.tabular.model.fit_and_select` fits a class-weighted gradient boosting model, a
logistic-regression baseline and their blend (mean of the two calibrated probabilities). Validation
predictions come from the train part only: a stratified 25 % hold-out, or, below 5,000 train rows,
out-of-fold predictions of a stratified 5-fold CV over the train part (repeated 3 times with other
partitions below 2,000 train rows). They choose each model's calibration (sigmoid vs isotonic, lower
Brier) and its decision threshold: without a value matrix the maximum-F1 threshold; with one, the
better of two rules by **cross-validated value per record** (each fold decided with the threshold the
rule picks on the other folds): the value-maximising threshold, or the cost-derived Bayes threshold
(``fp / (fp + fn)`` for a cost matrix, 1/6 for the German codebook). Each model is refitted on the
whole train part. With ``--tune``, a value matrix and CV validation (below 5,000 train rows), each base
model is first tuned on the train part: every point of a small regularisation grid (tree depth / leaves /
learning rate / L2 / leaf size for the boosting, C and L1/L2 for the logistic regression) is scored by
its cross-validated value per record on other CV partitions of the train part, and replaces the
defaults only if it beats them by more than one standard error (``validation_tuning`` per model). The
reported model is the one with the best validation score (that cross-validated value per record with
a value matrix, else ROC-AUC; the ``candidates`` table); the test part is only used for the final
figures of every model. With a value matrix the realised value per test record is reported, and for a pure
cost matrix its opposite, ``cost_per_record`` (the expected cost per applicant). ``test_intervals`` gives
the reported model's test figures with 95 % bootstrap intervals over the test rows (stratified resampling,
model and threshold fixed): how far each figure could move with another test part of the same size.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from vigia.tabular.credit_data import Format, load_credit_table
from vigia.tabular.model import (
    check_trainable,
    evaluate_model,
    fit_and_select,
    infer_features,
    selection_score,
    stratified_split,
)
from vigia.tabular.uncertainty import heldout_intervals
from vigia.tabular.value import ValueMatrix

GERMAN_COST_MATRIX = ValueMatrix.from_cost_matrix(fp_cost=1.0, fn_cost=5.0)  # codebook: bad predicted good = 5
DEFAULT_SEED = 42  # the fixed split (and CV partitions) of the figures in docs/benchmarks.md


def run_credit_benchmark(
    path: Path,
    *,
    target: str | None = None,
    separator: str | None = None,
    positive: str | int | None = None,
    value_matrix: ValueMatrix | None = None,
    seed: int = DEFAULT_SEED,
    fmt: Format = "csv",
    test_size: float = 0.2,
    validation_size: float = 0.25,
    validation: str = "auto",
    tune: bool | str = False,
) -> dict[str, Any]:
    """Run the protocol (module docstring) on ``path``; returns the JSON-ready result."""
    start = time.perf_counter()
    table = load_credit_table(path, fmt=fmt, target=target, separator=separator, positive=positive)
    frame, target = table.frame, table.target
    try:
        check_trainable(frame, target, test_size)
    except ValueError as exc:  # say when too few rows are left because rows were dropped
        raise ValueError(f"{exc}; {note}" if (note := table.drop_note()) else str(exc)) from exc
    train, test = stratified_split(frame, target, test_size=test_size, seed=seed)
    spec = infer_features(train, target, categorical=table.categorical)
    chosen, models = fit_and_select(
        train,
        target=target,
        spec=spec,
        value_matrix=value_matrix,
        seed=seed,
        validation=validation,
        validation_size=validation_size,
        tune=tune,
    )
    per_model = {}
    probs = {kind: model.predict_proba(test) for kind, model in models.items()}
    for kind, model in models.items():
        m = evaluate_model(model, test, probs[kind])
        per_model[kind] = {
            **{
                k: _r(m[k]) for k in ("roc_auc", "average_precision", "f1", "precision", "recall", "brier", "threshold")
            },
            "calibration": model.calibration,
            "validation_brier_by_calibration": {k: _r(v) for k, v in model.validation["brier_by_calibration"].items()},
            "validation_selection": _r(selection_score(model)),
            **(
                {
                    "threshold_rule": model.validation["threshold_rule"],
                    "validation_threshold_rules": {
                        r: {k: _r(v) for k, v in d.items()} for r, d in model.validation["threshold_rules"].items()
                    },
                }
                if value_matrix
                else {}
            ),
            "validation_params": model.validation["params"],
            **({"validation_tuning": _tuning(model.validation["tuning"])} if model.validation["tuning"] else {}),
            "confusion": {k: m[k] for k in ("tp", "fp", "fn", "tn")},
            "calibration_curve": m["calibration_curve"],
            **({"value": _value(m["value"])} if value_matrix else {}),
        }
    best = per_model[chosen.kind]
    y_test = test.get_column(target).to_numpy()
    intervals = heldout_intervals(y_test, probs[chosen.kind], chosen.threshold, value_matrix, seed=seed)
    candidates = [  # train-part validation only (no test figure): what the selection saw
        {
            "model": kind,
            "calibration": model.calibration,
            **({"threshold_rule": model.validation["threshold_rule"]} if value_matrix else {}),
            "validation_selection": _r(selection_score(model)),
            **(
                {"cv_cost_per_record": _r(-selection_score(model))}
                if value_matrix is not None and value_matrix.is_cost_matrix
                else {}
            ),
            "validation_roc_auc": _r(model.validation["roc_auc"]),
            "params": model.validation["params"],
            "chosen": kind == chosen.kind,
        }
        for kind, model in models.items()
    ]
    result: dict[str, Any] = {
        "model": chosen.kind,
        "calibration": chosen.calibration,
        **({"threshold_rule": chosen.validation["threshold_rule"]} if value_matrix else {}),
        **{k: best[k] for k in ("roc_auc", "average_precision", "f1", "brier", "threshold")},
    }
    if value_matrix is not None:
        result["value_per_record"] = best["value"]["realised_value_per_record"]
        result["expected_value_per_record"] = best["value"]["expected_value_per_record"]
        if value_matrix.is_cost_matrix:
            result["cost_per_record"] = best["value"]["cost_per_record"]
    result["test_intervals"] = intervals
    result.update(
        n_rows=frame.height,
        n_train=train.height,
        n_test=test.height,
        positive_rate=_r(float(frame.get_column(target).mean())),
        seconds=round(time.perf_counter() - start, 2),
        protocol={
            "split": f"stratified {1 - test_size:.0%}/{test_size:.0%} train/test, seed {seed}",
            "validation": (
                "out-of-fold predictions of a stratified 5-fold CV over the train part"
                + (f", {chosen.validation['repeats']} repeats" if chosen.validation["repeats"] > 1 else "")
                if chosen.validation["mode"] == "cv"
                else f"stratified {validation_size:.0%} hold-out of the train part"
            )
            + ": calibration method (Brier) and threshold",
            "threshold_criterion": (
                "better of max value and Bayes threshold by cross-validated value per record"
                if value_matrix
                else "max F1"
            ),
            "tuning": (
                "per base model, a regularisation grid scored by cross-validated value per record on other"
                " CV partitions of the train part; defaults kept unless beaten by more than one standard error"
                if any(m.validation["tuning"] for m in models.values())
                else "none (defaults)"
            ),
            "selection": "best cross-validated value per record" if value_matrix else "best validation ROC-AUC",
            "test_intervals": "reported model, 95 % percentile intervals of 2,000 bootstrap resamples of the test rows "
            "drawn within each class; model and threshold fixed (vigia.tabular.uncertainty)",
            "candidates": candidates,
            "refit": "chosen calibrated pipeline refitted on the whole train part",
            "value_matrix": None if value_matrix is None else value_matrix.to_dict(),
            "format": fmt,
            "target": target,
            "positive": table.positive,
            "numeric_features": list(spec.numeric),
            "categorical_features": list(spec.categorical),
        },
        models=per_model,
        data={
            "path": str(path),
            "dropped_rows": table.dropped_rows,
            "dropped_target": table.dropped_target,
            "dropped_columns": table.dropped_columns,
            "type_errors": table.type_errors,
        },
    )
    return result


def _r(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v


def _tuning(t: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: _r(t[k]) for k in ("best", "gain_over_defaults", "standard_error", "chosen", "seconds")},
        "grid": [{k: _r(v) for k, v in row.items()} for row in t["grid"]],
    }


def _value(v: dict[str, Any]) -> dict[str, Any]:
    return {k: _r(x) for k, x in v.items()}


# --- CLI wiring (the lead adds `add_credit_parser(bench_sub)` in vigia/cli.py) -------------------------


def add_credit_parser(bench_sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``vigia bench credit PATH --json OUT [--target Y] [--sep S] [--format german] [--cost-matrix M]``."""
    credit = bench_sub.add_parser("credit", help="supervised credit scoring: calibrated model, threshold, value")
    credit.add_argument("path")
    credit.add_argument("--json", help="write the result JSON here")
    credit.add_argument("--target", default=None, help="label column (default Y; 'class' with --format german)")
    credit.add_argument("--sep", default=None, help="field separator (default ','; ' ' with --format german)")
    credit.add_argument("--format", choices=["csv", "german", "taiwan"], default="csv", dest="fmt")
    credit.add_argument("--positive", default=None, help="label of the positive class (default 1; german: 2 = bad)")
    credit.add_argument(
        "--cost-matrix",
        default=None,
        help="value matrix 'fp=1,fn=5' (costs) or 'tp=B,fp=C,fn=C,tn=V'; --format german defaults to fp=1,fn=5",
    )
    credit.add_argument("--seed", type=int, default=DEFAULT_SEED)
    credit.add_argument(
        "--tune",
        action="store_true",
        help="tune each base model on a regularisation grid by cross-validated value (below 5,000 train rows)",
    )
    credit.set_defaults(func=bench_credit_cli)
    return credit


def cli_value_matrix(cost_matrix: str | None, fmt: Format) -> ValueMatrix | None:
    """``--cost-matrix`` parsed; without it, the codebook's matrix for ``--format german``, else none."""
    if cost_matrix:
        return ValueMatrix.parse(cost_matrix)
    return GERMAN_COST_MATRIX if fmt == "german" else None


def bench_credit_cli(args: argparse.Namespace) -> int:
    vm = cli_value_matrix(args.cost_matrix, args.fmt)
    result = run_credit_benchmark(
        Path(args.path),
        target=args.target,
        separator=args.sep,
        positive=args.positive,
        value_matrix=vm,
        seed=args.seed,
        fmt=args.fmt,
        tune="auto" if args.tune else False,
    )
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text)
    print(text)
    return 0

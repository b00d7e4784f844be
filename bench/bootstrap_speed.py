"""Held-out intervals: the block statistics of ``vigia.tabular.uncertainty`` against one scikit-learn call per
resample, on the same resamples.

Draws ``--rows`` synthetic labels (22 % positive, as Taiwan's test part) and tied probabilities (3 decimals),
then times ROC-AUC and average-precision intervals of ``--resamples`` stratified resamples both ways, and
checks that both ways give the same bounds.

    .venv/bin/python bench/bootstrap_speed.py [--rows 6000] [--resamples 2000]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from vigia.tabular import uncertainty


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=6000)
    ap.add_argument("--resamples", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    y = (rng.random(args.rows) < 0.22).astype(int)
    p = np.round(np.clip(0.22 + 0.3 * (y - 0.22) + rng.normal(0, 0.2, args.rows), 0, 1), 3)
    out = {"rows": args.rows, "resamples": args.resamples}
    for name, rows_stat, one in (
        ("roc_auc", uncertainty.roc_auc_rows, roc_auc_score),
        ("average_precision", uncertainty.average_precision_rows, average_precision_score),
    ):
        start = time.perf_counter()
        block = uncertainty.stratified_bootstrap(rows_stat, y, p, n_resamples=args.resamples, seed=1)
        block_s = time.perf_counter() - start

        def per_resample(yy: np.ndarray, pp: np.ndarray, f=one) -> np.ndarray:
            return np.array([f(a, b) for a, b in zip(yy, pp, strict=True)])

        start = time.perf_counter()
        loop = uncertainty.stratified_bootstrap(per_resample, y, p, n_resamples=args.resamples, seed=1)
        loop_s = time.perf_counter() - start
        out[name] = {"block_s": round(block_s, 2), "scikit_learn_per_resample_s": round(loop_s, 2),
                     "same_bounds": bool(np.isclose([block.low, block.high], [loop.low, loop.high]).all())}  # fmt: skip
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

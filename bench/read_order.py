"""Does reading the stored windows give the detectors the same rows in the same order every time?

Reads ``<dataset>.window_features`` of a warehouse ``--reads`` times two ways: ordered by ``window_start``
alone (as ``load_features`` did before 2026-11-30) and by ``load_features`` (time, then every column). For
each way it counts the distinct row orders and fits an IsolationForest (100 trees, seed 7, on the normal
windows, as ``bench/zeek_chain.py``) on the first two reads that differ, if any, and reports how far apart
the two fits score the same windows, and how many of the windows' feature rows are distinct (scoring groups
identical rows only when at most 80 % are distinct: ``vigia.models.distinct``). The default warehouse is the
one ``bench/zeek_chain.py`` leaves behind.

    .venv/bin/python bench/read_order.py [--db /tmp/vigia-bench/vigia_chain.duckdb] [--dataset bench] [--reads 12]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from vigia.config import DetectorConfig
from vigia.features.conn_windows import features_to_matrix
from vigia.models.detectors import fit_detector, normalized_scores
from vigia.models.distinct import WORTH_IT, distinct_rows
from vigia.models.preprocess import FeaturePreprocessor
from vigia.pipeline.features import FEATURES_TABLE, load_features
from vigia.warehouse.duck import read_frame


def _scores(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """IsolationForest scores of every window, fitted on the normal windows in ``frame``'s row order."""
    x = features_to_matrix(frame)
    y = frame["label"].fill_null(0).to_numpy().astype(np.int64)
    xt = FeaturePreprocessor().fit(x, y).transform(x)
    detector = DetectorConfig(name="iforest", type="isolation_forest", params={"n_estimators": 100})
    fitted = fit_detector(detector, xt[y == 0], seed=7)
    return frame.select(key).with_columns(score=pl.Series(normalized_scores(fitted, xt))).sort(key)


def _measure(reads: list[pl.DataFrame], key: list[str]) -> dict[str, Any]:
    digests = [hashlib.sha256(f.select(key).write_csv().encode()).hexdigest() for f in reads]
    out: dict[str, Any] = {"reads": len(reads), "distinct_orders": len(set(digests))}
    other = next((i for i, d in enumerate(digests) if d != digests[0]), None)
    if other is not None:
        a, b = _scores(reads[0], key), _scores(reads[other], key)
        diff = np.abs(a["score"].to_numpy() - b["score"].to_numpy())
        out["max_score_difference"] = float(diff.max())
        out["windows_scored_differently"] = int((diff > 1e-12).sum())
        out["windows"] = len(diff)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=Path("/tmp/vigia-bench/vigia_chain.duckdb"))
    ap.add_argument("--dataset", default="bench")
    ap.add_argument("--entity", default="orig_h", help="the windows' entity column (with window_start, a key)")
    ap.add_argument("--reads", type=int, default=12)
    args = ap.parse_args(argv)
    if not args.db.exists():
        raise SystemExit(f"no warehouse at {args.db}: run bench/zeek_chain.py first, or pass --db")
    key = ["window_start", args.entity]
    with duckdb.connect(str(args.db), read_only=True) as con:
        by_time = [read_frame(con, args.dataset, FEATURES_TABLE, order_by="window_start") for _ in range(args.reads)]
        total = [load_features(con, args.dataset) for _ in range(args.reads)]
    result = {"by_time_alone": _measure(by_time, key), "load_features": _measure(total, key)}
    distinct = distinct_rows(features_to_matrix(total[0]), worth_it=1.0)
    n_distinct = total[0].height if distinct is None else len(distinct.first)
    result["feature_rows"] = {"windows": total[0].height, "distinct": n_distinct,
                              "grouped_when_scored": n_distinct <= WORTH_IT * total[0].height}  # fmt: skip
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``vigia`` command: materialize the graph through the Dagster CLI, check dataset files, run benchmarks,
generate data."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vigia.config import DatasetConfig

PRE_MODEL_STAGES = ("ingest", "clean", "features")


def _materialize(args: argparse.Namespace) -> int:
    """Per dataset: partitioned assets before the models, the unpartitioned models, then scoring and drift."""
    from orchestration.definitions import build_definitions
    from vigia.dagster_home import ensure_dagster_home

    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(ensure_dagster_home(Path(env.get("DAGSTER_HOME", ".dagster_home"))))
    _free_dead_slots(env["DAGSTER_HOME"])
    defs = build_definitions()
    assets = list(defs.assets or [])
    datasets = sorted({a.key.path[0] for a in assets})
    if not datasets:
        from vigia.paths import datasets_dir

        print(f"no dataset files (*.yaml) in {datasets_dir()}: nothing to materialize "
              "(check VIGIA_DATASETS_DIR, or run `vigia check`)", file=sys.stderr)  # fmt: skip
        return 2
    if args.dataset:
        unknown = set(args.dataset) - set(datasets)
        if unknown:
            print(f"unknown dataset(s) {sorted(unknown)}; known: {datasets}", file=sys.stderr)
            return 2
        datasets = args.dataset
    log_level = json.dumps({"loggers": {"console": {"config": {"log_level": args.log_level}}}})
    base = [
        *(sys.executable, "-m", "dagster", "asset", "materialize", "-m", "orchestration.definitions"),
        *("--config-json", log_level),
    ]
    for name in datasets:
        mine = [a for a in assets if a.key.path[0] == name]
        for cmd in _materialize_calls(base, mine):
            print("+ " + " ".join(cmd[1:]), flush=True)
            code = subprocess.call(cmd, env=env)
            if code:
                print(f"dagster asset materialize failed for {name} (exit {code})", file=sys.stderr)
                return code
    return 0


def _free_dead_slots(home: str) -> int:
    """Free the warehouse pool slots held by killed or finished runs in ``home``, saying which; returns how many
    runs held some."""
    import dagster as dg

    from vigia.dagster_home import free_dead_run_slots

    with dg.DagsterInstance.from_config(home) as instance:
        freed = free_dead_run_slots(instance)
    for line in freed:
        print(line, flush=True)
    return len(freed)


def _unlock(args: argparse.Namespace) -> int:
    """Free the warehouse pool slots of dead runs (for runs started with the ``dagster`` CLI or UI)."""
    from vigia.dagster_home import ensure_dagster_home

    if not _free_dead_slots(str(ensure_dagster_home(Path(os.environ.get("DAGSTER_HOME", ".dagster_home"))))):
        print("no dead run holds a duckdb_warehouse slot")
    return 0


def _materialize_calls(base: list[str], assets: list) -> list[list[str]]:
    """One dataset's CLI calls: partitioned pre-model assets, unpartitioned ones, partitioned scoring ones; none
    (with a note) for a daily dataset without a complete day yet."""
    from assets.common import STAGE_TAG
    from orchestration.jobs import partitioned_keys, unpartitioned_keys

    def select(keys: list) -> list[str]:
        return ["--select", ",".join(k.to_user_string() for k in keys)]

    part = partitioned_keys(assets)
    if not part:  # e.g. the supervised tabular kind
        return [[*base, *select(unpartitioned_keys(assets))]]
    keys = next(a.partitions_def for a in assets if a.partitions_def is not None).get_partition_keys()
    if not keys:  # an open-ended dataset whose first day is not over yet
        print(f"{assets[0].key.path[0]}: no complete daily partition yet; skipped", flush=True)
        return []
    rng = ["--partition-range", f"{keys[0]}...{keys[-1]}"]
    stage = {k: spec.tags.get(STAGE_TAG) for a in assets for k, spec in a.specs_by_key.items()}
    upstream = [k for k in part if stage[k] in PRE_MODEL_STAGES]
    downstream = [k for k in part if stage[k] not in PRE_MODEL_STAGES]
    return [
        [*base, *select(upstream), *rng],
        [*base, *select(unpartitioned_keys(assets))],
        [*base, *select(downstream), *rng],
    ]


def _build_dataset(cfg: DatasetConfig) -> list[str]:
    """Build what the code location builds for one dataset (assets, jobs, schedules, sensors, freshness checks
    and their sensor), so what would stop it loading fails here; returns the asset names."""
    import warnings

    import dagster as dg

    from orchestration.dataset_defs import build_dataset_definitions
    from orchestration.freshness import build_freshness_sensor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        dataset = build_dataset_definitions(cfg)
        if dataset.checks:
            build_freshness_sensor(dataset.checks)
    return [k.path[-1] for a in dataset.assets for k in a.keys]


def _check(args: argparse.Namespace) -> int:
    """Validate dataset files; exit 1 when any cannot be used."""
    from vigia.config_check import check_files
    from vigia.paths import datasets_dir

    checks, errors = check_files([Path(p) for p in args.paths] or [datasets_dir()], _build_dataset)
    for check in checks:
        print(check.summary())
    for error in errors:
        print(f"FAIL {error}")
    failed = sum(c.error is not None for c in checks) + len(errors)
    print(f"{len(checks)} dataset file(s), {failed} problem(s)")
    return 1 if failed else 0


def _bench_zeek(args: argparse.Namespace) -> int:
    from vigia.bench.zeek import run_zeek_benchmark

    result = run_zeek_benchmark(
        Path(args.path),
        window_seconds=args.window_seconds,
        k=args.k,
        threshold_quantile=args.threshold_quantile,
        calibration=args.calibration,
    )
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text)
    print(text)
    return 0


def _bench_skab(args: argparse.Namespace) -> int:
    from vigia.bench.skab import format_leaderboard_table, run_skab_benchmark

    subsets = None if args.subsets in ("", "all") else tuple(s for s in args.subsets.split(",") if s)
    methods = tuple(m for m in args.methods.split(",") if m)
    result = run_skab_benchmark(Path(args.path), subsets=subsets, methods=methods, seed=args.seed)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    print(format_leaderboard_table(result))
    return 0


def _bench_http(args: argparse.Namespace) -> int:
    from vigia.bench.http import run_http_benchmark

    result = run_http_benchmark(Path(args.path), k=args.k, threshold_quantile=args.threshold_quantile, seed=args.seed)
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text)
    print(text)
    return 0


def _generate_zeek(args: argparse.Namespace) -> int:
    from datetime import date

    from vigia.sources.zeek_synth import generate_conn_day, write_zeek_json, write_zeek_tsv

    df = generate_conn_day(date.fromisoformat(args.day), args.rows, args.seed)
    out = Path(args.out)
    if args.format == "json":
        write_zeek_json(df, out)
    else:
        write_zeek_tsv(df, out, gzip=args.format == "tsv.gz")
    print(f"wrote {df.height} connections to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigia", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    mat = sub.add_parser("materialize", help="materialize every asset with `dagster asset materialize`")
    mat.add_argument("--dataset", action="append", help="only this dataset (repeatable)")
    mat.add_argument("--log-level", default="INFO", help="console log level of the runs (DEBUG shows every event)")
    mat.set_defaults(func=_materialize)

    unlock = sub.add_parser(
        "unlock", help="free the duckdb_warehouse pool slots of killed or finished runs (runs waiting on the pool)"
    )
    unlock.set_defaults(func=_unlock)

    check = sub.add_parser("check", help="validate dataset files (default: the configured datasets folder)")
    check.add_argument("paths", nargs="*", help="dataset files or folders of them")
    check.set_defaults(func=_check)

    bench = sub.add_parser("bench", help="benchmarks on labelled data")
    bench_sub = bench.add_subparsers(dest="bench", required=True)
    zeek = bench_sub.add_parser("zeek", help="window-level detection on labelled Zeek conn logs")
    zeek.add_argument("path")
    zeek.add_argument("--json", help="write the result JSON here")
    zeek.add_argument("--window-seconds", type=int, default=300)
    zeek.add_argument("--k", type=int, default=2, help="consensus: windows flagged by at least k detectors")
    zeek.add_argument(
        "--threshold-quantile", type=float, default=0.99, help="per-detector threshold: quantile of training scores"
    )
    zeek.add_argument(
        "--calibration",
        choices=("best_f1", "quantile"),
        default="best_f1",
        help="best_f1: best F1 on the training half where it holds malicious windows (cross-fitted), else the "
        "quantile; quantile: the quantile of training-normal scores only",
    )
    zeek.set_defaults(func=_bench_zeek)

    skab = bench_sub.add_parser("skab", help="SKAB protocol (first 400 rows train) with autoencoders")
    skab.add_argument("path")
    skab.add_argument("--json", help="write the result JSON here")
    skab.add_argument("--subsets", default="valve1,valve2", help="comma-separated folders under PATH, or 'all'")
    skab.add_argument("--methods", default="lstm_ae,conv_ae,conv_ae_tuned")
    skab.add_argument("--seed", type=int, default=None, help="override the models' seeds")
    skab.set_defaults(func=_bench_skab)

    http = bench_sub.add_parser("http", help="request-level detection on CSIC 2010 HTTP requests (JSONL)")
    http.add_argument("path")
    http.add_argument("--json", help="write the result JSON here")
    http.add_argument("--k", type=int, default=2, help="consensus: requests flagged by at least k detectors")
    http.add_argument(
        "--threshold-quantile", type=float, default=0.99, help="quantile of scores on held-out normal requests"
    )
    http.add_argument("--seed", type=int, default=7)
    http.set_defaults(func=_bench_http)

    from vigia.bench.credit import add_credit_parser

    add_credit_parser(bench_sub)

    gen = sub.add_parser("generate", help="write synthetic data files")
    gen_sub = gen.add_subparsers(dest="kind", required=True)
    gz = gen_sub.add_parser("zeek", help="a synthetic labelled Zeek conn.log")
    gz.add_argument("--rows", type=int, default=1_000_000)
    gz.add_argument("--day", default="2026-01-05")
    gz.add_argument("--seed", type=int, default=7)
    gz.add_argument("--format", choices=["tsv", "tsv.gz", "json"], default="tsv")
    gz.add_argument("--out", required=True)
    gz.set_defaults(func=_generate_zeek)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command. Bad input (a missing path, an unreadable or unusable file) is one line on stderr and exit
    code 2, like a usage error; ``VIGIA_DEBUG=1`` shows the traceback instead."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as exc:
        if os.environ.get("VIGIA_DEBUG") or not _input_error(exc):
            raise
        command = " ".join(str(part) for part in (args.command, getattr(args, "bench", None)) if part)
        message = str(exc) if isinstance(exc, ValueError | OSError) else _first_line(exc)  # polars adds hints
        print(f"vigia {command}: error: {message}", file=sys.stderr)
        return 2


def _first_line(exc: Exception) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def _input_error(exc: Exception) -> bool:
    """Bad input: ``ValueError`` (``SourceError`` is one), ``OSError``, or a polars error that a file's content
    causes (a missing column, unparseable data, a schema mismatch); other polars errors are bugs: traceback."""
    if isinstance(exc, ValueError | OSError):
        return True
    polars = sys.modules.get("polars")
    if polars is None:
        return False
    errors = polars.exceptions
    content = (errors.ColumnNotFoundError, errors.ComputeError, errors.NoDataError, errors.SchemaError,
               errors.SchemaFieldNotFoundError)  # fmt: skip
    return isinstance(exc, content)


if __name__ == "__main__":
    raise SystemExit(main())

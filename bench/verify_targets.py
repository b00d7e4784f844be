"""Re-measure every benchmark target of the issues on this checkout, with one command.

Usage::

    .venv/bin/python bench/verify_targets.py --json bench/results/targets.json           # everything (~15 min)
    .venv/bin/python bench/verify_targets.py --only credit_taiwan,credit_german,http      # some checks
    .venv/bin/python bench/verify_targets.py --chain-repeat 1                             # one Zeek chain run
    .venv/bin/python bench/verify_targets.py --outputs bench/results/targets/             # keep each JSON

Each check runs its benchmark exactly as ``docs/benchmarks.md`` gives it, in a fresh interpreter (the
command is printed and kept in the JSON), reads the benchmark's own JSON and judges the issue's targets
on it. Checks on the real datasets need ``--shared`` (default ``$VIGIA_SHARED_DATASETS``, else
``../shared/datasets`` beside the repo, as the tests) and
are reported as skipped without it. Run it on an otherwise idle machine: the timing targets are judged
on wall seconds. The exit status is 0 when every check that ran meets its targets, else 1; a check whose
issue only asks for its figure to be recorded (IoT-23) shows its verdict but does not fail the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import operator
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_common import REPO_ROOT, git_state, machine

PYTHON = sys.executable
VIGIA = [str(Path(os.path.abspath(PYTHON)).parent / "vigia")]  # the console script of the venv running this
OPS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Target:
    """``figure`` (a path of keys into the benchmark's JSON) ``op`` ``bound``."""

    name: str
    figure: tuple[str, ...]
    op: str
    bound: float


@dataclass(frozen=True)
class Check:
    """One benchmark run and the targets judged on its JSON."""

    name: str
    issue: int
    command: Callable[[Path, Path], list[str]]  # (shared datasets, output JSON) -> argv
    targets: tuple[Target, ...]
    needs: str | None = None  # a folder under the shared datasets, or None
    record_only: bool = False  # the issue asks for the figure to be recorded, whatever it is
    timeout_s: int = 1800
    notes: list[str] = field(default_factory=list)


def _figure(result: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = result
    for key in path:
        value = value[key]
    return value


def judge(check: Check, result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: the figure, the bound and whether it is met (a missing figure is not met)."""
    rows = []
    for t in check.targets:
        try:
            got = _figure(result, t.figure)
        except (KeyError, TypeError):
            got = None
        met = got is not None and OPS[t.op](float(got), t.bound)
        rows.append({"target": t.name, "figure": got, "op": t.op, "bound": t.bound, "met": met})
    return rows


def checks(chain_repeat: int) -> list[Check]:
    """The benchmark targets of issues 2, 4, 5 and 6 (issue 3's are tests: see ``docs/benchmarks.md``)."""
    bench = REPO_ROOT / "bench"
    return [
        Check(
            "zeek_chain", 2,
            lambda s, out: [PYTHON, str(bench / "zeek_chain.py"), "--rows", "10000000", "--memory-limit", "2GB",
                            "--repeat", str(chain_repeat), "--json", str(out)],
            (
                Target("ingest records/s (median)", ("summary", "vigia_ingest_records_per_s"), ">=", 1_000_000),
                Target("features seconds (median)", ("summary", "vigia_features_s"), "<=", 10.0),
                Target("whole chain seconds (median)", ("summary", "vigia_total_s"), "<=", 45.0),
                Target("peak memory GiB (highest)", ("summary", "vigia_peak_rss_gib"), "<=", 3.0),
                Target("speed-up over the naive chain", ("summary", "speedup"), ">=", 2.0),
            ),
            timeout_s=3600,
        ),
        Check(
            "iot23", 2,
            lambda s, out: [*VIGIA, "bench", "zeek", str(s / "zeek"), "--json", str(out)],
            (Target("precision", ("precision",), ">=", 0.90), Target("recall", ("recall",), ">=", 0.85)),
            needs="zeek", record_only=True,
        ),
        Check(
            "skab", 4,
            lambda s, out: [*VIGIA, "bench", "skab", str(s / "skab" / "data"), "--json", str(out)],
            (
                Target("conv_ae_tuned F1", ("methods", "conv_ae_tuned", "f1"), ">=", 0.80),
                Target("conv_ae_tuned FAR %", ("methods", "conv_ae_tuned", "far"), "<=", 15.0),
                Target("conv_ae_tuned MAR %", ("methods", "conv_ae_tuned", "mar"), "<=", 25.0),
                Target("whole benchmark seconds", ("seconds",), "<=", 600.0),
            ),
            needs="skab",
        ),
        Check(
            "http", 5,
            lambda s, out: [*VIGIA, "bench", "http", str(s / "http" / "csic2010"), "--json", str(out)],
            (Target("F1", ("f1",), ">=", 0.90), Target("ROC-AUC", ("roc_auc",), ">=", 0.95)),
            needs="http",
        ),
        Check(
            "opensearch_ingest", 5,
            lambda s, out: [PYTHON, str(bench / "opensearch_ingest.py"), "--json", str(out)],
            (Target("ingest events/s", ("events_per_s",), ">=", 20_000),),
        ),
        Check(
            "events_chain", 5,
            lambda s, out: [PYTHON, str(bench / "events_chain.py"), "--repeat", "3", "--json", str(out)],
            (Target("clean + features + score events/s (median)", ("clean_features_score_events_per_s",), ">=",
                    50_000),),
        ),
        Check(
            "credit_taiwan", 6,
            lambda s, out: [*VIGIA, "bench", "credit", str(s / "tabular" / "taiwan_credit_default" /
                                                              "UCI_Credit_Card.csv"),
                            "--format", "taiwan", "--json", str(out)],
            (Target("ROC-AUC (fixed split)", ("roc_auc",), ">=", 0.78),),
            needs="tabular",
        ),
        Check(
            "credit_german", 6,
            lambda s, out: [*VIGIA, "bench", "credit", str(s / "tabular" / "german_credit" / "german.data"),
                            "--format", "german", "--json", str(out)],
            (Target("cost per applicant (fixed split)", ("cost_per_record",), "<=", 0.50),),
            needs="tabular",
        ),
    ]


def run_check(check: Check, shared: Path, workdir: Path) -> dict[str, Any]:
    """Run one check's benchmark and judge its targets (skipped when its shared data is absent)."""
    base: dict[str, Any] = {"check": check.name, "issue": check.issue, "record_only": check.record_only}
    if check.needs and not (shared / check.needs).is_dir():
        return {**base, "status": "skipped", "reason": f"{shared / check.needs} is absent"}
    out = workdir / f"{check.name}.json"
    out.unlink(missing_ok=True)  # never judge an earlier run's figures
    argv = check.command(shared, out)
    print(f"== {check.name}: {' '.join(argv)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=check.timeout_s)
    seconds = round(time.perf_counter() - t0, 1)
    base |= {"command": " ".join(argv), "wall_s": seconds}
    if not out.exists():
        tail = (proc.stdout + proc.stderr)[-2000:]
        return {**base, "status": "error", "returncode": proc.returncode, "output_tail": tail}
    rows = judge(check, json.loads(out.read_text()))
    status = "met" if all(r["met"] for r in rows) else "missed"
    return {**base, "status": status, "returncode": proc.returncode, "targets": rows}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"\n{'check':<18}{'issue':>6}  {'target':<44}{'figure':>12}  {'bound':<14}verdict")
    for r in results:
        if r["status"] in ("skipped", "error"):
            print(f"{r['check']:<18}{r['issue']:>6}  {r['status']}: {r.get('reason') or r.get('output_tail', '')}")
            continue
        for t in r["targets"]:
            verdict = "met" if t["met"] else ("missed (record only)" if r["record_only"] else "MISSED")
            print(f"{r['check']:<18}{r['issue']:>6}  {t['target']:<44}{_fmt(t['figure']):>12}  "
                  f"{t['op']} {_fmt(t['bound']):<11}{verdict}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_shared = os.environ.get("VIGIA_SHARED_DATASETS") or REPO_ROOT.parent / "shared" / "datasets"
    ap.add_argument("--shared", type=Path, default=Path(default_shared), help="the public datasets (as the tests)")
    ap.add_argument("--only", help="comma-separated check names (default: all)")
    ap.add_argument("--chain-repeat", type=int, default=5, help="Zeek chain runs whose medians are judged")
    ap.add_argument("--json", type=Path, help="write every result here")
    ap.add_argument("--outputs", type=Path, help="keep each benchmark's own JSON in this folder (default: dropped)")
    args = ap.parse_args(argv)
    selected = checks(args.chain_repeat)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {c.name for c in selected}
        if unknown:
            ap.error(f"unknown checks: {', '.join(sorted(unknown))} (known: {', '.join(c.name for c in selected)})")
        selected = [c for c in selected if c.name in wanted]
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="vigia-targets-") as tmp:
        outputs = args.outputs or Path(tmp)
        outputs.mkdir(parents=True, exist_ok=True)
        results = [run_check(c, args.shared.resolve(), outputs) for c in selected]
    print_table(results)
    report = {"benchmark": "verify_targets", "started": started, "machine": machine(), "git": git_state(),
              "results": results}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    failed = [r for r in results if r["status"] == "error" or (r["status"] == "missed" and not r["record_only"])]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

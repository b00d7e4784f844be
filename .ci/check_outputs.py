"""After the README's first command: did it materialize everything, and does the network default meet issue 2?

Checks, against the Dagster instance in ``$DAGSTER_HOME`` and the reports under ``data/``:

* every run recorded succeeded;
* every asset of the code location has a materialization, and every partition of the configured range
  for the partitioned ones;
* no asset check's latest evaluation failed;
* the synthetic network default: the consensus detector's test precision ≥ 0.90 and recall ≥ 0.85, as
  the evaluation asset reported them (``data/reports/network/evaluation.json``).

Exits non-zero with one line per problem.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dagster as dg

NETWORK_TARGETS = {"precision": 0.90, "recall": 0.85}


def _asset_problems(instance: dg.DagsterInstance, defs: dg.Definitions) -> list[str]:
    problems = []
    graph = defs.resolve_asset_graph()
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        name = key.to_user_string()
        partitions_def = graph.get(key).partitions_def
        if partitions_def is None:
            if instance.get_latest_materialization_event(key) is None:
                problems.append(f"{name}: never materialized")
            continue
        missing = set(partitions_def.get_partition_keys()) - instance.get_materialized_partitions(key)
        if missing:
            problems.append(f"{name}: {len(missing)} partitions not materialized, e.g. {sorted(missing)[0]}")
    for check_key in sorted(graph.asset_check_keys, key=lambda k: k.to_user_string()):
        record = instance.get_latest_asset_check_evaluation_record(check_key)
        evaluation = record.evaluation if record is not None else None
        if evaluation is not None and not evaluation.passed:
            problems.append(f"asset check {check_key.to_user_string()}: failed ({evaluation.severity.value})")
    return problems


def _network_problems(report: Path) -> list[str]:
    if not report.exists():
        return [f"{report}: missing"]
    consensus = json.loads(report.read_text())["metrics"]["consensus"]
    summary = ", ".join(f"{m} {consensus[m]:.3f}" for m in ("precision", "recall", "f1"))
    print(f"network consensus on the synthetic default: {summary}")
    return [
        f"network consensus {metric} {consensus[metric]:.3f} < {floor}"
        for metric, floor in NETWORK_TARGETS.items()
        if consensus[metric] < floor
    ]


def main() -> int:
    from orchestration.definitions import defs
    from vigia.paths import data_dir

    instance = dg.DagsterInstance.get()
    runs = instance.get_runs()
    problems = [f"run {r.run_id}: {r.status.value}" for r in runs if r.status != dg.DagsterRunStatus.SUCCESS]
    if not runs:
        problems.append("no runs recorded")
    print(f"{len(runs)} runs: {sorted({r.status.value for r in runs})}")
    problems += _asset_problems(instance, defs)
    problems += _network_problems(data_dir() / "reports" / "network" / "evaluation.json")
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if not problems:
        n_assets = len(defs.resolve_asset_graph().get_all_asset_keys())
        print(f"all {n_assets} assets materialized, no failed asset check, network targets met")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The new-files sensor's bookkeeping over a large archive: listing, state and decision, without the reads.

Usage::

    .venv/bin/python bench/files_sensor.py --files 10000 --repeat 3 --json OUT

Writes ``--files`` one-byte files (24 per folder, as hourly rotations by day) under ``<workdir>/files``,
then times :func:`vigia.pipeline.file_arrivals.plan_arrivals` as the sensor calls it: the first evaluation
(no state; every file goes through a trivial probe) and a steady one (the cursor decoded from its JSON,
nothing new). Reports the median seconds of each and the cursor's size. The per-file read of a real log
is measured apart (``docs/benchmarks.md``, the 10M-record TSV).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench_common import finish

from vigia.pipeline.file_arrivals import decode_seen, encode_seen, plan_arrivals


def _archive(root: Path, n: int) -> list[Path]:
    past = time.time() - 3600
    for i in range(n):
        path = root / f"{i // 24:05d}" / f"conn.{i % 24:02d}.log"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x")
            os.utime(path, (past, past))
    return sorted(root.rglob("*.log"))[:n]


def _evaluate(files: list[Path], cursor: str | None) -> tuple[float, str, int]:
    started = time.perf_counter()
    seen = decode_seen(json.loads(cursor)["files"]) if cursor else {}
    plan = plan_arrivals(
        files, seen, probe=lambda _: (date(2026, 1, 5), date(2026, 1, 5), 1), is_partition=lambda _: True,
        after_last_partition=lambda _: False, written_at=lambda _: {}, settle_s=30, budget_s=60,
        first_evaluation=cursor is None,
    )  # fmt: skip
    out = json.dumps({"version": 1, "files": encode_seen(plan.seen)})
    return time.perf_counter() - started, out, len(plan.runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vigia-bench"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    files = _archive(args.workdir / "files", args.files)
    runs: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        first_s, cursor, first_runs = _evaluate(files, None)
        steady_s, _, steady_runs = _evaluate(files, cursor)
        runs += [{"evaluation": "first", "seconds": round(first_s, 3), "runs_requested": first_runs},
                 {"evaluation": "steady", "seconds": round(steady_s, 3), "runs_requested": steady_runs}]  # fmt: skip
    finish(runs, lambda r: r["evaluation"], args.json, files=len(files), cursor_bytes=len(cursor))
    print(f"{len(files)} files, cursor {len(cursor):,} bytes")


if __name__ == "__main__":
    main()

"""Shared by the benchmarks: the Zeek benchmark day and dataset, their DuckDB connection, the runs' summary;
the machine and the commit a result was measured on.

Nothing from ``vigia`` is imported at module level, so ``zeek_chain.py`` still times those imports itself.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DAY = dt.date(2026, 1, 5)  # the one daily partition the benchmarks generate and read
SEED = 7


def conn_dataset(
    name: str, source_path: Path, *, engine: str = "duckdb", window_seconds: int = 300, detectors: Any = None
) -> Any:
    """A ``zeek_files`` network dataset over ``source_path``: one daily partition (:data:`DAY`), ``engine`` features."""
    from vigia.config import DatasetConfig

    return DatasetConfig(
        name=name,
        kind="network_conn",
        source={"type": "zeek_files", "path": str(source_path)},
        sql_models="network",
        partitions={"start": DAY},
        window={"size": f"{window_seconds}s", "engine": engine},
        detectors=detectors or [{"name": "iforest", "type": "isolation_forest"}],
        consensus={"k": 1},
        seed=SEED,
    )


def connect(db: Path, memory_limit: str | None, threads: int | None, temp_directory: Path | None = None) -> Any:
    """A DuckDB connection to ``db`` with the given settings (``None``: DuckDB's default)."""
    import duckdb

    con = duckdb.connect(str(db))
    if temp_directory is not None:
        con.execute(f"SET temp_directory = '{temp_directory}'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def finish(runs: Sequence[dict[str, Any]], variant: Callable[[dict[str, Any]], str], path: Path | None,
           **context: Any) -> dict[str, Any]:
    """Median wall seconds per ``variant(run)`` (in first-seen order); printed, and written to ``path`` with
    the runs, the date and ``context``."""
    labels = list(dict.fromkeys(variant(r) for r in runs))
    medians = {label: round(statistics.median(r["seconds"] for r in runs if variant(r) == label), 2)
               for label in labels}
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **context, "runs": list(runs),
              "median_seconds": medians}
    print(json.dumps(medians, indent=1))
    if path:
        path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def spread(values: Sequence[float]) -> list[float]:
    """``[min, median, max]`` of repeated timings (the median rounded to ms)."""
    return [min(values), round(statistics.median(values), 3), max(values)]


def versions(*packages: str) -> dict[str, str]:
    """Installed versions of ``packages``."""
    from importlib.metadata import version

    return {p: version(p) for p in packages}


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, OS and Python of this machine (Linux ``/proc``)."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kib / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def git_state() -> dict[str, Any]:
    """The commit checked out and the files changed since it, new files git does not ignore included."""

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=REPO_ROOT, capture_output=True, text=True).stdout

    # porcelain lines are "XY path" (X may be a space): modified, staged and untracked (not ignored) files alike
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=all").splitlines() if line]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "uncommitted_changes_in": changed}

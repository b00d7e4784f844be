"""Prepare a local ``DAGSTER_HOME`` (SQLite storage) with Vigia's instance settings, and free the warehouse pool
slots of runs whose process is gone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

WAREHOUSE_POOL = "duckdb_warehouse"  # the pool of every asset that writes the warehouse

DAGSTER_YAML = """\
# Written by Vigia. One writer at a time on the DuckDB warehouse: every asset that writes it
# runs in the `duckdb_warehouse` pool, limited to one step at a time across all runs.
concurrency:
  pools:
    default_limit: 1
# With the daemon running (`dagster dev`), a finished run's pool slots are freed within seconds (0 would turn
# this off). A run whose process was killed keeps its slot: `vigia materialize` and `vigia unlock` free it.
run_monitoring:
  enabled: true
  free_slots_after_run_end_seconds: 1
telemetry:
  enabled: false
# Vigia's own progress messages (e.g. OpenSearch downloads) appear in the run logs.
python_logs:
  managed_python_loggers:
    - vigia
"""


def ensure_dagster_home(path: Path) -> Path:
    """Create ``path`` with a ``dagster.yaml`` if it has none; returns the absolute path."""
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _run_pids(instance: dg.DagsterInstance, run_id: str) -> set[int]:
    """The process ids of a run's engine and step-start events (the run worker, step subprocesses)."""
    from dagster._core.events import DagsterEventType

    kinds = {DagsterEventType.ENGINE_EVENT, DagsterEventType.STEP_START}
    events = (entry.dagster_event for entry in instance.all_logs(run_id, of_type=kinds))
    return {event.pid for event in events if event is not None and isinstance(event.pid, int)}


def free_dead_run_slots(instance: dg.DagsterInstance, pool: str = WAREHOUSE_POOL) -> list[str]:
    """Free ``pool``'s slots and pending steps held by runs that are gone, finished, or unfinished with none of
    their processes alive on this machine (marked failed first); returns one line per freed run. A run that has not
    yet logged a process id is left alone."""
    storage = instance.event_log_storage
    info = storage.get_concurrency_info(pool)
    run_ids = sorted({s.run_id for s in info.claimed_slots} | {s.run_id for s in info.pending_steps})
    freed = []
    for run_id in run_ids:
        run = instance.get_run_by_id(run_id)
        if run is None:
            reason = "run no longer exists"
        elif run.is_finished:
            reason = f"run {run.status.value.lower()}"
        else:
            pids = _run_pids(instance, run_id)
            if not pids or any(_alive(pid) for pid in pids):
                continue
            instance.report_run_failed(run, message=f"Vigia: the run's process (pid {min(pids)}) is gone")
            reason = f"process {min(pids)} gone; run marked failed"
        storage.free_concurrency_slots_for_run(run_id)
        freed.append(f"freed {pool} slot(s) of run {run_id}: {reason}")
    return freed

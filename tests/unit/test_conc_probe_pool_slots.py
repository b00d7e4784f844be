"""A run killed inside a warehouse step keeps its pool slot; `vigia unlock` (and `vigia materialize`) free it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from vigia.dagster_home import WAREHOUSE_POOL, ensure_dagster_home

_DIE = textwrap.dedent(
    """
    import os, signal
    import dagster as dg

    @dg.asset(pool="duckdb_warehouse")
    def doomed() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    dg.materialize([doomed], instance=dg.DagsterInstance.get())
    """
)


@dg.asset(pool=WAREHOUSE_POOL)
def after() -> int:
    return 1


@pytest.mark.parametrize("command", ["unlock", "materialize"])
def test_a_killed_runs_slot_is_freed(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "datasets").mkdir()  # `vigia materialize` frees the slots, then finds nothing to materialize
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    home = ensure_dagster_home(tmp_path / "dh")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    env = dict(os.environ, DAGSTER_DISABLE_TELEMETRY="1")
    done = subprocess.run([sys.executable, "-c", _DIE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    with dg.DagsterInstance.get() as instance:
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0  # 0 turns it off
        (held,) = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots
        assert instance.get_run_by_id(held.run_id).status == dg.DagsterRunStatus.STARTED

    cli = subprocess.run([sys.executable, "-m", "vigia.cli", command], env=env, capture_output=True, text=True)
    assert cli.returncode == (0 if command == "unlock" else 2), cli.stderr
    out = cli.stdout
    assert f"run {held.run_id}" in out and "marked failed" in out

    with dg.DagsterInstance.get() as instance:
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        assert not info.claimed_slots and not info.pending_steps
        assert instance.get_run_by_id(held.run_id).status == dg.DagsterRunStatus.FAILURE
        assert dg.materialize([after], instance=instance).success  # would wait forever on the held slot
    again = subprocess.run([sys.executable, "-m", "vigia.cli", "unlock"], env=env, capture_output=True, text=True)
    assert "no dead run holds" in again.stdout

"""End to end with the real daemon: the new-files sensor turned on over an ingested Zeek archive launches the
whole daily job (ingest to drift report) for the day of the one log that was not ingested yet, and only it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.e2e.test_daemon_drift_retrain import MODULE, TIMEOUT_S
from tests.staging import land_conn_log, zeek_files_dataset
from vigia.dagster_home import ensure_dagster_home
from vigia.paths import REPO_ROOT

pytestmark = pytest.mark.slow


def _dagster(env: dict[str, str], *args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "dagster", *args, *MODULE], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_daemon_runs_the_day_of_a_new_log(tmp_path: Path) -> None:
    logs, datasets = tmp_path / "logs", tmp_path / "datasets"
    datasets.mkdir()
    (datasets / "netfiles.yaml").write_text(zeek_files_dataset("netfiles", logs, "2026-01-05", "2026-01-12"))
    home = ensure_dagster_home(tmp_path / "dagster_home")
    env = {**os.environ, "VIGIA_DATASETS_DIR": str(datasets), "VIGIA_DATA_DIR": str(tmp_path / "data"),
           "DAGSTER_HOME": str(home)}  # fmt: skip
    land_conn_log(logs / "conn.2026-01-05.log", [5, 6], age_s=600)
    chain = ",".join(f"netfiles/{n}" for n in ("raw_conn", "stg_conn", "window_features"))
    _dagster(env, "asset", "materialize", "--select", chain, "--partition-range", "2026-01-05...2026-01-06")
    train = ",".join(f"netfiles/{n}" for n in ("detectors", "thresholds", "evaluation", "champion"))
    _dagster(env, "asset", "materialize", "--select", train)
    land_conn_log(logs / "conn.2026-01-07.log", [7], age_s=120, seed=30)  # arrived after the archive was ingested
    _dagster(env, "sensor", "start", "netfiles_new_files_sensor")
    log_file = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen([sys.executable, "-m", "dagster._daemon", "run", *MODULE], cwd=REPO_ROOT, env=env,
                              stdout=log_file, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.time() + TIMEOUT_S
        runs: list[dg.DagsterRun] = []
        with dg.DagsterInstance.from_config(str(home)) as instance:
            while time.time() < deadline:
                runs = list(instance.get_runs(dg.RunsFilter(tags={"vigia/trigger": "new_files"})))
                if runs and all(r.is_finished for r in runs):
                    break
                time.sleep(3)
            log = (tmp_path / "daemon.log").read_text()[-3000:]
            assert len(runs) == 1, f"expected one run, got {len(runs)}; daemon log:\n{log}"
            run = runs[0]
            assert run.status == dg.DagsterRunStatus.SUCCESS, log
            assert run.job_name == "netfiles_daily" and run.tags["vigia/files"] == "conn.2026-01-07.log"
            assert run.tags["dagster/asset_partition_range_start"] == "2026-01-07"
            assert run.tags["dagster/asset_partition_range_end"] == "2026-01-07"
            drift = instance.get_latest_materialization_event(dg.AssetKey(["netfiles", "drift_report"]))
            assert drift is not None and drift.run_id == run.run_id
            assert drift.asset_materialization.metadata["drift_day"].value == "2026-01-07"
            scored = instance.get_materialized_partitions(dg.AssetKey(["netfiles", "window_scores"]))
            assert scored == {"2026-01-07"}
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        log_file.close()

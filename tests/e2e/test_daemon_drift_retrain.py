"""End to end with the real daemon: sensor on, a drifted day lands, the retraining run launches and succeeds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.integration.test_drift_sensor import DRIFT_DATASET
from vigia.dagster_home import ensure_dagster_home
from vigia.paths import REPO_ROOT

pytestmark = pytest.mark.slow
MODULE = ["-m", "orchestration.definitions"]
TIMEOUT_S = 300


def _materialize(env: dict[str, str], names: list[str], partition: str | None = None, rng: str | None = None) -> None:
    cmd = [sys.executable, "-m", "dagster", "asset", "materialize", *MODULE]
    cmd += ["--select", ",".join(f"netdrift/{n}" for n in names)]
    if partition:
        cmd += ["--partition", partition]
    if rng:
        cmd += ["--partition-range", rng]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_daemon_launches_retrain_after_drift(tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    (datasets / "netdrift.yaml").write_text(DRIFT_DATASET)
    home = ensure_dagster_home(tmp_path / "dagster_home")
    env = {
        **os.environ,
        "VIGIA_DATASETS_DIR": str(datasets),
        "VIGIA_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(home),
    }
    _materialize(env, ["raw_conn", "stg_conn", "window_features"], rng="2026-01-05...2026-01-07")
    _materialize(env, ["detectors", "thresholds", "evaluation", "champion"])
    started = subprocess.run(
        [sys.executable, "-m", "dagster", "sensor", "start", "netdrift_drift_sensor", *MODULE],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr[-3000:]
    log_file = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "dagster._daemon", "run", *MODULE],
        cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        # The drifted day lands and is scored: its drift report is above 0.15.
        _materialize(env, ["raw_conn", "stg_conn", "window_features"], partition="2026-01-08")
        _materialize(env, ["window_scores", "alerts", "drift_report"], partition="2026-01-08")
        deadline = time.time() + TIMEOUT_S
        retrains: list[dg.DagsterRun] = []
        with dg.DagsterInstance.from_config(str(home)) as instance:
            while time.time() < deadline:
                retrains = list(instance.get_runs(dg.RunsFilter(tags={"vigia/trigger": "drift"})))
                if retrains and retrains[0].is_finished:
                    break
                time.sleep(3)
            log = (tmp_path / "daemon.log").read_text()[-3000:]
            assert len(retrains) == 1, f"expected one retraining run, got {len(retrains)}; daemon log:\n{log}"
            assert retrains[0].status == dg.DagsterRunStatus.SUCCESS, log
            assert retrains[0].job_name == "netdrift_retrain"
            assert retrains[0].tags["vigia/drift_day"] == "2026-01-08"
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        log_file.close()

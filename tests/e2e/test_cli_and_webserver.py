"""End to end with the real ``dagster`` CLI (via ``vigia materialize``) and the real webserver."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from vigia.dagster_home import ensure_dagster_home
from vigia.paths import REPO_ROOT

pytestmark = pytest.mark.slow


def _env(tmp_path: Path, datasets: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VIGIA_DATA_DIR=str(tmp_path / "data"),
        VIGIA_DATASETS_DIR=str(datasets),
        DAGSTER_HOME=str(ensure_dagster_home(tmp_path / "dagster_home")),
    )
    return env


def test_vigia_materialize_runs_dagster_cli(tmp_path: Path, small_dataset_dir: Path) -> None:
    env = _env(tmp_path, small_dataset_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "vigia.cli", "materialize"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert proc.stdout.count("asset materialize") == 3
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs()
        assert len(runs) == 3 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        for name in ("raw_conn", "evaluation", "alerts"):
            assert instance.get_latest_materialization_event(dg.AssetKey(["nettest", name])) is not None
    assert (tmp_path / "data" / "reports" / "nettest" / "evaluation.md").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webserver_serves_the_asset_graph(tmp_path: Path, small_dataset_dir: Path) -> None:
    env = _env(tmp_path, small_dataset_dir)
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "orchestration.definitions",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        query = json.dumps({"query": "{ assetNodes { assetKey { path } groupName } }"}).encode()
        deadline, nodes = time.time() + 90, None
        while time.time() < deadline and nodes is None:
            try:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql", data=query, headers={"Content-Type": "application/json"}
                )
                body = json.loads(urllib.request.urlopen(req, timeout=5).read())
                nodes = body["data"]["assetNodes"]
            except Exception:
                time.sleep(1)
        assert nodes is not None, "webserver did not answer within 90 s"
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert {"nettest/raw_conn", "nettest/stg_conn", "nettest/evaluation", "nettest/alerts"} <= keys
    finally:
        proc.terminate()
        proc.wait(timeout=30)

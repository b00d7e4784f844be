"""The code location: loads fast, one asset chain per dataset, dependencies as designed."""

from __future__ import annotations

import subprocess
import sys
import time

from orchestration.definitions import build_definitions
from vigia.paths import REPO_ROOT

EXPECTED_NETWORK_GRAPH = {
    "raw_conn": set(),
    "stg_conn": {"raw_conn"},
    "conn_daily_summary": {"stg_conn"},
    "host_profile": {"stg_conn"},
    "window_features": {"stg_conn"},
    "detectors": {"window_features"},
    "champion": {"evaluation"},
    "drift_report": {"window_scores"},
    "thresholds": {"detectors"},
    "evaluation": {"thresholds"},
    "window_scores": {"window_features", "champion"},
    "alerts": {"window_scores", "stg_conn"},
}


def test_asset_graph_snapshot() -> None:
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    network = {k for k in graph.get_all_asset_keys() if k.path[0] == "network"}
    got = {k.path[-1]: {p.path[-1] for p in graph.get(k).parent_keys} for k in network}
    assert got == EXPECTED_NETWORK_GRAPH
    assert {graph.get(k).group_name for k in network} == {"network"}
    check_names = {c.name for c in graph.asset_check_keys if c.asset_key.path[0] == "network"}
    assert {"read_equals_accepted_plus_rejected", "features_finite"} <= check_names
    assert any(n.startswith("unique") for n in check_names)
    job_names = {j.name for j in defs.resolve_all_job_defs()}
    assert {"network_daily", "network_train"} <= job_names
    assert {"customers_train", "customers_score", "customers_retrain"} <= job_names
    sensor_names = {s.name for s in defs.sensors}
    assert {"network_drift_sensor", "customers_drift_sensor", "customers_new_extract_sensor"} <= sensor_names
    assert "network_new_extract_sensor" not in sensor_names
    assert not any(name.endswith("_new_files_sensor") for name in sensor_names)  # synthetic sources only


def test_code_location_loads_fast_without_heavy_imports() -> None:
    code = (
        "import sys, time; t=time.perf_counter(); import orchestration.definitions as d; "
        "print(time.perf_counter()-t); print(','.join(m for m in ('tensorflow','sklearn','matplotlib','mlflow') "
        "if m in sys.modules))"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    load_s, heavy = out.stdout.strip().splitlines()[0], ([*out.stdout.strip().splitlines(), ""])[1]
    assert float(load_s) < 5.0, f"definitions took {load_s}s to import"
    assert wall < 10.0
    assert heavy == "", f"heavy modules imported at load time: {heavy}"

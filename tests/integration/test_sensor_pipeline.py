"""The sensor time-series kind end to end in a real Dagster instance (small synthetic pumping station)."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import build_definitions
from tests.staging import chain_stages, declare_dataset, range_tags, run_stages

pytestmark = pytest.mark.slow

PUMPS = """\
name: pumptest
kind: sensor_timeseries
source: {type: synthetic_pump}
entity_key: station
sql_models: sensors
partitions: {start: "2026-01-05", end: "2026-01-10"}
series: {freq: 1m, max_gap: 5, window: 20, step: 10}
detectors:
  - {name: lstm_ae, type: lstm_autoencoder, params: {encoder_units: [8], decoder_units: [8], epochs: 3}}
  - {name: iforest, type: isolation_forest, params: {n_estimators: 50}}
consensus: {k: 1}
sweep:
  grid: {encoder_units: [[4], [8]], epochs: [2]}
  max_trials: 2
seed: 5
"""
RANGE = {"dagster/asset_partition_range_start": "2026-01-05", "dagster/asset_partition_range_end": "2026-01-09"}


def test_sensor_dataset_materializes_with_autoencoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "pumptest.yaml").write_text(PUMPS)
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    defs = build_definitions()

    def run(job: str, names: list[str], tags: dict[str, str] | None) -> None:
        keys = [dg.AssetKey(["pumptest", n]) for n in names]
        assert defs.resolve_job_def(job).execute_in_process(instance=instance, asset_selection=keys, tags=tags).success

    with dg.instance_for_test() as instance:
        run("pumptest_daily", ["raw_sensor", "stg_sensor", "window_features"], RANGE)
        run("pumptest_train", ["ae_sweep", "detectors", "thresholds", "evaluation", "champion"], None)
        run("pumptest_daily", ["window_scores", "alerts", "drift_report"], RANGE)
        raw = instance.get_latest_materialization_event(dg.AssetKey(["pumptest", "raw_sensor"])).asset_materialization
        md = raw.metadata
        assert md["records_read"].value == md["records_accepted"].value + md["records_rejected"].value
        sweep = instance.get_latest_materialization_event(dg.AssetKey(["pumptest", "ae_sweep"])).asset_materialization
        assert sweep.metadata["trials"].value == 2
        detectors = instance.get_latest_materialization_event(dg.AssetKey(["pumptest", "detectors"]))
        applied = detectors.asset_materialization.metadata["sweep_best_applied"].value
        assert applied["params"]["encoder_units"] in ([4], [8])
        features = instance.get_latest_materialization_event(dg.AssetKey(["pumptest", "window_features"]))
        assert features.asset_materialization.metadata["malicious_windows"].value > 0
        assert features.asset_materialization.metadata["engine"].value == "polars"  # sensor windows: polars

    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    columns = [r[0] for r in con.sql("DESCRIBE pumptest.window_features").fetchall()]
    assert "flow_in__t00" in columns and "flow_in__t19" in columns and "station" in columns
    scored = con.sql("SELECT count(*), count(DISTINCT day) FROM pumptest.window_scores").fetchall()[0]
    con.close()
    assert scored[0] > 0 and scored[1] == 5
    version = next((tmp_path / "data" / "models" / "pumptest" / "versions").iterdir())
    assert (version / "lstm_ae.keras").exists() and (version / "lstm_ae.scaler.joblib").exists()
    report = json.loads((tmp_path / "data" / "reports" / "pumptest" / "evaluation.json").read_text())
    assert {"lstm_ae", "iforest", "consensus"} <= set(report["metrics"])
    for plot in ("series_alarms.png", "training_curves.png", "reconstruction.png", "roc.png"):
        assert (tmp_path / "data" / "reports" / "pumptest" / plot).stat().st_size > 1000


SKAB_LIKE = """\
name: rig
kind: sensor_timeseries
source: {{type: sensor_files, path: "{path}"}}
time_column: datetime
label_column: anomaly
sql_models: sensors
partitions: {{start: "2020-03-09", end: "2020-03-10"}}
series: {{freq: 1s, window: 30, step: 10}}
detectors:
  - {{name: iforest, type: isolation_forest, params: {{n_estimators: 50}}}}
consensus: {{k: 1}}
"""


def _write_rig_file(path: Path, start: str, seed: int) -> None:
    """SKAB's layout: `;`-separated, a column name with spaces, an `anomaly` label, a `changepoint` column."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    n = 1_200
    anomaly = (np.arange(n) >= 800) & (np.arange(n) < 950)
    flow = 120 + np.sin(np.arange(n) / 30) + rng.normal(0, 0.2, n) + anomaly * 6.0
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "datetime": [str(np.datetime64(start) + np.timedelta64(i, "s")).replace("T", " ") for i in range(n)],
            "Pressure": rng.normal(1.0, 0.05, n),
            "Volume Flow RateRMS": flow,
            "anomaly": anomaly.astype(int),
            "changepoint": np.zeros(n, dtype=int),
        }
    ).write_csv(path, separator=";")


def test_sensor_files_in_subfolders_with_spaced_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rigs whose files share a name (valve1/0.csv, valve2/0.csv) stay two series end to end."""
    source = tmp_path / "skab_like"
    _write_rig_file(source / "valve1" / "0.csv", "2020-03-09T10:00:00", seed=1)
    _write_rig_file(source / "valve2" / "0.csv", "2020-03-09T12:00:00", seed=2)
    declare_dataset(tmp_path, monkeypatch, "rig", SKAB_LIKE.format(path=source))
    with dg.instance_for_test() as instance:
        run_stages(instance, "rig", chain_stages("rig", ["raw_sensor", "stg_sensor"], "2020-03-09", "2020-03-09"))
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    stations = dict(con.sql("SELECT station, count(*) FROM rig.raw_sensor GROUP BY station").fetchall())
    assert stations == {"valve1/0": 1_200, "valve2/0": 1_200}
    assert "Volume Flow RateRMS" in {r[0] for r in con.sql("DESCRIBE rig.raw_sensor").fetchall()}
    con.close()


def test_label_windows_file_labels_like_the_label_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rig files' anomalies given as NAB-style intervals instead of a column label the same windows, and
    the evaluation gets its metrics from them."""
    source = tmp_path / "skab_like"
    _write_rig_file(source / "valve1" / "0.csv", "2020-03-09T10:00:00", seed=1)
    _write_rig_file(source / "valve2" / "0.csv", "2020-03-09T12:00:00", seed=2)
    intervals = tmp_path / "windows.json"  # rows 800..949 of each file, keyed by file path as NAB does
    intervals.write_text(json.dumps({
        "valve1/0.csv": [["2020-03-09 10:13:20", "2020-03-09 10:15:49"]],
        "valve2/0.csv": [["2020-03-09 12:13:20", "2020-03-09 12:15:49"]],
    }))
    by_column = SKAB_LIKE.format(path=source)
    by_file = by_column.replace("name: rig", "name: rigw").replace(
        "label_column: anomaly", f'label_column: null\nlabel_windows: "{intervals}"'
    )
    declare_dataset(tmp_path, monkeypatch, "rig", by_column)
    declare_dataset(tmp_path, monkeypatch, "rigw", by_file)
    day = range_tags("2020-03-09", "2020-03-09")
    with dg.instance_for_test() as instance:
        run_stages(instance, "rig", [("rig_daily", ["raw_sensor", "stg_sensor", "window_features"], day)])
        run_stages(instance, "rigw", [
            ("rigw_daily", ["raw_sensor", "stg_sensor", "window_features"], day),
            ("rigw_train", ["detectors", "thresholds", "evaluation"], None),
        ])
        meta = instance.get_latest_materialization_event(dg.AssetKey(["rigw", "window_features"]))
        labels = meta.asset_materialization.metadata["label_windows"].value
    assert labels["intervals"] == 2 and labels["intervals_used"] == 2 and labels["positive_rows"] > 0
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    query = "SELECT station, window_start, label FROM {}.window_features ORDER BY ALL"
    assert con.sql(query.format("rigw")).fetchall() == con.sql(query.format("rig")).fetchall()
    assert con.sql("SELECT count(*) FROM rigw.raw_sensor WHERE label IS NOT NULL").fetchall() == [(0,)]
    con.close()
    report = json.loads((tmp_path / "data" / "reports" / "rigw" / "evaluation.json").read_text())
    assert report["metrics"]["iforest"]["support"] > 0 and report["metrics"]["iforest"]["f1"] is not None


def test_a_dead_sensor_column_warns_and_the_other_station_keeps_its_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import polars as pl

    source = tmp_path / "skab_like"
    _write_rig_file(source / "valve1" / "0.csv", "2020-03-09T10:00:00", seed=1)
    _write_rig_file(source / "valve2" / "0.csv", "2020-03-09T12:00:00", seed=2)
    dead = source / "valve2" / "0.csv"
    pl.read_csv(dead, separator=";").with_columns(Pressure=pl.lit(None, pl.Float64)).write_csv(dead, separator=";")
    declare_dataset(tmp_path, monkeypatch, "rig", SKAB_LIKE.format(path=source))
    from orchestration.definitions import build_definitions

    keys = [dg.AssetKey(["rig", n]) for n in ("raw_sensor", "stg_sensor", "window_features")]
    with dg.instance_for_test() as instance:
        result = build_definitions().resolve_job_def("rig_daily").execute_in_process(
            instance=instance, asset_selection=keys, tags=range_tags("2020-03-09", "2020-03-09")
        )
    assert result.success  # a warning, not a failure: valve1's windows are written
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [(e.check_name, e.severity) for e in failed] == [
        ("windows_for_every_station_day", dg.AssetCheckSeverity.WARN)
    ]
    assert failed[0].metadata["without_windows"].value == [
        "valve2/0 2020-03-09: column(s) Pressure hold no value (leave them out with series.columns)"
    ]
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    stations = con.sql("SELECT DISTINCT station FROM rig.window_features").fetchall()
    con.close()
    assert stations == [("valve1/0",)]


def test_calibrated_drift_thresholds_are_saved_with_the_version_and_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``drift.calibrate``: training stores per-sensor distance thresholds from the training days next to the
    model version, and the drift report of a day judges each sensor against them."""
    source = tmp_path / "skab_like"
    _write_rig_file(source / "valve1" / "0.csv", "2020-03-09T10:00:00", seed=1)
    _write_rig_file(source / "valve1" / "1.csv", "2020-03-10T10:00:00", seed=2)
    _write_rig_file(source / "valve1" / "2.csv", "2020-03-11T10:00:00", seed=3)
    config = SKAB_LIKE.format(path=source).replace('end: "2020-03-10"', 'end: "2020-03-12"')
    data = declare_dataset(tmp_path, monkeypatch, "rig", config + "split: {train: 0.7, validation: 0.15, test: 0.15}\n"
                           "drift: {calibrate: true}\n")  # fmt: skip
    with dg.instance_for_test() as instance:
        run_stages(instance, "rig", chain_stages("rig", ["raw_sensor", "stg_sensor"], "2020-03-09", "2020-03-11"))
        detectors = instance.get_latest_materialization_event(dg.AssetKey(["rig", "detectors"]))
        drift = instance.get_latest_materialization_event(dg.AssetKey(["rig", "drift_report"]))
    calibration = detectors.asset_materialization.metadata["drift_calibration"].value
    assert set(calibration) == {"Pressure", "Volume Flow RateRMS"} and min(calibration.values()) >= 0.1
    version = detectors.asset_materialization.metadata["version"].value
    saved = json.loads((data / "models" / "rig" / "versions" / version / "drift_calibration.json").read_text())
    assert saved == calibration
    assert drift.asset_materialization.metadata["calibrated_thresholds"].value is True
    report = json.loads(next((data / "reports" / "rig" / "drift").glob("drift_2020-03-11.json")).read_text())
    used = {f["feature"]: f["threshold"] for f in report["features"]}
    assert used == pytest.approx(calibration)

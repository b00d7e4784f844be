from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigia.config import DatasetConfig, load_dataset_config, load_dataset_configs, parse_duration
from vigia.paths import DEFAULT_DATASETS_DIR, REPO_ROOT


def test_parse_duration() -> None:
    assert parse_duration("5m") == 300
    assert parse_duration("30s") == 30
    assert parse_duration("1h") == 3600
    assert parse_duration(90) == 90
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("5 minutes")


def test_shipped_configs_are_valid() -> None:
    configs = load_dataset_configs(DEFAULT_DATASETS_DIR)
    assert [c.name for c in configs] == ["api_events", "customers", "network", "pumps"]
    events, customers, net, pumps = configs
    assert customers.kind == "tabular_supervised" and customers.value_matrix
    assert events.kind == "api_events" and events.entity_key == "client_ip"
    assert pumps.kind == "sensor_timeseries" and pumps.series.window == 30 and pumps.series.step == 5
    assert pumps.detectors[0].params["timesteps"] == 30
    assert net.window.size_seconds == 300 and net.window.step_seconds == 300
    assert net.drift.threshold == 0.15
    assert len(net.partitions.days()) == 4
    for example in (REPO_ROOT / "config" / "examples").glob("*.yaml"):
        load_dataset_config(example)


def _base(**over: object) -> dict:
    raw = {
        "name": "x",
        "kind": "network_conn",
        "source": {"type": "synthetic_zeek"},
        "sql_models": "network",
        "partitions": {"start": "2026-01-01", "end": "2026-01-02"},
        "detectors": [{"name": "a", "type": "isolation_forest"}],
        "consensus": {"k": 1},
    }
    raw.update(over)
    return raw


def test_validation_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a 'path'"):
        DatasetConfig.model_validate(_base(source={"type": "zeek_files"}))
    with pytest.raises(ValueError, match="exceeds the number of detectors"):
        DatasetConfig.model_validate(_base(consensus={"k": 2}))
    with pytest.raises(ValueError, match="lower_snake_case"):
        DatasetConfig.model_validate(_base(name="Bad-Name"))
    with pytest.raises(ValueError, match="must not exceed"):
        DatasetConfig.model_validate(_base(window={"size": "1m", "step": "5m"}))
    with pytest.raises(ValueError, match="sum to 1"):
        DatasetConfig.model_validate(_base(split={"train": 0.5, "validation": 0.2, "test": 0.2}))
    assert DatasetConfig.model_validate(_base(split={"test": 0.3})).split.train == 0.5  # train left out: the rest
    with pytest.raises(ValueError, match="must be positive"):
        DatasetConfig.model_validate(_base(split={"validation": 0.5, "test": 0.5}))
    sensors = {**_base(), "kind": "sensor_timeseries", "source": {"type": "synthetic_pump"}, "sql_models": "sensors"}
    with pytest.raises(ValueError, match="entity_key must be 'station'"):
        DatasetConfig.model_validate({**sensors, "entity_key": "pump_id"})
    assert DatasetConfig.model_validate(sensors).entity_key == "station"
    with pytest.raises(ValueError, match="does not fit kind 'network_conn'"):
        DatasetConfig.model_validate(_base(source={"type": "event_files", "path": "x"}))
    with pytest.raises(ValueError, match=r"series\.columns names day, station: names the pipeline uses"):
        DatasetConfig.model_validate({**sensors, "series": {"columns": ["temp", "station", "day"]}})
    with pytest.raises(ValueError, match="invalid duration '1x'"):
        DatasetConfig.model_validate(_base(series={"freq": "1x"}))
    with pytest.raises(ValueError, match="contamination"):
        DatasetConfig.model_validate(_base(calibration={"contamination": 2}))
    with pytest.raises(ValueError, match="percentiles"):
        DatasetConfig.model_validate(_base(calibration={"percentiles": [90, 120]}))
    with pytest.raises(ValueError, match="share of features"):
        DatasetConfig.model_validate(_base(drift={"threshold": 15}))
    with pytest.raises(ValueError, match="tolerance"):
        DatasetConfig.model_validate(_base(promotion={"tolerance": -1}))
    with pytest.raises(ValueError, match=r"keep_versions \(or null to keep every version\) must be >= 1"):
        DatasetConfig.model_validate(_base(promotion={"keep_versions": 0}))
    assert DatasetConfig.model_validate(_base(promotion={"keep_versions": None})).promotion.keep_versions is None
    with pytest.raises(ValueError, match="top_n"):
        DatasetConfig.model_validate(_base(alerts={"top_n": 0}))
    tabular = {"name": "t", "kind": "tabular_supervised", "source": {"type": "synthetic_customers"}}
    with pytest.raises(ValueError, match="bad value-matrix entry 'fx=1'"):
        DatasetConfig.model_validate({**tabular, "value_matrix": "fp=1,fx=1"})
    with pytest.raises(ValueError, match="tabular_supervised needs label_column"):
        DatasetConfig.model_validate({**tabular, "label_column": None})
    with pytest.raises(ValueError, match="entity_key and label_column are both 'y'"):
        DatasetConfig.model_validate({**tabular, "label_column": "y", "entity_key": "y"})
    labelled = {**tabular, "label_column": "y"}
    with pytest.raises(ValueError, match=r"split\.train and split\.validation do not apply to tabular_supervised"):
        DatasetConfig.model_validate({**labelled, "split": {"train": 0.6, "validation": 0.2, "test": 0.2}})
    with pytest.raises(ValueError, match=r"split\.validation does not apply"):
        DatasetConfig.model_validate({**labelled, "split": {"validation": 0.1, "test": 0.3}})
    assert DatasetConfig.model_validate({**labelled, "split": {"test": 0.3}}).split.test == 0.3
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ValueError, match=r"bad\.yaml"):
        load_dataset_config(bad)


def test_consensus_defaults_to_two_of_n_or_one_of_one() -> None:
    raw = {k: v for k, v in _base().items() if k != "consensus"}
    assert DatasetConfig.model_validate(raw).consensus.k == 1  # a single detector
    two = [{"name": "a", "type": "isolation_forest"}, {"name": "b", "type": "lof"}, {"name": "c", "type": "ocsvm"}]
    assert DatasetConfig.model_validate({**raw, "detectors": two}).consensus.k == 2


def test_alert_snooze_unit_is_the_kinds_window_step() -> None:
    assert DatasetConfig.model_validate(_base(window={"size": "5m", "step": "1m"})).alert_step_seconds == 60
    sensors = {**_base(), "kind": "sensor_timeseries", "source": {"type": "synthetic_pump"}, "sql_models": "sensors"}
    skab_like = DatasetConfig.model_validate({**sensors, "series": {"freq": "1s", "window": 30, "step": 10}})
    assert skab_like.alert_step_seconds == 10  # not window.step's 5 minutes


def test_sliding_window_config() -> None:
    cfg = DatasetConfig.model_validate(_base(window={"size": "5m", "step": "1m"}))
    assert (cfg.window.size_seconds, cfg.window.step_seconds) == (300, 60)
    assert cfg.window.engine == "duckdb"
    assert DatasetConfig.model_validate(_base(window={"engine": "polars"})).window.engine == "polars"
    with pytest.raises(ValueError, match="engine"):
        DatasetConfig.model_validate(_base(window={"engine": "spark"}))


def test_entity_defaults_by_kind() -> None:
    assert DatasetConfig.model_validate(_base()).entity_key == "orig_h"
    tabular = DatasetConfig.model_validate(
        {"name": "t", "kind": "tabular_supervised", "source": {"type": "synthetic_customers"}}
    )
    assert tabular.entity_key is None and tabular.partitions is None
    with pytest.raises(ValueError, match="needs 'partitions' and 'sql_models'"):
        DatasetConfig.model_validate({**_base(), "partitions": None})


def test_open_ended_partitions_run_up_to_yesterday_like_dagster() -> None:

    from vigia.config import PartitionConfig

    today = datetime.now(UTC).date()
    start = today - timedelta(days=3)
    assert PartitionConfig(start=start).days() == [start, start + timedelta(days=1), start + timedelta(days=2)]
    assert PartitionConfig(start=today).days() == [today]


@pytest.mark.parametrize("zone", ["Etc/GMT+12", "Etc/GMT-14"])
def test_open_ended_days_follow_dagster_in_utc_whatever_the_local_zone(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """West of UTC the local date lags the UTC one, east of it it leads: the days are UTC days, as Dagster's."""
    import time

    import dagster as dg

    from vigia.config import PartitionConfig

    start = datetime.now(UTC).date() - timedelta(days=4)
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        dagster_days = dg.DailyPartitionsDefinition(start_date=start.isoformat()).get_partition_keys()
        assert [d.isoformat() for d in PartitionConfig(start=start).days()] == dagster_days
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("consensus", "reserved for the k-of-n consensus"),
        ("lof:v2", "must be lower_snake_case"),
        ("LOF", "must be lower_snake_case"),
        ("iso/forest", "must be lower_snake_case"),
    ],
)
def test_detector_names_are_refused_at_load(name: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        DatasetConfig.model_validate(_base(detectors=[{"name": name, "type": "lof"}]))


@pytest.mark.parametrize("name", ["temp", "system", "main", "warehouse"])
def test_duckdb_catalog_names_are_refused_as_dataset_names(name: str) -> None:
    with pytest.raises(ValueError, match="is a DuckDB catalog name"):
        DatasetConfig.model_validate(_base(name=name))


def test_example_configs_validate_and_build_their_asset_chain() -> None:
    """The files under config/examples/ are meant to be copied as they are: they must stay valid."""
    from assets.factory import build_dataset_assets
    from vigia.paths import DEFAULT_SQL_ROOT

    configs = load_dataset_configs(REPO_ROOT / "config" / "examples")
    assert len(configs) >= 4
    for cfg in configs:
        keys = {k.path[-1] for a in build_dataset_assets(cfg, DEFAULT_SQL_ROOT) for k in a.keys}
        assert {"detectors", "window_scores", "drift_report"} <= keys, cfg.name


def test_windows_longer_than_a_day_are_refused() -> None:
    with pytest.raises(ValueError, match="must not exceed 24h"):
        DatasetConfig.model_validate(_base(window={"size": "2d", "step": "1d"}))

"""Bad input through Dagster: rejects with reasons, blocking checks, failed runs leave tables intact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration.definitions import build_definitions
from tests.staging import declare_dataset, zeek_files_dataset
from vigia.sources.zeek_synth import generate_conn_day
from vigia.sources.zeek_writers import write_zeek_tsv

pytestmark = pytest.mark.slow

DAY = "2026-01-05"


@pytest.fixture
def files_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    logs = tmp_path / "logs"
    logs.mkdir()
    data = declare_dataset(tmp_path, monkeypatch, "netfiles", zeek_files_dataset("netfiles", logs, DAY, "2026-01-06"))
    return logs, data


def _ingest(instance: dg.DagsterInstance, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    job = build_definitions().resolve_job_def("netfiles_daily")
    keys = [dg.AssetKey(["netfiles", n]) for n in ("raw_conn", "stg_conn", "window_features")]
    return job.execute_in_process(
        instance=instance, asset_selection=keys, partition_key=DAY, raise_on_error=raise_on_error
    )


def _count(data: Path, table: str) -> int:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(f"SELECT count(*) FROM netfiles.{table}").fetchall()[0][0]
    finally:
        con.close()


def test_rejects_metadata_and_failed_run_keeps_tables(files_env: tuple[Path, Path]) -> None:
    logs, data = files_env
    good = generate_conn_day(date.fromisoformat(DAY), 5_000, seed=1)
    write_zeek_tsv(good, logs / "conn.log")
    text = (logs / "conn.log").read_text().splitlines()
    body = [i for i, line in enumerate(text) if not line.startswith("#")]
    text[body[0]] = text[body[0]].split("\t", 3)[0]  # truncated line
    fields = text[body[1]].split("\t")
    fields[3] = "http"  # non-numeric port
    text[body[1]] = "\t".join(fields)
    fields = text[body[2]].split("\t")
    fields[0] = "yesterday"  # bad timestamp
    text[body[2]] = "\t".join(fields)
    fields = text[body[4]].split("\t")
    fields[2] = "-"  # unset originator: used to pass the parser and then fail stg_conn's blocking not-null check
    text[body[4]] = "\t".join(fields)
    text.insert(body[3], text[body[3]] + "\textra")  # wrong field count
    (logs / "conn.log").write_text("\n".join(text) + "\n")

    with dg.instance_for_test() as instance:
        assert _ingest(instance).success
        meta = instance.get_latest_materialization_event(dg.AssetKey(["netfiles", "raw_conn"]))
        md = meta.asset_materialization.metadata
        read, accepted, rejected = (md[k].value for k in ("records_read", "records_accepted", "records_rejected"))
        assert rejected == 5 and read == accepted + rejected == good.height + 1
        assert set(md["rejects_by_reason"].value) == {"wrong_field_count", "bad_port", "bad_timestamp", "missing_value"}
        rows_before = _count(data, "stg_conn")
        features_before = _count(data, "window_features")

        # The source disappears: the run fails with one message naming the path; tables stay as they were.
        (logs / "conn.log").unlink()
        failed = _ingest(instance, raise_on_error=False)
        assert not failed.success
        errors = [e for e in failed.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        assert str(logs) in errors[0].step_failure_data.error.cause.message
        assert _count(data, "stg_conn") == rows_before
        assert _count(data, "window_features") == features_before


def test_blocking_check_stops_downstream(files_env: tuple[Path, Path]) -> None:
    logs, _ = files_env
    # Five rows with a protocol Zeek never writes; five with its `unknown_transport` (IGMP and the
    # like, as in real captures), which is valid and must pass.
    row = pl.int_range(pl.len())
    bad = generate_conn_day(date.fromisoformat(DAY), 3_000, seed=2).with_columns(
        pl.when(row < 5)
        .then(pl.lit("sctp"))
        .when(row < 10)
        .then(pl.lit("unknown_transport"))
        .otherwise(pl.col("proto"))
        .alias("proto")
    )
    write_zeek_tsv(bad, logs / "conn.log")
    with dg.instance_for_test() as instance:
        result = _ingest(instance, raise_on_error=False)
        check = next(
            e for e in result.get_asset_check_evaluations() if e.check_name == "accepted_values_proto"
        )
        assert not check.passed and check.metadata["failing_rows"].value == 5
        materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
        assert "stg_conn" in materialized and "window_features" not in materialized

"""Bad inference batches through the real assets: each has a defined outcome, and a failed scoring run leaves
the previous predictions and inference log as they were."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets.common import ROWS_ACCOUNTED_CHECK
from tests.tabular_support import check_evaluations, customers_dataset, latest_metadata
from vigia.tabular.synth import generate_customers

pytestmark = pytest.mark.slow


def _tables(data: Path) -> tuple[list[tuple], int]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        log = con.sql("SELECT batch, rows, rows_rejected FROM custbad.inference_log ORDER BY scored_at").fetchall()
        return log, con.sql("SELECT count(*) FROM custbad.predictions").fetchall()[0][0]
    finally:
        con.close()


def test_bad_batches_have_defined_outcomes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defs = customers_dataset(tmp_path, monkeypatch, "custbad", "{extracts: 3, rows_per_extract: 2200, batch_rows: 500}",
                             seed=5)  # fmt: skip
    inbox = tmp_path / "data" / "raw" / "custbad" / "inference"
    score = defs.resolve_job_def("custbad_score")

    def meta(instance: dg.DagsterInstance, name: str) -> dict:
        return latest_metadata(instance, "custbad", name)

    def land(name: str, frame: pl.DataFrame | None) -> None:
        time.sleep(0.02)  # the newest batch is the newest file
        path = inbox / name
        path.write_text("") if frame is None else frame.write_csv(path)

    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("custbad_train").execute_in_process(instance=instance).success
        before = _tables(tmp_path / "data")
        assert before == ([("batch_001.csv", 500, 0)], 500)
        batch = generate_customers(300, seed=77).drop("target")

        # An empty extract: the run fails saying so; predictions and log stay as they were.
        land("batch_002.csv", None)
        failed = score.execute_in_process(instance=instance, raise_on_error=False)
        assert not failed.success
        assert "empty extract" in str(failed.get_step_failure_events()[0].event_specific_data.error)
        assert _tables(tmp_path / "data") == before

        # A model input missing: a clear error naming it; nothing written.
        land("batch_003.csv", batch.drop("income", "region"))
        failed = score.execute_in_process(instance=instance, raise_on_error=False)
        error = str(failed.get_step_failure_events()[0].event_specific_data.error)
        assert not failed.success and "income" in error and "region" in error
        assert _tables(tmp_path / "data") == before

        # An extra column (ignored, reported), an unseen category and a wrong type (nulled, counted), and a
        # record with a wrong field count (rejected with its reason): scored, every row accounted for.
        odd = batch.with_columns(
            pl.lit("x").alias("campaign"),
            pl.when(pl.int_range(pl.len()) < 4).then(pl.lit("moon")).otherwise(pl.col("region")).alias("region"),
            pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("lots")).otherwise(pl.col("income").cast(pl.String))
            .alias("income"),
        )
        land("batch_004.csv", odd)
        with (inbox / "batch_004.csv").open("a") as f:
            f.write("C9,too,few,fields\n")
        scored = score.execute_in_process(instance=instance)
        assert scored.success
        accounting = check_evaluations(scored)[("inference_batch", ROWS_ACCOUNTED_CHECK)]
        assert accounting.passed and {k: v.value for k, v in accounting.metadata.items()} == {
            "read": 301, "accepted": 300, "rejected": 1}  # fmt: skip
        extracts = meta(instance, "inference_batch")["extracts"]
        assert extracts["extra_columns"] == {"batch_004.csv": ["campaign"]}
        assert extracts["type_errors"]["income"] == {"count": 1, "examples": ["lots"]}
        assert (extracts["rows_read"], extracts["rows_accepted"], extracts["rows_rejected"]) == (301, 300, 1)
        assert meta(instance, "predictions")["unseen_categories"] == {"region": {"moon": 4}}
        log, predictions = _tables(tmp_path / "data")
        assert log == [*before[0], ("batch_004.csv", 300, 1)] and predictions == 300

"""The inference log: typed rows, whatever a batch's value; a log begun without a value matrix keeps working."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from vigia.pipeline.tabular import LOG_SCHEMA, inference_log_row
from vigia.warehouse import duck


def _scored(decisions: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"probability": [0.5] * len(decisions), "decision": decisions})


def test_log_rows_are_typed_without_a_value_matrix() -> None:
    row = inference_log_row(Path("/x/batch_001.csv"), "3", _scored([1, 0, 1]), {}, rows_rejected=2, labelled_rows=1)
    assert row.schema == pl.Schema(LOG_SCHEMA)
    got = row.row(0, named=True)
    assert (got["batch"], got["model_version"], got["rows"], got["flagged"]) == ("batch_001.csv", "3", 3, 2)
    assert (got["rows_rejected"], got["labelled_rows"], got["expected_value"]) == (2, 1, None)


def test_a_log_begun_without_a_value_matrix_takes_valued_rows(tmp_path: Path) -> None:
    """Regression: the first row's None value made a DuckDB column of type NULL, and every later row with a
    value failed to cast (DOUBLE -> NULL), so the predictions asset failed."""
    con = duck.connect(tmp_path / "w.duckdb")
    duck.ensure_schema(con, "c")
    first = inference_log_row(Path("b1.csv"), "1", _scored([0, 1]), {})
    duck.append_frame(con, "c", "inference_log", first, evolve_columns=True)
    valued = inference_log_row(Path("b2.csv"), "2", _scored([1]), {"expected_value_total": -40.0})
    duck.append_frame(con, "c", "inference_log", valued, evolve_columns=True)
    # a log written by an earlier release, without the row counts added since, takes the new rows too
    con.execute("CREATE TABLE c.old_log AS SELECT batch, model_version, rows, flagged, expected_value, scored_at, "
                "details FROM c.inference_log")  # fmt: skip
    duck.append_frame(con, "c", "old_log", valued, evolve_columns=True)
    rows = con.execute("SELECT batch, expected_value, rows_rejected FROM c.inference_log ORDER BY batch").fetchall()
    assert rows == [("b1.csv", None, 0), ("b2.csv", -40.0, 0)]
    assert con.execute("SELECT count(*), count(rows_rejected) FROM c.old_log").fetchall() == [(3, 1)]
    con.close()

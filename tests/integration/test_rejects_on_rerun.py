"""Materializing the supervised extracts twice keeps one copy of each reject (real Dagster run, real DuckDB)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from orchestration.definitions import build_definitions
from vigia.pipeline.ingest import replace_rejects
from vigia.schema import REJECT_COLUMNS
from vigia.tabular.synth import generate_customers


def _rejects(files: list[str], run_id: str) -> pl.DataFrame:
    rows = [{"dataset": "d", "source_file": f, "line_number": 3, "reason": "bad", "raw_record": "x", "run_id": run_id,
             "rejected_at": None} for f in files]  # fmt: skip
    return pl.DataFrame(rows, schema={"dataset": pl.String, "source_file": pl.String, "line_number": pl.Int64,
                                      "reason": pl.String, "raw_record": pl.String, "run_id": pl.String,
                                      "rejected_at": pl.Datetime})  # fmt: skip


def test_replace_rejects_replaces_only_the_files_read() -> None:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA d")
    replace_rejects(con, "d", "rej", _rejects(["a.csv", "b.csv"], "r1"), files=["a.csv", "b.csv"])
    replace_rejects(con, "d", "rej", _rejects(["a.csv"], "r2"), files=["a.csv"])
    assert con.execute("SELECT source_file, run_id FROM d.rej ORDER BY 1").fetchall() == [("a.csv", "r2"),
                                                                                          ("b.csv", "r1")]
    replace_rejects(con, "d", "rej", _rejects([], "r3"), files=None)
    assert con.execute("SELECT count(*) FROM d.rej").fetchone() == (0,)
    assert list(dict(con.execute("DESCRIBE d.rej").fetchall()[i][:2] for i in range(7))) == list(REJECT_COLUMNS)


def test_rematerialized_training_extracts_keep_one_copy_of_each_reject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extracts = tmp_path / "extracts"
    (extracts / "training").mkdir(parents=True)
    (extracts / "inference").mkdir()
    path = extracts / "training" / "p1.csv"
    generate_customers(400, 1).write_csv(path)
    path.write_text(path.read_text() + "X2,41,12\n")  # wrong field count: a reject
    generate_customers(50, 2).drop("target").write_csv(extracts / "inference" / "b1.csv")
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "ext.yaml").write_text(
        f'name: ext\nkind: tabular_supervised\nsource: {{type: tabular_files, path: "{extracts}"}}\n'
        "entity_key: customer_id\nlabel_column: target\n"
    )
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    keys = [dg.AssetKey(["ext", "training"])]
    job = build_definitions().resolve_job_def("ext_train")
    with dg.instance_for_test() as instance:
        for _ in range(3):
            assert job.execute_in_process(instance=instance, asset_selection=keys).success
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM ext.training_rejects").fetchone() == (1, 1)


def test_reingested_event_files_keep_one_copy_of_each_reject(tmp_path: Path) -> None:
    from vigia.config import DatasetConfig
    from vigia.pipeline.events_ingest import ingest_events

    event = '{"@timestamp": "2026-01-05T10:00:00Z", "client": {"ip": "10.0.0.1"}, "url": {"path": "/a"}}'
    (tmp_path / "events.ndjson").write_text(f"{event}\nnot json\n")
    cfg = DatasetConfig.model_validate({
        "name": "ev", "kind": "api_events", "source": {"type": "event_files", "path": str(tmp_path)},
        "sql_models": "events", "partitions": {"start": "2026-01-05", "end": "2026-01-06"},
        "detectors": [{"name": "iforest", "type": "isolation_forest"}],
    })  # fmt: skip
    con = duckdb.connect()
    for run in ("r1", "r2", "r3"):
        (tmp_path / "events.ndjson").touch()
        assert ingest_events(con, cfg, ["2026-01-05"], run).rejected == 1
    assert con.execute("SELECT count(*), min(run_id) FROM ev.raw_events_rejects").fetchone() == (1, "r3")

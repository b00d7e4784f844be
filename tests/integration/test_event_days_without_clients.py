"""A day of API events without client IPs writes the same window_features columns as the other days."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vigia.config import DatasetConfig
from vigia.events.features import WINDOW_COLUMNS
from vigia.events.files import canonical_events
from vigia.events.synth import generate_api_events
from vigia.pipeline.event_features import materialize_event_features
from vigia.pipeline.events_ingest import with_event_day
from vigia.pipeline.features import FEATURES_TABLE
from vigia.warehouse.duck import table_schema


def test_day_without_client_ips_keeps_the_feature_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    days = []
    for d in (5, 6, 7):
        ev = canonical_events(generate_api_events(datetime(2026, 1, d, tzinfo=UTC), 300, seed=d))
        if d == 7:
            ev = ev.with_columns(pl.lit(None, pl.String).alias("client_ip"))
        days.append(with_event_day(ev))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA ev")
    con.register("f", pl.concat(days).to_arrow())
    con.execute("CREATE TABLE ev.stg_events AS SELECT * FROM f")
    cfg = DatasetConfig.model_validate(
        {
            "name": "ev",
            "kind": "api_events",
            "source": {"type": "synthetic_api"},
            "sql_models": "events",
            "partitions": {"start": "2026-01-05", "end": "2026-01-08"},
            "detectors": [{"name": "if", "type": "isolation_forest"}],
        }
    )
    materialize_event_features(con, cfg, ["2026-01-05", "2026-01-06"])
    before = table_schema(con, "ev", FEATURES_TABLE)
    res = materialize_event_features(con, cfg, ["2026-01-07"])  # used to fail: columns differ
    assert res.windows == 300 and table_schema(con, "ev", FEATURES_TABLE) == before
    assert set(WINDOW_COLUMNS) <= {name for name, _ in before}
    doubles = [name for name, typ in before if typ == "DOUBLE"]
    bad = " OR ".join(f'"{c}" IS NULL OR NOT isfinite("{c}")' for c in doubles)
    assert con.execute(f"SELECT count(*) FROM ev.{FEATURES_TABLE} WHERE {bad}").fetchone() == (0,)  # features_finite
    day7 = con.execute(f"SELECT min(win_requests), max(win_requests) FROM ev.{FEATURES_TABLE} WHERE day = '2026-01-07'")
    assert day7.fetchone() == (1.0, 1.0)  # each event without a client IP is a client of its own

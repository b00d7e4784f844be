"""OpenSearch edge cases: credentials in a malformed URL, the index template checked at load, empty indices,
files left in the landing folder, 403 and partial shard failures. The real opensearch-py client talks to the
local wire-format server of tests/opensearch_fake.py (no OpenSearch can run here)."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
import yaml

from tests.opensearch_fake import FakeOpenSearch
from vigia.config import DatasetConfig
from vigia.pipeline import events_ingest
from vigia.pipeline.events_ingest import ingest_events
from vigia.sources.errors import SourceError
from vigia.sources.opensearch import (
    IndexNotFoundError,
    OpenSearchSettings,
    download_index,
    list_indices,
    make_client,
    redact_url,
)

SECRET = "Sup3rSecret"
DAY = "2026-01-05"


def dataset(template: str = "events-{day:%Y%m%d}", name: str = "ostest") -> str:
    return textwrap.dedent(f"""\
        name: {name}
        kind: api_events
        source: {{type: opensearch, params: {{index_template: "{template}"}}}}
        sql_models: events
        partitions: {{start: "2026-01-05", end: "2026-01-08"}}
        detectors: [{{name: iforest, type: isolation_forest}}]
        """)


def config(template: str = "events-{day:%Y%m%d}") -> DatasetConfig:
    return DatasetConfig.model_validate(yaml.safe_load(dataset(template)))


def events(n: int, day: str = DAY) -> list[dict[str, Any]]:
    return [{"@timestamp": f"{day}T10:00:{i:02d}Z", "event": {"id": f"{day}-{i}"}, "client": {"ip": "10.0.0.1"},
             "url": {"path": "/a"}} for i in range(n)]  # fmt: skip


def settings_for(url: str, **kw: Any) -> OpenSearchSettings:
    return OpenSearchSettings(url=url, **{"backoff_s": 0.001, "max_retries": 1, "jitter_seed": 1, **kw})


# ------------------------------------------------------------------------------- 1: credentials in the URL


@pytest.mark.parametrize(
    "url",
    [
        f"admin:{SECRET}@opensearch.local:9200",  # scheme forgotten
        f"https://admin:Xy#9{SECRET}@opensearch.local:9200",  # '#' in the password, not percent-encoded
        f"https://admin:ab/cd{SECRET}@opensearch.local:9200",  # '/' in the password
        f"https://admin:1234#{SECRET}@opensearch.local:9200",  # parses as host 'admin', port 1234
        f"https://admin:ab?{SECRET}@opensearch.local:9200",  # '?' in the password
    ],
)
def test_malformed_url_with_credentials_is_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(SourceError) as info:
        OpenSearchSettings.from_env(env={"VIGIA_OPENSEARCH_URL": url})
    msg = str(info.value)
    assert SECRET not in msg and "admin" not in msg
    assert "VIGIA_OPENSEARCH_USERNAME" in msg and "percent-encode" in msg


@pytest.mark.parametrize("url", ["https://opensearch.local:92OO", "https://opensearch.local:99999", "https:///x"])
def test_bad_port_or_missing_host_is_a_source_error(url: str) -> None:
    with pytest.raises(SourceError, match=r"port|host"):
        OpenSearchSettings(url=url)


def test_redact_url_never_returns_userinfo() -> None:
    for url in (
        f"https://admin:Xy#9{SECRET}@h:9200",
        f"https://admin:1234#{SECRET}@h:9200/p",
        f"admin:{SECRET}@h:9200",
        f"https://admin:a/b{SECRET}@h:9200",
    ):
        shown = redact_url(url)
        assert SECRET not in shown and "admin" not in shown, shown
    assert redact_url("https://u:p@H:9200/prefix/?q=1#f") == "https://h:9200/prefix"


def test_well_formed_urls_still_accepted() -> None:
    s = OpenSearchSettings(url="https://us%40er:p%23w%2Fd@opensearch.local:9200/")
    assert (s.url, s.username, s.password) == ("https://opensearch.local:9200", "us@er", "p#w/d")
    assert OpenSearchSettings(url="http://[::1]:9200").url == "http://[::1]:9200"


# ------------------------------------------------------------------------------- 2, 3: index_template at load


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("events-{date:%Y%m%d}", "only use the field {day}"),
        ("events-{day:%Y%m%d", "not a valid format string"),
        ("events-{0}", "only use the field {day}"),
        ("events-{}", "only use the field {day}"),
        ("events-{day:{fmt}}", "cannot be formatted"),
        ("events-{day.nope}", "cannot be formatted"),
        ("events-{day:%Y.%m}", "one index per day"),  # monthly: the sensor would lose all but one day per month
        ("events-{day:%G-W%V}", "one index per day"),  # weekly
        ("events-{day:%d}", "one index per day"),  # repeats every month
        ("events", "one index per day"),
    ],
)
def test_bad_index_template_fails_at_load(template: str, problem: str) -> None:
    with pytest.raises(ValueError, match=r"source\.params\.index_template") as info:
        config(template)
    assert problem in str(info.value)


@pytest.mark.parametrize("template", ["events-{day:%Y%m%d}", "logs-{day:%Y.%m.%d}", "x-{day.year}-{day:%j}-{{v1}}"])
def test_daily_index_template_is_accepted(template: str) -> None:
    assert config(template).source.params["index_template"] == template


def test_bad_index_template_fails_vigia_check(tmp_path: Path) -> None:
    from vigia.config import load_dataset_configs

    (tmp_path / "bad.yaml").write_text(dataset("events-{day:%Y.%m}"))
    with pytest.raises(ValueError, match="index_template"):
        load_dataset_configs(tmp_path)


def test_index_pattern_replaces_the_day_fields() -> None:
    assert events_ingest.index_pattern(config("logs-{day:%Y.%m.%d}")) == "logs-*"
    assert events_ingest.index_pattern(config("x-{day.year}.{day:%m%d}-{{v}}")) == "x-*.*-{v}"


# ------------------------------------------------------------------------------- 3, 6: the new-index sensor


class _Recording(FakeOpenSearch):
    """Records the ``_cat/indices`` paths asked for; answers 403 (like the security plugin) outside ``events-*``."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.cat_paths: list[str] = []

    def handle(self, method: str, path: str, query: dict[str, str], body: dict[str, Any] | None) -> tuple[int, Any]:
        if path.startswith("/_cat/indices"):
            self.cat_paths.append(path)
            if path != "/_cat/indices/events-*":
                return 403, _security_exception()
        return super().handle(method, path, query, body)


def _security_exception() -> dict[str, Any]:
    reason = "no permissions for [indices:monitor/settings/get] and User [name=reader, backend_roles=[]]"
    cause = {"type": "security_exception", "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": 403}


def test_index_sensor_lists_only_the_template_pattern(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.definitions import build_definitions

    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "ostest.yaml").write_text(dataset())
    monkeypatch.setenv("VIGIA_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    with _Recording({"events-20260105": 3, "events-20260106": 3, "secret-audit": 2}) as fake:
        monkeypatch.setenv("VIGIA_OPENSEARCH_URL", fake.url)
        defs = build_definitions()
        sensor = defs.resolve_sensor_def("ostest_new_index_sensor")
        with dg.instance_for_test() as instance:
            result = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        assert fake.cat_paths == ["/_cat/indices/events-*"]
        assert sorted(r.partition_key for r in result.run_requests) == ["2026-01-05", "2026-01-06"]


# ------------------------------------------------------------------------------- 6: 403 is not "authentication"


def test_403_is_permission_denied_with_the_servers_reason() -> None:
    with _Recording({"events-20260105": 3}, username="reader", password=SECRET) as fake:
        s = settings_for(fake.url, username="reader", password=SECRET)
        with pytest.raises(SourceError) as info:
            list_indices(make_client(s), "*", settings=s)
    msg = str(info.value)
    assert "permission denied" in msg and "authentication failed" not in msg
    assert "security_exception: no permissions for [indices:monitor/settings/get]" in msg
    assert SECRET not in msg


# ------------------------------------------------------------------------------- 7: partial shard failures


class _ShardLost(FakeOpenSearch):
    def handle(self, method: str, path: str, query: dict[str, str], body: dict[str, Any] | None) -> tuple[int, Any]:
        if path == "/_search" and body and "pit" in body:
            failure = {
                "shard": 1,
                "index": "events-20260105",
                "reason": {"type": "search_context_missing_exception", "reason": "No search context found"},
            }
            return 200, {"took": 1, "timed_out": False, "pit_id": body["pit"]["id"],
                         "_shards": {"total": 2, "successful": 1, "skipped": 0, "failed": 1, "failures": [failure]},
                         "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}  # fmt: skip
        return super().handle(method, path, query, body)


def test_partial_shard_failure_names_the_failure(tmp_path: Path) -> None:
    with _ShardLost({"events-20260105": 10}) as fake:
        s = settings_for(fake.url)
        with pytest.raises(SourceError) as info:
            download_index(make_client(s), "events-20260105", tmp_path / "out.ndjson", settings=s, sleep=lambda _: None)
    msg = str(info.value)
    assert "_PartialResults" not in msg
    assert "1 of 2 shards failed" in msg and "search_context_missing_exception: No search context found" in msg


# ------------------------------------------------------------------------------- 4, 5: ingest


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VIGIA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_existing_empty_index_is_a_quiet_day(env: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    docs = {"events-20260105": [], "events-20260106": events(4, "2026-01-06")}
    con = duckdb.connect()
    with FakeOpenSearch(documents=docs) as fake, caplog.at_level(logging.WARNING, logger="vigia.opensearch"):
        monkeypatch.setenv("VIGIA_OPENSEARCH_URL", fake.url)
        alone = ingest_events(con, config(), [DAY], "run1")
        both = ingest_events(con, config(), [DAY, "2026-01-06"], "run2")
        with pytest.raises(IndexNotFoundError, match="events-20260107"):  # a missing index stays an error
            ingest_events(con, config(), ["2026-01-07"], "run3")
    assert (alone.read, alone.accepted, alone.written, alone.rows_by_day) == (0, 0, 0, {})
    assert alone.files == [{"index": "events-20260105", "docs": 0, "note": "the index exists but is empty: 0 rows"}]
    assert "events-20260105 exists but holds no documents" in caplog.text
    assert (both.read, both.rows_by_day) == (4, {"2026-01-06": 4})
    assert con.execute("select count(*) from ostest.raw_events").fetchone() == (4,)


def test_only_this_runs_downloads_are_read(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = {"events-20260105": events(10), "logs-2026.01.05": events(10)}
    con = duckdb.connect()
    with FakeOpenSearch(documents=docs) as fake:
        monkeypatch.setenv("VIGIA_OPENSEARCH_URL", fake.url)
        first = ingest_events(con, config("events-{day:%Y%m%d}"), [DAY], "run1")
        # the indices were renamed: the old run's NDJSON stays in the same landing folder
        second = ingest_events(con, config("logs-{day:%Y.%m.%d}"), [DAY], "run2")
    landing = env / "raw" / "ostest" / f"{DAY}_{DAY}"
    assert sorted(p.name for p in landing.glob("*.ndjson")) == ["events-20260105.ndjson", "logs-2026.01.05.ndjson"]
    assert (first.read, second.read, second.rows_by_day) == (10, 10, {DAY: 10})
    assert con.execute("select count(*), count(distinct event_id) from ostest.raw_events").fetchone() == (10, 10)

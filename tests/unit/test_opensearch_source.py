"""OpenSearch source against the local fake server (tests/opensearch_fake.py): paging, retries, auth, fallback,
resume, listing and credential hygiene."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pytest

from tests.opensearch_fake import FakeOpenSearch
from vigia.sources.errors import SourceError
from vigia.sources.opensearch import (
    DownloadResult,
    IndexNotFoundError,
    OpenSearchAuthError,
    OpenSearchSettings,
    download_index,
    list_indices,
    make_client,
)

INDEX = "events-2026.01.05"
N_DOCS = 12_345
SECRET = "s3cr3t-Pa55!word"


@pytest.fixture(scope="module")
def indices() -> dict[str, int]:
    return {INDEX: N_DOCS, "events-2026.01.06": 250, "logs-2026.01.05": 40, ".opendistro-job": 3}


@pytest.fixture
def fake(indices):
    with FakeOpenSearch(indices) as server:
        yield server


def settings_for(url: str, **kw) -> OpenSearchSettings:
    base = {"batch_size": 1000, "backoff_s": 0.001, "max_retries": 3, "jitter_seed": 7, "timeout_s": 5}
    return OpenSearchSettings(url=url, **{**base, **kw})


def read_ids(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["_id"] for line in fh]


def assert_exactly_once(path: Path, fake: FakeOpenSearch, index: str = INDEX) -> None:
    ids = read_ids(path)
    dupes = [i for i, c in Counter(ids).items() if c > 1]
    assert not dupes, f"{len(dupes)} duplicated ids, e.g. {dupes[:3]}"
    assert sorted(ids) == sorted(fake.expected_ids(index))


def download(fake: FakeOpenSearch, tmp_path: Path, index: str = INDEX, **kw) -> DownloadResult:
    settings = kw.pop("settings", None) or settings_for(fake.url)
    return download_index(make_client(settings), index, tmp_path / "out.ndjson", settings=settings, **kw)


# ------------------------------------------------------------------------------------------------ paging


def test_pit_paging_every_doc_once(fake, tmp_path):
    seen: list[tuple[int, int | None]] = []
    res = download(fake, tmp_path, progress=lambda n, total: seen.append((n, total)))
    assert (res.docs, res.batches, res.method, res.resumed, res.retries) == (N_DOCS, 13, "pit", False, 0)
    assert res.total == N_DOCS and res.bytes == (tmp_path / "out.ndjson").stat().st_size
    assert_exactly_once(tmp_path / "out.ndjson", fake)
    assert seen[0] == (1000, N_DOCS) and seen[-1] == (N_DOCS, N_DOCS) and len(seen) == 13
    assert fake.open_pits == 0  # PIT deleted at the end
    methods = [(m, p.split("?")[0]) for m, p in fake.requests]
    assert methods[0] == ("POST", f"/{INDEX}/_search/point_in_time")
    assert methods[-1] == ("DELETE", "/_search/point_in_time")


def test_ndjson_line_shape(fake, tmp_path):
    download(fake, tmp_path, index="logs-2026.01.05")
    first = json.loads((tmp_path / "out.ndjson").read_text(encoding="utf-8").splitlines()[0])
    assert first["_index"] == "logs-2026.01.05" and first["_id"] == fake.expected_ids("logs-2026.01.05")[0]
    assert isinstance(first["event"], dict) and isinstance(first["source"]["port"], int) and "@timestamp" in first


def test_sort_by_timestamp_then_shard_doc(fake, tmp_path):
    res = download(fake, tmp_path, sort_by_timestamp=True)
    assert res.docs == N_DOCS
    assert_exactly_once(tmp_path / "out.ndjson", fake)


# ------------------------------------------------------------------------------------------------ retries


@pytest.mark.parametrize("status", [429, 503])
def test_transient_status_is_retried_and_counted(fake, tmp_path, status):
    fake.fail_nth(3, status, path_contains="/_search", method="POST")  # the 2nd page of the PIT search
    res = download(fake, tmp_path)
    assert res.retries == 1 and res.docs == N_DOCS
    assert_exactly_once(tmp_path / "out.ndjson", fake)


def test_connection_cut_mid_response_is_retried(fake, tmp_path):
    fake.drop_connections(5, path_contains="/_search", method="POST")
    res = download(fake, tmp_path)
    assert res.retries == 1 and res.docs == N_DOCS
    assert_exactly_once(tmp_path / "out.ndjson", fake)


def test_backoff_is_exponential_with_seeded_jitter(fake, tmp_path):
    fake.fail_nth(2, 503, path_contains="/_search", method="POST", times=3)
    pauses: list[float] = []
    settings = settings_for(fake.url, backoff_s=1.0, max_retries=5)
    res = download(fake, tmp_path, settings=settings, sleep=pauses.append)
    assert res.retries == 3 and len(pauses) == 3
    for attempt, p in enumerate(pauses):
        assert 0.5 * 2**attempt <= p < 2**attempt
    pauses2: list[float] = []
    fake.fail_nth(2, 503, path_contains="/_search", method="POST", times=3)
    fake.requests.clear()
    download(fake, tmp_path, settings=settings, sleep=pauses2.append)
    assert pauses2 == pauses  # same seed, same jitter


def test_retries_exhausted_is_source_error(fake, tmp_path):
    fake.fail_nth(1, 503, path_contains="/_search", method="POST", times=100)
    with pytest.raises(SourceError, match=r"HTTP 503.*gave up after 3 retries"):
        download(fake, tmp_path)


# ------------------------------------------------------------------------------------------------ errors


def test_401_is_auth_error_without_password(indices, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeOpenSearch(indices, username="vigia", password="right-one") as fake:
        settings = settings_for(fake.url, username="vigia", password=SECRET)
        with pytest.raises(OpenSearchAuthError) as ei:
            download(fake, tmp_path, settings=settings)
        msg = str(ei.value)
        assert msg.startswith(f"authentication failed for {fake.url}")
        assert SECRET not in msg and "vigia:" not in msg
        assert isinstance(ei.value, SourceError)
        with pytest.raises(OpenSearchAuthError):
            list_indices(make_client(settings), "events-*")
    assert SECRET not in caplog.text


def test_basic_auth_success(indices, tmp_path):
    with FakeOpenSearch(indices, username="vigia", password=SECRET) as fake:
        settings = settings_for(fake.url, username="vigia", password=SECRET)
        assert download(fake, tmp_path, index="logs-2026.01.05", settings=settings).docs == 40


def test_unknown_index_names_it(fake, tmp_path):
    with pytest.raises(IndexNotFoundError, match=r"^index not found: no-such-index$"):
        download(fake, tmp_path, index="no-such-index")


def test_unknown_index_with_scroll_fallback(indices, tmp_path):
    with FakeOpenSearch(indices, pit_supported=False) as fake, pytest.raises(IndexNotFoundError, match="nope"):
        download(fake, tmp_path, index="nope")


# ------------------------------------------------------------------------------------------------ scroll fallback


def test_pit_unsupported_falls_back_to_scroll(indices, tmp_path):
    with FakeOpenSearch(indices, pit_supported=False) as fake:
        fake.fail_nth(4, 429, path_contains="/_search/scroll", method="POST")
        res = download(fake, tmp_path)
        assert (res.method, res.docs, res.batches, res.retries) == ("scroll", N_DOCS, 13, 1)
        assert_exactly_once(tmp_path / "out.ndjson", fake)
        assert fake.open_scrolls == 0  # cleared at the end


def test_scroll_connection_loss_restarts_from_scratch(indices, tmp_path):
    with FakeOpenSearch(indices, pit_supported=False) as fake:
        fake.drop_connections(5, path_contains="/_search/scroll")  # page lost: cannot be re-asked, so restart
        res = download(fake, tmp_path)
        assert res.method == "scroll" and res.retries == 1 and res.batches == 13
        assert_exactly_once(tmp_path / "out.ndjson", fake)


# ------------------------------------------------------------------------------------------------ resume


def interrupted_download(fake, tmp_path, cp: Path, nth: int = 6, max_retries: int = 1) -> None:
    """Server 'dies' from the nth search on; the download fails after its retries, leaving a checkpoint."""
    fake.drop_connections(nth, path_contains="/_search", method="POST", times=None)
    with pytest.raises(SourceError, match="connection error"):
        download(fake, tmp_path, checkpoint_path=cp, settings=settings_for(fake.url, max_retries=max_retries))
    fake.clear_faults()


def test_resume_from_checkpoint_exactly_once(fake, tmp_path):
    cp = tmp_path / "out.checkpoint.json"
    interrupted_download(fake, tmp_path, cp)
    state = json.loads(cp.read_text())
    assert state["docs_written"] == 4000 and state["method"] == "pit" and state["search_after"] == [3999]
    assert fake.open_pits == 1  # left alive for the resume
    # A crash between a batch write and its checkpoint leaves extra bytes: the resume must drop them.
    with (tmp_path / "out.ndjson").open("a") as fh:
        fh.write('{"_id": "partial-line-from-a-crash"')
    res = download(fake, tmp_path, checkpoint_path=cp)
    assert res.resumed and res.docs == N_DOCS and res.docs_resumed == 4000 and res.batches == 9
    assert res.restarted is None and res.method == "pit"
    assert_exactly_once(tmp_path / "out.ndjson", fake)
    assert not cp.exists() and fake.open_pits == 0


def test_resume_with_expired_pit_restarts(fake, tmp_path):
    cp = tmp_path / "out.checkpoint.json"
    interrupted_download(fake, tmp_path, cp)
    fake.expire_pits()
    res = download(fake, tmp_path, checkpoint_path=cp)
    assert not res.resumed and "expired" in (res.restarted or "") and res.docs == N_DOCS
    assert_exactly_once(tmp_path / "out.ndjson", fake)


def test_scroll_checkpoint_restarts_from_scratch(indices, tmp_path):
    cp = tmp_path / "out.checkpoint.json"
    with FakeOpenSearch(indices, pit_supported=False) as fake:
        interrupted_download(fake, tmp_path, cp, nth=4, max_retries=0)
        assert json.loads(cp.read_text())["method"] == "scroll"
        res = download(fake, tmp_path, checkpoint_path=cp)
        assert res.method == "scroll" and not res.resumed and "scroll" in (res.restarted or "")
        assert_exactly_once(tmp_path / "out.ndjson", fake)


# ------------------------------------------------------------------------------------------------ listing


def test_list_indices_pattern(fake):
    client = make_client(settings_for(fake.url))
    assert list_indices(client, "events-*") == sorted(["events-2026.01.06", INDEX])
    assert list_indices(client, "*") == sorted(["events-2026.01.06", INDEX, "logs-2026.01.05"])
    assert list_indices(client, "*", include_hidden=True)[0] == ".opendistro-job"
    assert list_indices(client, "nothing-*") == []
    assert any("_cat/indices/events-*" in p and "format=json" in p for _, p in fake.requests)


# ------------------------------------------------------------------------------------------------ credentials


def test_settings_from_env_and_repr_hide_credentials():
    env = {
        "VIGIA_OPENSEARCH_URL": "https://os.example:9200/",
        "VIGIA_OPENSEARCH_USERNAME": "vigia",
        "VIGIA_OPENSEARCH_PASSWORD": SECRET,
        "VIGIA_OPENSEARCH_VERIFY_CERTS": "false",
        "VIGIA_OPENSEARCH_CA_CERTS": "/etc/ssl/ca.pem",
    }
    s = OpenSearchSettings.from_env(env=env)
    assert (s.url, s.username, s.password, s.verify_certs, s.ca_certs) == (
        "https://os.example:9200",
        "vigia",
        SECRET,
        False,
        "/etc/ssl/ca.pem",
    )
    assert SECRET not in repr(s) and SECRET not in str(s) and "***" in repr(s)
    with pytest.raises(SourceError, match="VIGIA_OPENSEARCH_URL"):
        OpenSearchSettings.from_env(env={})


def test_credentials_in_url_are_moved_out():
    s = OpenSearchSettings(url=f"https://vigia:{SECRET}@os.example:9200")
    assert s.url == "https://os.example:9200" and (s.username, s.password) == ("vigia", SECRET)
    assert SECRET not in repr(s)
    assert SECRET not in repr(make_client(s)) and SECRET not in repr(make_client(s).transport.get_connection())


def test_credentials_never_logged(indices, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeOpenSearch(indices, username="vigia", password=SECRET) as fake:
        fake.fail_nth(2, 503, path_contains="/_search", method="POST")
        settings = settings_for(fake.url, username="vigia", password=SECRET)
        res = download(fake, tmp_path, index="events-2026.01.06", settings=settings)
        assert res.retries == 1
        fake.fail_nth(1, 503, path_contains="/_search", method="POST", times=100)
        with pytest.raises(SourceError) as ei:
            download(fake, tmp_path, index="events-2026.01.06", settings=settings)
        assert SECRET not in str(ei.value)
    assert caplog.records and "retry 1/3" in caplog.text
    assert SECRET not in caplog.text


def test_lone_surrogate_in_a_document_is_kept_as_its_escape(tmp_path):
    """OpenSearch returns what it was given; ``"\\ud800"`` in a ``_source`` decodes to a lone surrogate, which
    UTF-8 cannot hold: the download used to die with UnicodeEncodeError. The batch is written with ASCII
    escapes instead, and the event reader turns the surrogate into U+FFFD."""
    from vigia.events.files import read_event_files

    docs = [
        {"@timestamp": "2026-01-05T10:00:00Z", "url": {"path": "/caf\u00e9"}},
        {"@timestamp": "2026-01-05T10:00:01Z", "url": {"path": "/x\ud800y"}, "user_agent": {"original": "\U0001f600"}},
    ]
    with FakeOpenSearch({}, documents={INDEX: docs}) as server:
        res = download(server, tmp_path)
    assert res.docs == 2 and res.bytes == (tmp_path / "out.ndjson").stat().st_size
    events = read_event_files(tmp_path / "out.ndjson", dataset="api", run_id="r")
    assert events.accepted == 2 and events.rejected == 0
    assert events.events["path"].to_list() == ["/caf\u00e9", "/x\ufffdy"]
    assert events.events["user_agent"].to_list() == [None, "\U0001f600"]

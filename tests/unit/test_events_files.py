"""Event file reader: layouts, flattening and bad inputs (rejects / truncation / replacement)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from vigia.events.files import flatten_event, read_event_files
from vigia.schema import REJECT_COLUMNS
from vigia.sources.errors import SourceError

GOOD = {
    "@timestamp": "2026-01-05T10:00:00.000Z",
    "client": {"ip": "10.0.0.1"},
    "user": {"name": "ana"},
    "http": {"request": {"method": "GET", "body": {"content": ""}}, "response": {"status_code": 200}},
    "url": {"path": "/api/v1/products/7", "query": "a=1"},
    "user_agent": {"original": "curl/8.0"},
    "service": {"name": "catalog"},
    "tags": ["x", "y"],
}


def _line(obj: dict) -> bytes:
    return json.dumps(obj).encode()


def test_flatten() -> None:
    assert flatten_event({"a": {"b": {"c": 1}}, "d": [1], "e": {}}) == {"a.b.c": 1, "d": [1], "e": {}}


def test_ndjson_and_gzip(tmp_path: Path) -> None:
    data = b"\n".join(_line(GOOD) for _ in range(3)) + b"\n"
    (tmp_path / "a.ndjson").write_bytes(data)
    with gzip.open(tmp_path / "b.jsonl.gz", "wb") as fh:
        fh.write(data)
    r = read_event_files(tmp_path, dataset="api", run_id="r1")
    assert r.read == r.accepted == 6 and r.rejected == 0 and len(r.files) == 2
    row = r.events.row(0, named=True)
    assert row["client_ip"] == "10.0.0.1" and row["method"] == "GET" and row["status"] == 200
    assert row["ts"].isoformat() == "2026-01-05T10:00:00+00:00"
    assert json.loads(row["extra"]) == {"tags": ["x", "y"]}
    assert json.loads(row["raw_record"])["client"]["ip"] == "10.0.0.1"


@pytest.mark.parametrize("wrap", ["hits", "list"])
def test_json_array(tmp_path: Path, wrap: str) -> None:
    items = [{"_id": f"id{i}", "_source": GOOD} for i in range(4)]
    doc = {"hits": {"hits": items}} if wrap == "hits" else items
    (tmp_path / "export.json").write_text(json.dumps(doc, indent=2))
    r = read_event_files(tmp_path / "export.json", dataset="api", run_id="r1")
    assert r.read == r.accepted == 4 and r.events["event_id"].to_list() == ["id0", "id1", "id2", "id3"]


def test_bad_inputs(tmp_path: Path) -> None:
    big = {**GOOD, "http": {"request": {"method": "POST", "body": {"content": "A" * 1_100_000}}}}
    lines = [
        _line(GOOD),
        b'{"@timestamp": "2026-01-05T10:00:00Z", "url": {"path": "/x"',  # malformed
        b"[1, 2]",  # not an object
        _line(big),  # over max_event_bytes -> rejected
        _line({**GOOD, "url": {"path": "/caf\u00e9"}}).replace(b"caf\\u00e9", b"caf\xe9"),  # non-UTF-8 -> accepted
        _line({k: v for k, v in GOOD.items() if k != "@timestamp"}),  # missing field
        _line({**GOOD, "http": {"response": {"status_code": "two hundred"}}}),  # wrong type
        _line({**GOOD, "@timestamp": "yesterday"}),  # unparsable timestamp
        _line({**GOOD, "url": {"path": ["/a", "/b"]}}),  # list where text expected
    ]
    (tmp_path / "bad.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    r = read_event_files(tmp_path / "bad.ndjson", dataset="api", run_id="r9")
    assert r.read == 9 == r.accepted + r.rejected
    assert r.accepted == 2 and r.decoded_with_replacement == 1
    assert list(r.rejects.columns) == list(REJECT_COLUMNS)
    reasons = dict(zip(r.rejects["line_number"].to_list(), r.rejects["reason"].to_list(), strict=True))
    assert reasons[2].startswith("malformed JSON")
    assert reasons[3].startswith("not a JSON object")
    assert "exceeds max_event_bytes" in reasons[4]
    assert reasons[6] == "missing required field @timestamp"
    assert "status_code" in reasons[7] and "bad @timestamp" in reasons[8] and "field path" in reasons[9]
    assert set(r.rejects["run_id"]) == {"r9"} and set(r.rejects["dataset"]) == {"api"}
    replaced = r.events.filter(r.events["line_number"] == 5).row(0, named=True)
    assert replaced["path"] == "/caf\ufffd" and "non-UTF-8" in replaced["notes"]


def test_large_field_truncated(tmp_path: Path) -> None:
    big = {**GOOD, "http": {"request": {"method": "POST", "body": {"content": "B" * 200_000}}}}
    (tmp_path / "a.ndjson").write_bytes(_line(big))
    r = read_event_files(tmp_path / "a.ndjson", dataset="api", run_id="r", max_field_chars=1000)
    assert r.accepted == 1 and r.truncated == 1
    row = r.events.row(0, named=True)
    assert len(row["body"]) == 1000 and "body truncated from 200000" in row["notes"]
    assert len(row["raw_record"]) == 2000


def test_missing_and_empty_paths(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        read_event_files(tmp_path / "nope", dataset="a", run_id="r")
    (tmp_path / "empty.ndjson").write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        read_event_files(tmp_path / "empty.ndjson", dataset="a", run_id="r")
    (tmp_path / "d").mkdir()
    with pytest.raises(SourceError, match="no event files"):
        read_event_files(tmp_path / "d", dataset="a", run_id="r")


def test_json_the_parser_refuses_without_a_decode_error_is_rejected(tmp_path: Path) -> None:
    """``json.loads`` raises a plain ValueError for an integer over 4,300 digits and RecursionError for deep
    nesting: both are one rejected line, not a failed ingest."""
    lines = [
        _line(GOOD),
        b'{"@timestamp": "2026-01-05T10:00:00Z", "n": ' + b"1" * 5000 + b"}",
        b'{"a": ' * 100_000 + b"1" + b"}" * 100_000,
        _line(GOOD),
    ]
    (tmp_path / "odd.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    r = read_event_files(tmp_path / "odd.ndjson", dataset="api", run_id="r")
    assert (r.read, r.accepted, r.rejected) == (4, 2, 2)
    reasons = dict(zip(r.rejects["line_number"].to_list(), r.rejects["reason"].to_list(), strict=True))
    assert reasons[2].startswith("malformed JSON: Exceeds the limit (4300 digits)")
    assert reasons[3] == "malformed JSON: nested too deeply to parse"


def test_non_finite_durations_are_rejected(tmp_path: Path) -> None:
    """Python's JSON reader accepts Infinity, NaN and 1e400: a duration that is not finite is a rejected line."""
    base = _line({**GOOD, "event": {"duration": 5}})
    odd = [base.replace(b'"duration": 5', b'"duration": ' + v) for v in (b"Infinity", b"NaN", b"1e400", b"-Infinity")]
    (tmp_path / "d.ndjson").write_bytes(b"\n".join([base, *odd]) + b"\n")
    r = read_event_files(tmp_path / "d.ndjson", dataset="api", run_id="r")
    assert (r.read, r.accepted, r.rejected) == (5, 1, 4)
    assert all(reason.endswith("is not a finite number") for reason in r.rejects["reason"].to_list())


@pytest.mark.parametrize("layout", ["ndjson", "array", "gzip"])
def test_byte_order_mark_is_ignored(tmp_path: Path, layout: str) -> None:
    """A UTF-8 byte-order mark before the first event used to reject that event (or a whole array export)."""
    lines = b"\n".join(_line(GOOD) for _ in range(3)) + b"\n"
    data = b"\xef\xbb\xbf" + (json.dumps([GOOD] * 3).encode() if layout == "array" else lines)
    path = tmp_path / ("events.json" if layout == "array" else "events.ndjson")
    if layout == "gzip":
        path = tmp_path / "events.ndjson.gz"
        data = gzip.compress(data)
    path.write_bytes(data)
    r = read_event_files(path, dataset="api", run_id="r1")
    assert (r.read, r.accepted, r.rejected) == (3, 3, 0)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_and_utf32_exports(tmp_path: Path, encoding: str) -> None:
    """A PowerShell redirection writes UTF-16: every event used to be rejected as malformed JSON."""
    text = "\n".join(json.dumps(GOOD) for _ in range(3)) + "\n"
    (tmp_path / "events.ndjson").write_bytes(text.encode(encoding))
    r = read_event_files(tmp_path / "events.ndjson", dataset="api", run_id="r1")
    assert (r.read, r.accepted, r.rejected) == (3, 3, 0) and r.events["client_ip"][0] == "10.0.0.1"


@pytest.mark.parametrize("layout", ["ndjson", "array"])
def test_lone_surrogate_escapes_are_replaced_not_fatal(tmp_path: Path, layout: str) -> None:
    """``"\\ud800"`` is legal JSON but no Unicode text can hold it: one such event (an attacker's payload, a
    truncated emoji) used to fail the whole read with UnicodeEncodeError. Keys, values and the raw record
    get U+FFFD; a valid escaped pair stays the character it encodes."""
    odd = {**GOOD, "url": {"path": "/p\ud800q", "query": "\udfff"}, "x\udc00": "\ud83d\ude00"}
    if layout == "ndjson":
        path = tmp_path / "e.ndjson"
        path.write_bytes(b"\n".join([_line(GOOD), _line(odd), _line(GOOD)]) + b"\n")
    else:
        path = tmp_path / "e.json"
        path.write_text(json.dumps([GOOD, odd, GOOD]))
    r = read_event_files(path, dataset="api", run_id="r")
    assert (r.read, r.accepted, r.rejected, r.decoded_with_replacement) == (3, 3, 0, 1)
    row = r.events.row(1, named=True)
    assert row["path"] == "/p\ufffdq" and row["query"] == "\ufffd"
    assert json.loads(row["extra"])["x\ufffd"] == "\U0001f600"
    assert "surrogates replaced" in row["notes"]
    assert "\ud800" not in row["raw_record"]


def test_status_must_be_an_http_status(tmp_path: Path) -> None:
    """Integral floats and digit strings are statuses; a status outside RFC 9110's 100..599 (0 for an aborted
    request, 999) is rejected here instead of passing and then failing `stg_events`' blocking range check."""
    values = (404.0, 200.5, "301", 0, 99, 600, 999, 100, 599)
    lines = [_line({**GOOD, "http": {"response": {"status_code": v}}}) for v in values]
    (tmp_path / "s.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    r = read_event_files(tmp_path / "s.ndjson", dataset="api", run_id="r")
    assert r.events["status"].to_list() == [404, 301, 100, 599]
    assert r.rejects["line_number"].to_list() == [2, 4, 5, 6, 7]
    assert all("is not an HTTP status" in reason for reason in r.rejects["reason"].to_list())

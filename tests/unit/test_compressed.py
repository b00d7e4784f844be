"""Gzip files cut short: every line before the cut is kept, the cut is reported, garbage is a clear error."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from vigia.events.files import read_event_files
from vigia.sources.compressed import GzipStream, read_gzip
from vigia.sources.errors import SourceError
from vigia.sources.zeek_files import parse_conn_files
from vigia.sources.zeek_synth import generate_conn_day
from vigia.sources.zeek_writers import write_zeek_tsv


def _cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_lines_before_the_cut_are_returned_and_the_cut_reported(tmp_path: Path) -> None:
    text = b"".join(b"line %d\n" % i for i in range(200_000))
    (tmp_path / "a.gz").write_bytes(gzip.compress(text))
    whole, truncated = read_gzip(tmp_path / "a.gz")
    assert whole == text and not truncated
    _cut(tmp_path / "a.gz", 0.5)
    part, truncated = read_gzip(tmp_path / "a.gz")
    assert truncated and 0 < len(part) < len(text) and text.startswith(part)
    stream = GzipStream(tmp_path / "a.gz")
    lines = list(stream.lines())
    assert stream.truncated and b"".join(lines) == part and all(ln.endswith(b"\n") for ln in lines[:-1])


def test_concatenated_members_and_garbage(tmp_path: Path) -> None:
    (tmp_path / "two.gz").write_bytes(gzip.compress(b"a\nb\n") + gzip.compress(b"c\n"))
    assert read_gzip(tmp_path / "two.gz") == (b"a\nb\nc\n", False)
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b" + b"not deflate at all" * 10)
    with pytest.raises(SourceError, match=r"bad\.gz: not a readable gzip file"):
        read_gzip(tmp_path / "bad.gz")


def test_zeek_log_cut_short_keeps_every_complete_record(tmp_path: Path) -> None:
    """Used to fail the whole ingest with EOFError ('Compressed file ended before the end-of-stream marker')."""
    write_zeek_tsv(generate_conn_day(date(2026, 1, 5), 20_000, seed=1), tmp_path / "conn.log.gz", gzip=True)
    _cut(tmp_path / "conn.log.gz", 0.5)
    part, _ = read_gzip(tmp_path / "conn.log.gz")
    complete = [ln for ln in part.split(b"\n")[:-1] if ln and not ln.startswith(b"#")]  # [-1]: after the cut
    con = duckdb.connect()
    r = parse_conn_files(con, tmp_path, dataset="t", run_id="r", staging_table="stg", rejects_table="rej")
    assert r.truncated_files == [str(tmp_path / "conn.log.gz")]
    assert r.read == r.accepted + r.rejected and r.accepted == len(complete) > 0 and r.rejected <= 1
    uids = {row[0] for row in con.execute("SELECT uid FROM stg").fetchall()}
    assert uids == {ln.split(b"\t")[1].decode() for ln in complete}


def test_event_export_cut_short(tmp_path: Path) -> None:
    event = {"@timestamp": "2026-01-05T10:00:00Z", "url": {"path": "/x"}, "client": {"ip": "10.0.0.1"}}
    lines = b"".join(json.dumps({**event, "n": i}).encode() + b"\n" for i in range(20_000))
    (tmp_path / "e.ndjson.gz").write_bytes(gzip.compress(lines))
    _cut(tmp_path / "e.ndjson.gz", 0.5)
    r = read_event_files(tmp_path / "e.ndjson.gz", dataset="a", run_id="r")
    assert r.truncated_files == [str(tmp_path / "e.ndjson.gz")]
    assert r.read == r.accepted + r.rejected and 0 < r.accepted < 20_000 and r.rejected <= 1
    assert r.events["raw_record"].str.contains('"n": 0').any()


def test_zeek_log_cut_inside_its_header_fails_naming_the_cut(tmp_path: Path) -> None:
    """Sniffing the header used to raise EOFError; with nothing but header lines before the cut the run
    fails with the no-data error, which names the path and the cut file."""
    write_zeek_tsv(generate_conn_day(date(2026, 1, 5), 2_000, seed=1), tmp_path / "conn.log.gz", gzip=True)
    data = (tmp_path / "conn.log.gz").read_bytes()
    (tmp_path / "conn.log.gz").write_bytes(data[:300])  # the cut falls inside the #fields line
    with pytest.raises(SourceError, match=r"header/comment lines only; gzip cut short: .*conn\.log\.gz"):
        parse_conn_files(duckdb.connect(), tmp_path, dataset="t", run_id="r", staging_table="stg",
                         rejects_table="rej")  # fmt: skip

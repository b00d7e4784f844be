"""Conn-log parser: formats, reject reasons, the read = accepted + rejected invariant, real datasets."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vigia.schema import CONN_COLUMNS, REJECT_COLUMNS
from vigia.sources.zeek_files import ParseResult, SourceError, parse_conn_files

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "zeek"
SHARED = Path(os.environ.get("VIGIA_SHARED_DATASETS", Path(__file__).resolve().parents[3] / "shared" / "datasets"))


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    yield c
    c.close()


def parse(con: duckdb.DuckDBPyConnection, path: Path | str) -> ParseResult:
    result = parse_conn_files(con, path, dataset="test", run_id="r1", staging_table="stg", rejects_table="rejects")
    assert result.read == result.accepted + result.rejected
    for f in result.files:
        assert f.read == f.accepted + f.rejected
    assert con.execute("SELECT count(*) FROM stg").fetchall()[0][0] == result.accepted
    return result


def rejects(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT line_number, reason, raw_record FROM rejects ORDER BY line_number").fetchall()


def test_valid_tsv(con: duckdb.DuckDBPyConnection) -> None:
    r = parse(con, FIXTURES / "valid.log")
    assert (r.read, r.accepted, r.rejected) == (3, 3, 0)
    assert r.files[0].format == "zeek_tsv"
    assert set(r.ignored_fields) == {"local_orig", "local_resp", "tunnel_parents"}
    cols = [c[0] for c in con.execute("DESCRIBE stg").fetchall()]
    assert cols == [*CONN_COLUMNS, "day", "source_file"]
    rows = con.execute("SELECT service, duration, orig_bytes, history, ts, day FROM stg ORDER BY ts").fetchall()
    assert rows[1][:3] == (None, None, None)  # '-' -> NULL
    assert rows[2][3] == ""  # '(empty)' -> ''
    assert str(rows[0][4]) == "2024-03-04 00:00:00.036275" and str(rows[0][5]) == "2024-03-04"


def test_gzip_tsv(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    gz = tmp_path / "conn.log.gz"
    gz.write_bytes(gzip.compress((FIXTURES / "valid.log").read_bytes()))
    assert parse(con, gz).accepted == 3


def test_bad_tsv_rejects(con: duckdb.DuckDBPyConnection) -> None:
    r = parse(con, FIXTURES / "bad.log")
    assert (r.read, r.accepted, r.rejected) == (9, 2, 7)
    got = {ln: reason for ln, reason, _ in rejects(con)}
    assert got[10].startswith("wrong_field_count: expected 21 got 5")
    assert got[11].startswith("wrong_field_count: expected 21 got 22")
    assert got[12].startswith("bad_port: id.resp_p")
    assert got[13].startswith("bad_port: id.resp_p=70000")
    assert got[14].startswith("bad_timestamp")
    assert got[15] == "bad_number: orig_bytes"
    assert got[16].startswith("bad_timestamp")
    assert r.rejects_by_reason == {"bad_number": 1, "bad_port": 2, "bad_timestamp": 2, "wrong_field_count": 2}
    raw = {ln: text for ln, _, text in rejects(con)}
    assert raw[16].startswith("99999999999.0\tCfar")
    row = con.execute("SELECT dataset, run_id, rejected_at IS NOT NULL FROM rejects LIMIT 1").fetchall()[0]
    assert row == ("test", "r1", True)
    assert [c[0] for c in con.execute("DESCRIBE rejects").fetchall()] == list(REJECT_COLUMNS)


def test_missing_required_field_rejects_whole_file(con: duckdb.DuckDBPyConnection) -> None:
    r = parse(con, FIXTURES / "unknown_fields.log")
    assert (r.read, r.accepted, r.rejected) == (2, 0, 2)
    assert "id.resp_port" in r.ignored_fields
    assert all(reason == "missing required fields: resp_p" for _, reason, _ in rejects(con))
    assert [ln for ln, _, _ in rejects(con)] == [9, 10]


def test_iot23_labeled(con: duckdb.DuckDBPyConnection) -> None:
    r = parse(con, FIXTURES / "conn.log.labeled")
    assert (r.accepted, r.rejected) == (3, 0)
    rows = con.execute("SELECT label, attack_type FROM stg ORDER BY ts").fetchall()
    assert rows == [(0, None), (1, "C&C"), (1, "PartOfAHorizontalPortScan")]


# (label as written, label stored): the usual spellings and the ones only the full rule (trim, case) recognises
LABEL_SPELLINGS = [
    ("Benign", 0), ("benign", 0), ("0", 0), ("  BENIGN ", 0), ("bEnIgN", 0),
    ("Malicious", 1), ("malicious", 1), ("1", 1), (" Malicious   ", 1), ("MALICIOUS", 1), ("Malicious-C&C", 1),
    ("unknown", None), ("2", None), ("benignish", None), ("", None),
]  # fmt: skip


def test_label_spellings(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    header = "ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,label\n"
    row = "{ts},C{i},10.0.0.1,{port},10.0.0.2,80,tcp,{label}"
    lines = [row.format(ts=1540469303 + i, i=i, port=1000 + i, label=s) for i, (s, _) in enumerate(LABEL_SPELLINGS)]
    path = tmp_path / "labels.csv"
    path.write_text(header + "\n".join(lines) + "\n")
    assert parse(con, path).accepted == len(LABEL_SPELLINGS)
    got = [stored for (stored,) in con.execute("SELECT label FROM stg ORDER BY ts").fetchall()]
    assert got == [want for _, want in LABEL_SPELLINGS]


def test_json_both_ts_styles(con: duckdb.DuckDBPyConnection) -> None:
    r = parse(con, FIXTURES / "conn.json")
    assert (r.accepted, r.rejected) == (2, 0)
    ts = [str(t[0]) for t in con.execute("SELECT ts FROM stg ORDER BY ts").fetchall()]
    assert ts == ["2024-03-04 00:00:00.036275", "2024-03-04 00:00:01.500000"]


def test_malformed_json(con: duckdb.DuckDBPyConnection) -> None:
    r = parse(con, FIXTURES / "bad.json")
    assert (r.read, r.accepted, r.rejected) == (3, 2, 1)
    assert rejects(con)[0][:2] == (2, "malformed_json")


def test_csv(con: duckdb.DuckDBPyConnection) -> None:
    r = parse(con, FIXTURES / "conn.csv")
    assert (r.accepted, r.rejected) == (3, 0)
    rows = con.execute("SELECT label, attack_type, service, orig_bytes FROM stg ORDER BY ts").fetchall()
    assert rows == [(1, "C&C", None, 7536), (0, None, None, None), (0, None, None, 48)]


def test_parquet(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    df = pl.DataFrame(
        {
            "ts": [1709510400.25, 1709510401.0],
            "id.orig_h": ["10.0.0.1", "10.0.0.2"],
            "id.resp_h": ["10.0.0.3", "10.0.0.4"],
            "id.resp_p": [443, 99999],
            "proto": ["tcp", "tcp"],
            "extra": [1, 2],
        }
    )
    df.write_parquet(tmp_path / "conn.parquet")
    r = parse(con, tmp_path)
    assert (r.accepted, r.rejected, r.ignored_fields) == (1, 1, ["extra"])
    assert r.rejects_by_reason == {"bad_port": 1}


def test_directory_ignores_other_files(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    shutil.copy(FIXTURES / "valid.log", tmp_path / "sub" / "a.log")
    shutil.copy(FIXTURES / "conn.csv", tmp_path / "b.csv")
    (tmp_path / "README").write_text("not a log")
    (tmp_path / "LICENSE").write_text("MIT")
    r = parse(con, tmp_path)
    assert r.accepted == 6 and len(r.files) == 2
    assert con.execute("SELECT count(DISTINCT source_file) FROM stg").fetchall()[0][0] == 2


def test_empty_and_missing_paths(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(SourceError, match="nope"):
        parse(con, missing)
    empty = tmp_path / "empty.log"
    empty.write_text("")
    with pytest.raises(SourceError, match=r"empty\.log"):
        parse(con, empty)
    header_only = tmp_path / "hdr" / "conn.log"
    header_only.parent.mkdir()
    header_only.write_text("".join(line for line in (FIXTURES / "valid.log").open() if line.startswith("#")))
    with pytest.raises(SourceError, match="hdr"):
        parse(con, header_only.parent)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.md").write_text("x")
    with pytest.raises(SourceError, match="docs"):
        parse(con, tmp_path / "docs")


def test_fallback_for_mixed_line_endings(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    text = (FIXTURES / "valid.log").read_text().split("\n")
    text[8] += "\r"
    path = tmp_path / "mixed.log"
    path.write_text("\n".join(text))
    r = parse(con, path)
    assert (r.accepted, r.rejected) == (3, 0)


# --- real datasets (skipped when ../shared/datasets is absent) ---------------------------------------------------
ZEEK = SHARED / "zeek"


@pytest.mark.shared
@pytest.mark.skipif(not (ZEEK / "iot23_raw").exists(), reason="shared IoT-23 raw dataset absent")
def test_real_iot23_raw(con: duckdb.DuckDBPyConnection) -> None:
    r = parse(con, ZEEK / "iot23_raw" / "CTU-IoT-Malware-Capture-34-1" / "conn.log.labeled")
    assert (r.read, r.accepted, r.rejected) == (23145, 23145, 0)
    labels = dict(con.execute("SELECT label, count(*) FROM stg GROUP BY ALL").fetchall())
    assert labels == {0: 1923, 1: 21222}
    kinds = dict(con.execute("SELECT attack_type, count(*) FROM stg WHERE label = 1 GROUP BY ALL").fetchall())
    assert kinds == {"DDoS": 14394, "C&C": 6706, "PartOfAHorizontalPortScan": 122}


@pytest.mark.shared
@pytest.mark.skipif(not (ZEEK / "iot23_csv").exists(), reason="shared IoT-23 CSV dataset absent")
def test_real_iot23_csv(con: duckdb.DuckDBPyConnection) -> None:
    r = parse(con, ZEEK / "iot23_csv")
    assert r.rejected == 0 and r.accepted == r.read > 0
    assert all(f.path.endswith(".csv") for f in r.files)
    assert con.execute("SELECT count(*) FROM stg WHERE label IS NULL").fetchall()[0][0] == 0


@pytest.mark.shared
@pytest.mark.skipif(not (ZEEK / "trickbot_2018-11-09").exists(), reason="shared trickbot dataset absent")
def test_real_trickbot(con: duckdb.DuckDBPyConnection) -> None:
    r = parse(con, ZEEK / "trickbot_2018-11-09" / "conn.log")
    assert (r.read, r.accepted, r.rejected) == (13001, 13001, 0)
    assert "ip_proto" in r.ignored_fields
    assert con.execute("SELECT count(*) FROM stg WHERE label IS NOT NULL").fetchall()[0][0] == 0


def test_other_zeek_logs_are_skipped_not_parsed_as_conn(tmp_path: Path) -> None:
    conn = FIXTURES / "valid.log"
    (tmp_path / "conn.log").write_text(conn.read_text())
    dns = conn.read_text().replace("#path\tconn", "#path\tdns")
    (tmp_path / "dns.log").write_text(dns)
    con = duckdb.connect()
    result = parse_conn_files(con, tmp_path, dataset="t", run_id="r", staging_table="st", rejects_table="rj")
    assert [Path(f.path).name for f in result.files] == ["conn.log"]
    assert len(result.skipped_files) == 1 and "dns.log" in result.skipped_files[0]
    (tmp_path / "conn.log").unlink()
    with pytest.raises(SourceError, match="only other Zeek logs"):
        parse_conn_files(con, tmp_path, dataset="t", run_id="r", staging_table="st", rejects_table="rj")


def test_other_zeek_json_logs_are_skipped_by_name_or_path_field(tmp_path: Path) -> None:
    """Zeek JSON logs have no #path header: dns/http files must not be read as conn (they share its uids)."""
    from datetime import date

    from vigia.sources.zeek_synth import generate_conn_day
    from vigia.sources.zeek_writers import write_zeek_json

    day = generate_conn_day(date(2026, 1, 5), 300, seed=4)
    write_zeek_json(day, tmp_path / "conn.log")
    write_zeek_json(day, tmp_path / "dns.log")  # Zeek's naming
    with gzip.open(tmp_path / "http.00:00:00-01:00:00.log.gz", "wb") as gz:
        gz.write((tmp_path / "conn.log").read_bytes())  # Zeek's rotated-archive naming
    records = (tmp_path / "conn.log").read_text().splitlines()
    (tmp_path / "export.json").write_text("".join('{"_path": "ssl", ' + r[1:] + "\n" for r in records))
    con = duckdb.connect()
    result = parse(con, tmp_path)
    assert [Path(f.path).name for f in result.files] == ["conn.log"]
    assert result.read == result.accepted == 300
    skipped = sorted(Path(s.split(" (")[0]).name for s in result.skipped_files)
    assert skipped == ["dns.log", "export.json", "http.00:00:00-01:00:00.log.gz"]
    assert "(ssl log)" in " ".join(result.skipped_files)


def test_json_lines_the_parser_refuses_without_a_decode_error(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """A 5,000-digit integer (plain ValueError) and nesting deeper than the parser allows (RecursionError) are
    rejected lines, not a failed ingest."""
    good = (FIXTURES / "conn.json").read_text().splitlines()[0]
    odd = ['{"ts": 1709510400.5, "orig_bytes": ' + "9" * 5000 + "}", '{"a": ' * 100_000 + "1" + "}" * 100_000]
    (tmp_path / "conn.json").write_text("\n".join([good, *odd]) + "\n")
    r = parse(con, tmp_path / "conn.json")
    assert (r.read, r.accepted, r.rejected) == (3, 1, 2)
    assert [reason for _, reason, _ in rejects(con)] == ["malformed_json", "malformed_json"]


@pytest.mark.parametrize("fixture", ["valid.log", "conn.json", "conn.csv"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_byte_order_mark_is_ignored(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, fixture: str, gzipped: bool
) -> None:
    """A file saved with a UTF-8 byte-order mark (a Windows editor, some exporters) reads like the plain file;
    it used to lose its header (every row rejected for missing fields) or, as JSON, its first record."""
    data = b"\xef\xbb\xbf" + (FIXTURES / fixture).read_bytes()
    path = tmp_path / (f"bom_{fixture}.gz" if gzipped else f"bom_{fixture}")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    plain = parse_conn_files(duckdb.connect(), FIXTURES / fixture, dataset="t", run_id="r", staging_table="s",
                             rejects_table="rj")  # fmt: skip
    r = parse(con, path)
    assert (r.accepted, r.rejected) == (plain.accepted, plain.rejected) and r.accepted > 0


@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_and_utf32_logs_read_like_utf8(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, encoding: str, gzipped: bool
) -> None:
    """A log saved as "Unicode" by a Windows tool (byte-order mark, UTF-16/32), gzipped or not, used to lose
    every row as 'missing required fields'; it reads like the UTF-8 file, and its rows and rejects name it."""
    text = (FIXTURES / "bad.log").read_text()
    path = tmp_path / ("conn.log.gz" if gzipped else "conn.log")
    path.write_bytes(gzip.compress(text.encode(encoding)) if gzipped else text.encode(encoding))
    plain = parse_conn_files(duckdb.connect(), FIXTURES / "bad.log", dataset="t", run_id="r", staging_table="s",
                             rejects_table="rj")  # fmt: skip
    r = parse(con, path)
    assert (r.read, r.accepted, r.rejected, r.rejects_by_reason) == (
        plain.read, plain.accepted, plain.rejected, plain.rejects_by_reason
    ) and r.rejected > 0
    assert [f.path for f in r.files] == [str(path)]
    assert {row[0] for row in con.execute("SELECT DISTINCT source_file FROM stg").fetchall()} == {str(path)}
    assert {row[0] for row in con.execute("SELECT DISTINCT source_file FROM rejects").fetchall()} == {str(path)}


def _with_fields(line: str, **values: str) -> str:
    fields = line.split("\t")
    for index, value in values.items():
        fields[int(index[1:])] = value
    return "\t".join(fields)


@pytest.mark.parametrize("fixture", ["valid.log", "conn.json"])
def test_unset_host_port_or_protocol_is_a_rejected_record(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, fixture: str
) -> None:
    """A record with its originator, responder, responder port or protocol unset used to be accepted, then
    failed `stg_conn`'s blocking not-null check, and so stopped the whole day; it is a rejected record."""

    if fixture == "valid.log":
        lines = (FIXTURES / fixture).read_text().splitlines()
        first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        good = lines[first]
        bad = [_with_fields(good, f2="-"), _with_fields(good, f4="(empty)"), _with_fields(good, f5="-"),
               _with_fields(good, f6="-")]  # fmt: skip
        lines[first:first] = bad
        text = "\n".join(lines) + "\n"
    else:
        good_obj = json.loads((FIXTURES / fixture).read_text().splitlines()[0])
        bad_objs = [{**good_obj, "id.orig_h": None}, {**good_obj, "id.resp_h": ""}, {**good_obj, "id.resp_p": None},
                    {k: v for k, v in good_obj.items() if k != "proto"}]  # fmt: skip
        text = (FIXTURES / fixture).read_text() + "".join(json.dumps(o) + "\n" for o in bad_objs)
    path = tmp_path / fixture
    path.write_text(text)
    plain = parse_conn_files(duckdb.connect(), FIXTURES / fixture, dataset="t", run_id="r", staging_table="s",
                             rejects_table="rj")  # fmt: skip
    r = parse(con, path)
    assert (r.accepted, r.rejected) == (plain.accepted, plain.rejected + 4)
    reasons = sorted(reason for _, reason, _ in rejects(con) if reason.startswith("missing_value"))
    assert reasons == [f"missing_value: {f}" for f in ("id.orig_h", "id.resp_h", "id.resp_p", "proto")]
    nulls = con.execute("SELECT count(*) FROM stg WHERE orig_h IS NULL OR resp_h IS NULL OR resp_p IS NULL "
                        "OR proto IS NULL OR orig_h = '' OR resp_h = ''").fetchone()[0]  # fmt: skip
    assert nulls == 0


def test_json_lone_surrogate_escape_is_a_bad_encoding_reject(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """``"\\ud800"`` is legal JSON but no UTF-8 text can hold it: one such line used to fail the whole file
    with UnicodeEncodeError; like invalid UTF-8 bytes, it is a rejected line. A valid escaped pair is kept."""
    good = (FIXTURES / "conn.json").read_text().splitlines()[0]
    lone = good.replace('"service":"dns"', '"service":"d\\ud800"')
    pair = good.replace('"service":"dns"', '"service":"\\ud83d\\ude00"').replace("CVoVr04", "CPair04")
    (tmp_path / "conn.json").write_text("\n".join([good, lone, pair]) + "\n")
    r = parse(con, tmp_path / "conn.json")
    assert (r.read, r.accepted, r.rejected) == (3, 2, 1)
    assert [reason for _, reason, _ in rejects(con)] == ["bad_encoding: lone UTF-16 surrogate escape"]
    assert con.execute("SELECT service FROM stg ORDER BY service").fetchall() == [("dns",), ("\U0001f600",)]


def test_gzipped_utf16_log_cut_short_is_reported_under_its_own_name(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    data = gzip.compress((FIXTURES / "valid.log").read_text().encode("utf-16"))
    path = tmp_path / "conn.log.gz"
    path.write_bytes(data[: len(data) - 12])  # the trailer and a little of the stream missing
    r = parse(con, path)
    assert r.truncated_files == [str(path)] and r.accepted >= 1


@pytest.mark.parametrize("fixture", ["valid.log", "conn.json"])
def test_byte_and_packet_counts_beyond_2_53_are_rejected(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, fixture: str
) -> None:
    """A count near the BIGINT limit (9223372036854775807) used to be accepted and then overflowed
    `stg_conn`'s total_bytes (orig_bytes + resp_bytes), failing the day; above 2^53 (9 PB in one connection,
    where doubles stop holding integers) a count is a `bad_number` reject."""
    values = [2**53, 2**53 + 1, 2**63 - 1]
    if fixture == "valid.log":
        lines = (FIXTURES / fixture).read_text().splitlines()
        first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        lines[first:first] = [_with_fields(lines[first], f9=str(v)) for v in values]
        text = "\n".join(lines) + "\n"
    else:
        good_obj = json.loads((FIXTURES / fixture).read_text().splitlines()[0])
        extra = "".join(json.dumps({**good_obj, "orig_bytes": v}) + "\n" for v in values)
        text = (FIXTURES / fixture).read_text() + extra
    (tmp_path / fixture).write_text(text)
    plain = parse_conn_files(duckdb.connect(), FIXTURES / fixture, dataset="t", run_id="r", staging_table="s",
                             rejects_table="rj")  # fmt: skip
    r = parse(con, tmp_path / fixture)
    assert (r.accepted, r.rejected) == (plain.accepted + 1, plain.rejected + 2)
    assert [reason for _, reason, _ in rejects(con)] == ["bad_number: orig_bytes"] * 2
    assert con.execute("SELECT max(orig_bytes) FROM stg").fetchone()[0] == 2**53


@pytest.mark.parametrize("gzipped", [False, True])
def test_logs_concatenated_across_a_zeek_upgrade(con: duckdb.DuckDBPyConnection, tmp_path: Path, gzipped: bool) -> None:
    """Zeek 6 added ``ip_proto`` to conn.log: ``cat`` of a 5.x and a 6.x log holds two headers, and every line
    under the second used to be a wrong_field_count reject; each line is now read with the header above it."""
    old = (FIXTURES / "valid.log").read_text().splitlines()
    new = []
    for line in old:
        if line.startswith("#fields"):
            line += "\tip_proto"
        elif line.startswith("#types"):
            line += "\tcount"
        elif not line.startswith("#"):
            line += "\t6"
        new.append(line)
    text = "\n".join(old + new) + "\n"
    path = tmp_path / ("conn.log.gz" if gzipped else "conn.log")
    path.write_bytes(gzip.compress(text.encode()) if gzipped else text.encode())
    r = parse(con, path)
    assert (r.read, r.accepted, r.rejected) == (6, 6, 0)
    assert "ip_proto" in r.ignored_fields
    rows = con.execute("SELECT uid, orig_bytes, history, count(*) FROM stg GROUP BY ALL ORDER BY uid").fetchall()
    assert ("CVoVr04tJFk1oAfI0d", 43, "Dd", 2) in rows and len(rows) == 3  # both parts, the same values


def test_a_later_header_may_add_a_known_field(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """The first part lacks ``history``: its rows get none, the second part's rows keep theirs."""
    full = (FIXTURES / "valid.log").read_text().splitlines()
    names = next(line for line in full if line.startswith("#fields")).split("\t")[1:]
    drop = names.index("history") + 1  # position in the tab-split line (the "#fields" / data offset)

    def without_history(line: str) -> str:
        if line.startswith(("#fields", "#types")):
            return "\t".join(p for i, p in enumerate(line.split("\t")) if i != drop)
        if line.startswith("#"):
            return line
        return "\t".join(p for i, p in enumerate(line.split("\t")) if i != drop - 1)

    (tmp_path / "conn.log").write_text("\n".join([*map(without_history, full), *full]) + "\n")
    r = parse(con, tmp_path / "conn.log")
    assert (r.read, r.accepted, r.rejected) == (6, 6, 0)
    histories = sorted(con.execute("SELECT history FROM stg").fetchall(), key=str)
    assert histories.count((None,)) == 3 and ("Dd",) in histories


_CSV_HEADER = ("ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,service,duration,orig_bytes,resp_bytes,"
               "conn_state,history,orig_pkts,resp_pkts,label")
_CSV_LINES = [
    "1540469303,C1,192.168.1.2,58687,10.0.0.1,123,udp,,0.114184,48,48,SF,Dd,1,1,benign",
    "1540469304.5,C2,192.168.1.2,58688.0,10.0.0.1,53.0,udp,dns,-,48.0,,SF,Dd,1,1,Malicious",  # pandas-style floats
    "2018-10-25T12:08:25+00:00,C3,192.168.1.2,1,10.0.0.1,80,tcp,http,1.5,1,2,S0,S,1,0,-",  # ISO time
    '1540469305,"C4",192.168.1.2,2,10.0.0.1,"443",tcp,ssl,0.1,1,2,SF,"ShADad",3,3,benign',  # quoted cells
    "1540469306,C5,192.168.1.2,3,10.0.0.1,70000,tcp,,0.1,1,2,SF,S,1,1,benign",  # port out of range
    "1540469307,C6,192.168.1.2,4,10.0.0.1,22,tcp,,-1,1,2,SF,S,1,1,benign",  # negative duration
    "1540469308,C7,192.168.1.2,5,,22,tcp,,0.1,1,2,SF,S,1,1,benign",  # no responder
    "100.5,C8,192.168.1.2,6,10.0.0.1,22,tcp,,0.1,1,2,SF,S,1,1,benign",  # 1970
    "1540469309,C9,192.168.1.2,7,10.0.0.1,22,tcp,,0.1,x,2,SF,S,1,1,benign",  # text count
    "1540469310,C10,192.168.1.2,8,10.0.0.1,22,tcp",  # too few fields
    "1540469311,C11,192.168.1.2,9,10.0.0.1,22,tcp,,0.1,1,2,SF,S,1,1,benign,extra",  # too many
    "abc,C12,192.168.1.2,10,10.0.0.1,22,tcp,,0.1,1,2,SF,S,1,1,benign",  # not a time
]


def test_a_csv_read_by_duckdb_gives_the_line_parsers_rows_and_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vigia.sources.zeek_files as zeek_files

    path = tmp_path / "conn.csv"
    path.write_text("\n".join([_CSV_HEADER, *_CSV_LINES]) + "\n")

    def read(python: bool) -> tuple[ParseResult, list[tuple], list[tuple]]:
        c = duckdb.connect()
        line_parser, loaded = zeek_files._load_python, []

        def by_line(ctx: object, spec: object) -> None:
            loaded.append(spec)
            line_parser(ctx, spec)

        with monkeypatch.context() as m:
            m.setattr(zeek_files, "_load_python", by_line)
            if python:
                m.setattr(zeek_files, "_load_fast", by_line)
            result = parse(c, path)
            assert bool(loaded) == python  # DuckDB's reader took the file, without falling back to the line parser
        rows = c.execute(f"SELECT {', '.join(CONN_COLUMNS)} FROM stg ORDER BY uid").fetchall()
        return result, rows, rejects(c)

    fast, rows, found = read(python=False)
    assert (fast.accepted, fast.rejected) == (4, 8)
    assert read(python=True)[1:] == (rows, found)
    assert [(ln, reason.split(":")[0]) for ln, reason, _ in found] == [
        (6, "bad_port"), (7, "bad_number"), (8, "missing_value"), (9, "bad_timestamp"), (10, "bad_number"),
        (11, "wrong_field_count"), (12, "wrong_field_count"), (13, "bad_timestamp"),
    ]


@pytest.mark.parametrize(("name", "matched"), [("conn?", "conn1"), ("conn*", "conn1"), ("conn[1]", "conn1"),
                                               ("[c]onn", "conn")])
@pytest.mark.parametrize("kind", ["log", "log.gz", "csv", "parquet"])
def test_a_file_name_with_glob_characters_is_read_as_that_one_file(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, name: str, matched: str, kind: str
) -> None:
    """DuckDB's readers take a path as a glob pattern; a file is read alone whatever its name (``matched``: a
    file the name matches as a pattern)."""
    tsv = (FIXTURES / "valid.log").read_bytes()
    content = {"log": tsv, "log.gz": gzip.compress(tsv), "csv": (FIXTURES / "conn.csv").read_bytes()}
    target, sibling = tmp_path / f"{name}.{kind}", tmp_path / f"{matched}.{kind}"
    if kind == "parquet":
        frame = pl.DataFrame({"ts": [1709510400.25], "id.orig_h": ["10.0.0.1"], "id.resp_h": ["10.0.0.3"],
                              "id.resp_p": [443], "proto": ["tcp"]})
        frame.write_parquet(target)
        pl.concat([frame] * 5).write_parquet(sibling)
    else:
        target.write_bytes(content[kind])
        sibling.write_bytes(content[kind] * 2 if kind != "log.gz" else gzip.compress(tsv * 2))
    expected = {"log": 3, "log.gz": 3, "csv": 3, "parquet": 1}[kind]
    r = parse(con, target)
    assert (r.read, r.accepted) == (expected, expected)
    assert con.execute("SELECT DISTINCT source_file FROM stg").fetchall() == [(str(target),)]

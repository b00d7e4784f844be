"""The direct conn-file ingest (one pass into ``raw_conn``) against the staged one: same rows, rejects and counts.

Each case ingests the same source into two warehouses, one with the direct path allowed and one with it
turned off, and records which path each took (the staged path calls ``parse_conn_files``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.staging import dataset_config
from vigia.pipeline import ingest as ingest_module
from vigia.pipeline.ingest import FILES_TABLE, IngestResult, ingest_conn
from vigia.sources.errors import SourceError
from vigia.sources.zeek_synth import generate_conn_day
from vigia.sources.zeek_writers import _zeek_frame, write_zeek_tsv

DS = "direct"


def _write_day(path: Path, day: int, rows: int = 300) -> list[str]:
    write_zeek_tsv(generate_conn_day(date(2026, 1, day), rows, seed=day), path)
    return path.read_text().splitlines()


def _data_line(lines: list[str], k: int) -> int:
    """Index of the k-th data line (0-based) of a Zeek TSV's lines."""
    return [i for i, line in enumerate(lines) if not line.startswith("#")][k]


def _set_field(lines: list[str], k: int, field: str, value: str) -> None:
    names = next(line for line in lines if line.startswith("#fields")).split("\t")[1:]
    i = _data_line(lines, k)
    parts = lines[i].split("\t")
    parts[names.index(field)] = value
    lines[i] = "\t".join(parts)


def _ingest(
    tmp_path: Path, name: str, source: Path, keys: list[str], monkeypatch: pytest.MonkeyPatch, *, direct: bool,
    before: Sequence[list[str]] = (),
) -> tuple[duckdb.DuckDBPyConnection, IngestResult, list[str]]:
    """Ingest ``source`` for ``keys`` (after the ingests of ``before``) into a fresh warehouse; returns the
    connection, the last result and the path each ingest took."""
    paths: list[str] = []
    staged = ingest_module.parse_conn_files

    def parse(*args: Any, **kwargs: Any) -> Any:
        paths[-1] = "staged"
        return staged(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(ingest_module, "parse_conn_files", parse)
        if not direct:
            m.setattr(ingest_module, "plan_direct", lambda *a, **k: None)
        con = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
        cfg = dataset_config(DS, source={"type": "zeek_files", "path": str(source)})
        result = None
        for i, run_keys in enumerate([*before, keys]):
            paths.append("direct")
            result = ingest_conn(con, cfg, run_keys, f"r{i}")
    assert result is not None
    return con, result, paths


def _summary(result: IngestResult) -> dict[str, Any]:
    out = {k: v for k, v in vars(result).items() if k not in ("seconds", "files", "method")}
    out["files"] = sorted((Path(str(f["path"])).name, f["format"], f["read"], f["accepted"], f["rejected"])
                          for f in result.files)
    out["files_unchanged"] = sorted(Path(p).name for p in result.files_unchanged)
    return out


def _same_tables(a: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection) -> None:
    for table, drop in (("raw_conn", ""), ("raw_conn_rejects", "EXCLUDE (run_id, rejected_at)"),
                        (FILES_TABLE, "EXCLUDE (run_id, parsed_at)")):
        rows_a = sorted(a.execute(f"SELECT * {drop} FROM {DS}.{table}").fetchall(), key=repr)
        rows_b = sorted(b.execute(f"SELECT * {drop} FROM {DS}.{table}").fetchall(), key=repr)
        assert rows_a == rows_b, table


def _compare(tmp_path: Path, source: Path, keys: list[str], monkeypatch: pytest.MonkeyPatch,
             before: Sequence[list[str]] = ()) -> tuple[IngestResult, list[str], duckdb.DuckDBPyConnection]:
    con_d, res_d, paths = _ingest(tmp_path, "d", source, keys, monkeypatch, direct=True, before=before)
    con_s, res_s, staged_paths = _ingest(tmp_path, "s", source, keys, monkeypatch, direct=False, before=before)
    assert set(staged_paths) == {"staged"}
    assert _summary(res_d) == _summary(res_s)
    _same_tables(con_d, con_s)
    return res_d, paths, con_d


def test_clean_files_go_straight_into_the_raw_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "zeek"
    src.mkdir()
    _write_day(src / "conn.2026-01-05.log", 5)
    lines = _write_day(src / "conn.2026-01-06.log", 6)
    # Lines DuckDB's reader rejects itself: a wrong field count, a non-numeric port, a truncated last line.
    lines[_data_line(lines, 3)] += "\textra"
    _set_field(lines, 7, "id.resp_p", "http")
    lines.insert(-1, lines[_data_line(lines, 9)][:25])
    (src / "conn.2026-01-06.log").write_text("\n".join(lines) + "\n")

    result, paths, con = _compare(tmp_path, src, ["2026-01-05", "2026-01-06"], monkeypatch)
    assert paths == ["direct"] and result.method == "direct"
    assert result.read == 601 and result.rejected == 3 and result.accepted == result.written == 598
    assert result.rows_by_day == {"2026-01-05": 300, "2026-01-06": 298}
    assert result.rejects_by_reason == {"bad_port": 1, "wrong_field_count": 2}
    lines_rejected = con.execute(f"SELECT line_number FROM {DS}.raw_conn_rejects ORDER BY 1").fetchall()
    assert [n for (n,) in lines_rejected] == [_data_line(lines, k) + 1 for k in (3, 7)] + [len(lines) - 1]


def test_a_row_the_sql_checks_reject_sends_the_source_through_the_staged_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _write_day(tmp_path / "conn.log", 5)
    _set_field(lines, 250, "ts", "100.5")  # 1970: parses as a number, rejected by the SQL checks
    _set_field(lines, 251, "proto", "(empty)")
    (tmp_path / "conn.log").write_text("\n".join(lines) + "\n")

    # A partition the source does not hold must keep its rows when the direct attempt is rolled back.
    other = tmp_path / "other.log"
    _write_day(other, 6, rows=50)
    result, paths, con = _compare(tmp_path, tmp_path / "conn.log", ["2026-01-05"], monkeypatch)
    assert paths == ["staged"] and result.method == "staged"
    assert result.rejects_by_reason == {"bad_timestamp": 1, "missing_value": 1} and result.accepted == 298
    assert con.execute(f"SELECT count(*) FROM {DS}.raw_conn").fetchall()[0][0] == 298
    found = con.execute(f"SELECT line_number, reason FROM {DS}.raw_conn_rejects ORDER BY 1").fetchall()
    assert [n for n, _ in found] == [_data_line(lines, 250) + 1, _data_line(lines, 251) + 1]


def test_an_unchanged_file_of_other_days_is_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "zeek"
    src.mkdir()
    _write_day(src / "conn.2026-01-05.log", 5)
    _write_day(src / "conn.2026-01-06.log", 6)
    result, paths, _ = _compare(tmp_path, src, ["2026-01-06"], monkeypatch, before=[["2026-01-05", "2026-01-06"]])
    assert paths == ["direct", "direct"]  # the 5th's file is known to hold none of the 6th: not read
    assert [Path(p).name for p in result.files_unchanged] == ["conn.2026-01-05.log"]


def test_rows_outside_the_requested_days_send_the_source_through_the_staged_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    five, six = _write_day(tmp_path / "a.log", 5), _write_day(tmp_path / "b.log", 6)
    (tmp_path / "conn.log").write_text("\n".join([*five[:-1], *(line for line in six if not line.startswith("#"))])
                                       + "\n")
    for name in ("a.log", "b.log"):
        (tmp_path / name).unlink()
    six_rows = sum(not line.startswith("#") for line in six)
    result, paths, con = _compare(tmp_path, tmp_path / "conn.log", ["2026-01-06"], monkeypatch)
    assert paths == ["staged"]
    assert result.rows_by_day == {"2026-01-06": six_rows} and result.out_of_range == result.read - six_rows > 0
    assert con.execute(f"SELECT count(*) FROM {DS}.raw_conn").fetchall()[0][0] == six_rows


def test_a_second_fields_header_sends_the_file_through_the_staged_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _write_day(tmp_path / "a.log", 5, rows=20)
    second = _write_day(tmp_path / "b.log", 5, rows=20)
    # Zeek upgraded mid-file: the second header drops a field, so its lines have one field fewer.
    fields = next(line for line in second if line.startswith("#fields")).split("\t")
    drop = fields.index("missed_bytes")
    reshaped = ["\t".join(p for j, p in enumerate(line.split("\t")) if j != drop) if not line.startswith("#")
                or line.startswith(("#fields", "#types")) else line for line in second]
    (tmp_path / "conn.log").write_text("\n".join([*first[:-1], *reshaped]) + "\n")
    (tmp_path / "a.log").unlink()
    (tmp_path / "b.log").unlink()
    rows = sum(not line.startswith("#") for line in [*first, *second])
    result, paths, _ = _compare(tmp_path, tmp_path / "conn.log", ["2026-01-05"], monkeypatch)
    assert paths == ["staged"] and result.rejected == 0 and result.accepted == rows


def test_a_source_without_data_rows_fails_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _write_day(tmp_path / "conn.log", 5, rows=5)
    (tmp_path / "conn.log").write_text("\n".join(line for line in lines if line.startswith("#")) + "\n")
    with pytest.raises(SourceError, match="no data rows in conn source"):
        _ingest(tmp_path, "d", tmp_path / "conn.log", ["2026-01-05"], monkeypatch, direct=True)
    # The rolled-back direct attempt leaves no empty raw table behind (the staged path creates none either).
    con = duckdb.connect(str(tmp_path / "d.duckdb"))
    assert con.execute(f"SELECT count(*) FROM duckdb_tables() WHERE schema_name = '{DS}' AND table_name = 'raw_conn'"
                       ).fetchall()[0][0] == 0


def test_a_csv_with_a_header_goes_straight_into_the_raw_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _zeek_frame(generate_conn_day(date(2026, 1, 5), 200, seed=3), labels=True, ts_as_text=True)
    frame.write_csv(tmp_path / "conn.csv", null_value="-")
    lines = (tmp_path / "conn.csv").read_text().splitlines()
    lines[5] = lines[5].replace(",", ",,", 1)  # one field too many: the reader rejects the line itself
    (tmp_path / "conn.csv").write_text("\n".join(lines) + "\n")
    result, paths, _ = _compare(tmp_path, tmp_path / "conn.csv", ["2026-01-05"], monkeypatch)
    assert paths == ["direct"]
    assert result.rejects_by_reason == {"wrong_field_count": 1} and result.accepted == len(lines) - 2


def test_a_failed_write_leaves_the_rejects_as_they_were(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _write_day(tmp_path / "conn.log", 5, rows=20)
    lines[_data_line(lines, 0)] += "\textra"  # a reader reject
    _set_field(lines, 1, "ts", "100.5")  # an SQL-level reject: the direct attempt rolls back, the staged path reads
    (tmp_path / "conn.log").write_text("\n".join(lines) + "\n")
    for direct in (True, False):
        con = duckdb.connect(str(tmp_path / f"{direct}.duckdb"))
        con.execute(f"CREATE SCHEMA {DS}; CREATE TABLE {DS}.raw_conn AS SELECT 1 AS old_col, DATE '2026-01-05' AS day")
        con.close()
        with pytest.raises(ValueError, match="differ from the existing table"):
            _ingest(tmp_path, str(direct), tmp_path / "conn.log", ["2026-01-05"], monkeypatch, direct=direct)
        con = duckdb.connect(str(tmp_path / f"{direct}.duckdb"))
        assert con.execute(f"SELECT count(*) FROM {DS}.raw_conn_rejects").fetchall()[0][0] == 0
        assert con.execute(f"SELECT * FROM {DS}.raw_conn").fetchall() == [(1, date(2026, 1, 5))]


@pytest.mark.parametrize("name", ["conn?.log", "conn*.log", "conn[1].log"])
def test_a_file_name_with_glob_characters_is_read_as_that_one_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    src = tmp_path / "zeek"
    src.mkdir()
    rows = sum(not line.startswith("#") for line in _write_day(src / name, 5, rows=40))
    _write_day(src / "conn1.log", 5, rows=70)  # matched by every pattern above if the name were read as one
    result, paths, con = _compare(tmp_path, src / name, ["2026-01-05"], monkeypatch)
    assert paths == ["direct"] and (result.read, result.accepted) == (rows, rows)
    assert con.execute(f"SELECT DISTINCT source_file FROM {DS}.raw_conn").fetchall() == [(str(src / name),)]

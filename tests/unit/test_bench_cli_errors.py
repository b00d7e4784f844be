"""Bad input to `vigia bench credit` / `vigia bench http`: one clear line on stderr and exit code 2."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import polars as pl
import pytest

from vigia.bench.http import load_csic
from vigia.cli import main


def _request(i: int, **fields: object) -> str:
    row = {"id": i, "split": "train", "is_anomalous": 0, "method": "GET", "path": f"/p{i}", "query": "", "body": ""}
    row.update(headers={"User-Agent": "ua"}, **fields)
    return json.dumps({k: v for k, v in row.items() if v is not None})


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    return err


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIA_DEBUG", raising=False)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([_request(i, is_anomalous=None) for i in range(5)], "requests lack the field(s) ['is_anomalous']"),
        ([_request(0), _request(1)[:-1] + ",}", _request(2)], "h.jsonl, line 2: not valid JSON"),
        ([], "h.jsonl: empty file, no request"),
        ([_request(0), _request(1, is_anomalous="maybe")], "1 request(s) with an is_anomalous that is not 0/1"),
    ],
)
def test_bench_http_input_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], message: str
) -> None:
    path = _jsonl(tmp_path / "h.jsonl", lines)
    assert message in _one_line_error(capsys, ["bench", "http", str(path)])


def test_csic_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + "".join(_request(i) + "\n" for i in range(3)).encode())
    frame = load_csic(path)
    assert frame.height == 3 and frame["label"].to_list() == [0, 0, 0] and frame["user_agent"][0] == "ua"


def test_bench_credit_taiwan_layout_names_missing_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = ",".join(["ID", *(f"f{i}" for i in range(1, 24)), "Y"])
    (tmp_path / "g.csv").write_text(header + "\n" + ",".join(["1", *["0"] * 23, "1"]) + "\n")
    err = _one_line_error(capsys, ["bench", "credit", str(tmp_path / "g.csv"), "--format", "taiwan"])
    assert "is not in the Taiwan layout" in err and "X1 (LIMIT_BAL)" in err


def test_bench_credit_wrong_target_says_rows_were_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.csv").write_text("ID,x,Y\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(1, 121)))
    err = _one_line_error(capsys, ["bench", "credit", str(tmp_path / "c.csv"), "--target", "ID"])
    assert "119 of 120 rows were dropped" in err and "not 1/0 (e.g. '2', '3'" in err


def test_bench_credit_too_few_rows_left_after_drops(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = ["1"] * 3 + ["0"] * 60 + ["?"] * 30
    (tmp_path / "c.csv").write_text("x,Y\n" + "".join(f"{i},{y}\n" for i, y in enumerate(labels)))
    err = _one_line_error(capsys, ["bench", "credit", str(tmp_path / "c.csv")])
    assert "training needs at least" in err and "30 of 93 rows were dropped" in err and "30 with it missing" in err


def test_polars_errors_are_input_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object, **__: object) -> dict:
        raise pl.exceptions.ComputeError("cannot parse the file\n\nThis error occurred in ...")

    monkeypatch.setattr("vigia.bench.http.run_http_benchmark", fail)
    err = _one_line_error(capsys, ["bench", "http", str(tmp_path)])
    assert err == "vigia bench http: error: cannot parse the file\n"
    monkeypatch.setenv("VIGIA_DEBUG", "1")
    with pytest.raises(pl.exceptions.ComputeError):
        main(["bench", "http", str(tmp_path)])

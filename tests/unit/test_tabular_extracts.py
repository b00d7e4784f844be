"""Extract folders: merge, extra / missing columns, wrong types, bad targets, empty extracts, newest batch."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from vigia.schema import REJECT_COLUMNS
from vigia.sources.errors import SourceError
from vigia.tabular.extracts import newest_extract, read_extracts, read_text_table

HEADER = "id,income,segment,target\n"


def _rows(start: int, n: int) -> str:
    return "".join(f"{i},{1000 + i},{'ab'[i % 2]},{i % 2}\n" for i in range(start, start + n))


def _read(folder: Path, **kw):
    return read_extracts(folder, target="target", id_column="id", dataset="cust", run_id="r1", **kw)


def test_merges_sorted_parts_with_source_file(tmp_path: Path) -> None:
    for i in (3, 1, 2):
        (tmp_path / f"p{i}.csv").write_text(HEADER + _rows(i * 100, 20))
    pl.DataFrame({"id": ["x1", "x2"], "income": [5.0, 6.0], "segment": ["a", "b"], "target": [0, 1]}).write_parquet(
        tmp_path / "p4.parquet"
    )
    res = _read(tmp_path)
    assert res.files == ["p1.csv", "p2.csv", "p3.csv", "p4.parquet"]
    assert res.frame.height == 62 and res.rows_read == 62
    assert res.frame["source_file"].unique(maintain_order=True).to_list() == res.files
    assert res.numeric_columns == ["income"] and res.categorical_columns == ["segment"]
    assert res.frame.schema["income"] == pl.Float64 and res.frame.schema["target"] == pl.Int8
    assert res.frame["id"][0] == "100"


def test_extra_columns_ignored_and_reported(tmp_path: Path) -> None:
    (tmp_path / "p1.csv").write_text(HEADER + _rows(0, 5))
    (tmp_path / "p2.csv").write_text("id,income,segment,target,comment\n" + "9,5,a,1,hello\n")
    res = _read(tmp_path)
    assert res.extra_columns == {"p2.csv": ["comment"]}
    assert "comment" not in res.frame.columns and res.frame.height == 6


def test_missing_expected_columns_named(tmp_path: Path) -> None:
    (tmp_path / "p1.csv").write_text("id,segment,target\n1,a,0\n")
    with pytest.raises(ValueError, match=r"missing expected columns \['income'\]"):
        _read(tmp_path, expected_columns=["id", "income", "segment", "target"])


def test_text_in_numeric_column_becomes_null_and_is_counted(tmp_path: Path) -> None:
    (tmp_path / "p1.csv").write_text(HEADER + _rows(0, 30) + "99,oops,a,1\n100,NA,b,0\n")
    res = _read(tmp_path)
    assert res.frame.height == 32  # rows kept
    assert res.type_errors == {"income": {"count": 1, "examples": ["oops"]}}  # NA is missing, not an error
    assert res.frame["income"].null_count() == 2


def test_declared_kinds_override_inference(tmp_path: Path) -> None:
    (tmp_path / "p1.csv").write_text(HEADER + _rows(0, 4) + "5,x,a,1\n6,y,a,1\n")
    res = _read(tmp_path, expected_columns={"id": "categorical", "income": "numeric", "segment": "categorical"})
    assert res.type_errors["income"]["count"] == 2 and res.numeric_columns == ["income"]


def test_bad_target_rows_rejected_with_reason(tmp_path: Path) -> None:
    (tmp_path / "p1.csv").write_text(HEADER + _rows(0, 3) + "7,10,a,\n8,11,b,maybe\n")
    res = _read(tmp_path)
    assert res.frame.height == 3
    rej = res.rejects
    assert list(rej.columns) == list(REJECT_COLUMNS)
    assert rej["line_number"].to_list() == [5, 6]
    assert "missing" in rej["reason"][0] and "'maybe'" in rej["reason"][1]
    assert rej["dataset"].unique().to_list() == ["cust"] and rej["run_id"].unique().to_list() == ["r1"]


def test_empty_extract_skipped_and_reported_all_empty_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "p1.csv").write_text(HEADER + _rows(0, 3))
    (tmp_path / "p2.csv").write_text(HEADER)
    (tmp_path / "p3.csv").write_text("")
    res = _read(tmp_path)
    assert res.skipped_files == {"p2.csv": "empty extract: no data rows", "p3.csv": "empty extract: no data rows"}
    assert res.frame.height == 3
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "p1.csv").write_text(HEADER)
    with pytest.raises(SourceError, match="no data rows"):
        _read(empty)
    (tmp_path / "none").mkdir()
    with pytest.raises(SourceError, match="no extract"):
        _read(tmp_path / "none")


def test_inference_batch_without_target_and_newest_extract(tmp_path: Path) -> None:
    a, b = tmp_path / "batch_2026-01-05.csv", tmp_path / "batch_2026-01-06.csv"
    a.write_text("id,income,segment\n1,5,a\n")
    b.write_text("id,income,segment\n2,6,b\n")
    os.utime(a, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    os.utime(b, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    assert newest_extract(tmp_path) == a  # mtime first
    os.utime(b, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    assert newest_extract(tmp_path) == b  # same mtime: greatest name
    res = read_extracts(tmp_path, target=None, id_column="id", dataset="cust", run_id="r")
    assert "target" not in res.frame.columns and res.frame.height == 2


def test_batch_outcomes_are_optional_labels(tmp_path: Path) -> None:
    """A batch may carry outcomes: kept as labels, missing or invalid ones leave the row unlabelled (never lost)."""
    (tmp_path / "b.csv").write_text("id,income,segment,target\n1,10,a,1\n2,20,b,\n3,30,a,NA\n4,40,b,maybe\n5,50,a,0\n")
    kinds = {"id": "categorical", "income": "numeric", "segment": "categorical"}
    res = _read(tmp_path / "b.csv", expected_columns=kinds, target_optional=True)
    assert res.frame["target"].to_list() == [1, None, None, None, 0]
    assert res.rows_accepted == 5 and res.rejects.height == 0
    assert res.labelled_rows == 2 and res.invalid_targets == {"count": 1, "examples": ["maybe"]}
    assert res.summary()["labelled_rows"] == 2

    (tmp_path / "b.csv").write_text("id,income,segment\n1,10,a\n2,20,b\n")  # no outcomes at all
    res = _read(tmp_path / "b.csv", expected_columns=kinds, target_optional=True)
    assert res.frame["target"].null_count() == 2 and res.labelled_rows == 0 and res.extra_columns == {}


def test_fingerprint_changes_with_any_file_change_but_not_with_reading(tmp_path: Path) -> None:
    from vigia.tabular.extracts import fingerprint, list_extracts

    (tmp_path / "a.csv").write_text("id,x,target\n1,2,0\n")
    (tmp_path / "b.csv").write_text("id,x,target\n2,3,1\n")
    files = list_extracts(tmp_path)
    base = fingerprint(files)
    assert fingerprint(list(reversed(files))) == base
    read_extracts(tmp_path, target="target", id_column="id", dataset="d", run_id="r")
    assert fingerprint(list_extracts(tmp_path)) == base
    os.utime(tmp_path / "a.csv", (1_000_000, 1_000_000))
    touched = fingerprint(list_extracts(tmp_path))
    assert touched != base
    (tmp_path / "c.csv").write_text("id,x,target\n3,4,0\n")
    assert fingerprint(list_extracts(tmp_path)) not in (base, touched)
    assert fingerprint([tmp_path / "a.csv"]) != fingerprint([tmp_path / "b.csv"])


def test_non_finite_numbers_are_type_errors(tmp_path: Path) -> None:
    """``inf``, ``-Infinity`` and ``1e400`` parse as floats but no model can use them: nulled and counted."""
    (tmp_path / "p1.csv").write_text(
        "id,income,target\n1,100,0\n2,inf,1\n3,1e400,0\n4,-Infinity,1\n5,250.5,0\n6,NaN,1\n"
    )
    res = read_extracts(tmp_path, target="target", id_column="id", dataset="d", run_id="r")
    assert res.frame["income"].to_list() == [100.0, None, None, None, 250.5, None]
    assert res.type_errors == {"income": {"count": 3, "examples": ["inf", "1e400", "-Infinity"]}}
    assert res.numeric_columns == ["income"] and res.rows_accepted == 6


def test_numbers_too_large_to_standardise_are_type_errors(tmp_path: Path) -> None:
    """A finite ``1.797e308`` (a sentinel some exports write for "unknown") used to reach the model, whose
    scaler's squares overflowed: training failed with scikit-learn's "Input X contains NaN". Beyond ±1e150
    the cell is a type error, and a model trains on the extract."""
    from vigia.tabular.model import fit_and_select
    from vigia.tabular.synth import generate_customers

    frame = generate_customers(600, seed=3).with_columns(pl.col("income").cast(pl.String))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("1.7976931348623157e308"))
        .when(pl.int_range(pl.len()) == 2).then(pl.lit("-1e151"))
        .when(pl.int_range(pl.len()) == 3).then(pl.lit("1e150"))
        .otherwise(pl.col("income")).alias("income")
    )  # fmt: skip
    frame.write_csv(tmp_path / "p1.csv")
    res = read_extracts(tmp_path, target="target", id_column="customer_id", dataset="d", run_id="r")
    assert res.type_errors["income"] == {"count": 2, "examples": ["1.7976931348623157e308", "-1e151"]}
    assert res.frame["income"][1:4].to_list() == [None, None, 1e150]
    best, _ = fit_and_select(res.frame.drop("source_file", "customer_id"), target="target", kinds=("logreg",))
    assert 0.0 <= best.threshold <= 1.0


def test_records_with_the_wrong_field_count_are_rejected_with_their_line(tmp_path: Path) -> None:
    """A record with an extra or a missing field used to crash the read (more fields) or be null-filled
    silently (fewer fields). Quoted separators and newlines are fine; read = accepted + rejected."""
    (tmp_path / "p1.csv").write_text(
        "id,income,target\n1,100,0\n2,200,1,surplus\n3,300\n4,\"1,5\",0\n5,\"multi\nline\",1\n\n6,600,1\n"
    )
    res = read_extracts(tmp_path, target="target", id_column="id", dataset="d", run_id="r")
    assert res.frame["id"].to_list() == ["1", "4", "5", "6"]
    assert res.rows_read == 6 == res.rows_accepted + res.rejects.height
    got = dict(zip(res.rejects["line_number"].to_list(), res.rejects["reason"].to_list(), strict=True))
    assert got == {3: "wrong_field_count: expected 3 got 4", 4: "wrong_field_count: expected 3 got 2"}
    assert res.rejects["raw_record"].to_list() == ["2,200,1,surplus", "3,300"]
    assert res.rejects["source_file"].to_list() == ["p1.csv", "p1.csv"]
    # Without a place for bad rows (the benchmark reader), the same file fails naming the file and line.
    with pytest.raises(ValueError, match=r"p1.csv, line 3: wrong_field_count: expected 3 got 4"):
        read_text_table(tmp_path / "p1.csv")


def test_an_extract_holding_only_misshapen_records_is_not_reported_empty(tmp_path: Path) -> None:
    (tmp_path / "p1.csv").write_text("id,income,target\n1,100,0\n")
    (tmp_path / "p2.csv").write_text("id,income,target\n2,200\n")
    res = read_extracts(tmp_path, target="target", id_column="id", dataset="d", run_id="r")
    assert res.skipped_files == {} and res.rows_read == 2 and res.rejects.height == 1


def test_repeated_header_names_are_kept_apart(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("id,x,x,x\n1,2,3,4\n")
    columns = read_text_table(tmp_path / "p.csv").columns
    assert columns == ["id", "x", "x_duplicated_0", "x_duplicated_1", "__line_number"]


def test_utf16_tab_separated_extract(tmp_path: Path) -> None:
    """Excel's "Unicode text" export: UTF-16 with a byte-order mark, tab-separated."""
    (tmp_path / "p.txt").write_bytes("customer_id\ttarget\tcity\n1\t0\tZürich\n2\t1\tAthens\n".encode("utf-16"))
    frame = read_text_table(tmp_path / "p.txt", separator="\t")
    assert frame.columns[:3] == ["customer_id", "target", "city"] and frame["city"].to_list() == ["Zürich", "Athens"]


def _tabular_config(params: dict, path: str = "x", **fields: object):
    from vigia.config import DatasetConfig

    source = {"type": "tabular_files", "path": path, "params": params}
    raw = {"name": "eu", "kind": "tabular_supervised", "source": source, "label_column": "target", **fields}
    return DatasetConfig.model_validate(raw)


def test_european_extracts_with_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    """An Excel export in a European locale (``;``, ``1.234,5``-style numbers) used to be read as one column
    (missing expected columns), or, comma-separated with quoted ``"1,5"``, as a categorical feature. With
    ``source.params: {separator: ";", decimal: ","}`` training and the newest batch read as numbers."""
    from vigia.pipeline.tabular import read_newest_batch, read_training

    root = tmp_path / "extracts"
    (root / "training").mkdir(parents=True)
    (root / "inference").mkdir()
    rows = "\n".join(f"{i};{1000 + i},5;{'north' if i % 2 else 'south'};{i % 2}" for i in range(20))
    (root / "training" / "p1.csv").write_text("id;income;region;target\n" + rows + "\n20;1.234,5;north;0\n")
    (root / "inference" / "b.csv").write_text("id;income;region\n1;17,25;south\n2;abc;north\n")
    cfg = _tabular_config({"separator": ";", "decimal": ","}, path=str(root), entity_key="id")
    train = read_training(cfg, "r")
    assert train.numeric_columns == ["income"] and train.categorical_columns == ["region"]
    assert train.frame["income"][:2].to_list() == [1000.5, 1001.5] and train.frame["income"][20] is None
    assert train.type_errors["income"] == {"count": 1, "examples": ["1.234,5"]}
    batch, _ = read_newest_batch(cfg, dict(zip(train.frame.columns, train.frame.dtypes, strict=True)), "r")
    assert batch.frame["income"].to_list() == [17.25, None]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"decimal": ","}, "needs another separator"),
        ({"separator": ",", "decimal": ","}, "needs another separator"),
        ({"separator": ":"}, "source.params.separator must be one of"),
        ({"sep": ";"}, "takes ['decimal', 'separator'], not ['sep']"),
    ],
)
def test_csv_params_are_checked_at_load(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _tabular_config(params)

"""Extract edge cases: missing target / id, spaced headers, empty or repeated header names, nested Parquet
columns, missing-value targets, numeric labels, duplicate ids."""

from __future__ import annotations

import decimal
from pathlib import Path

import polars as pl
import pytest

from vigia.tabular.credit_data import load_credit_table
from vigia.tabular.extracts import ExtractsResult, label_target, read_extracts


def _read(folder: Path, **kw) -> ExtractsResult:
    kw = {"target": "y", "id_column": "id", **kw}
    res = read_extracts(folder, dataset="t", run_id="r", **kw)
    assert res.rows_read == res.rows_accepted + res.rejects.height
    return res


def _csv(folder: Path, text: str, name: str = "a.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_missing_target_named_with_its_config_key(tmp_path: Path) -> None:
    _csv(tmp_path, "id,x,target\n1,2,1\n")
    with pytest.raises(ValueError, match=r"has no column 'label', the target \(label_column\)") as err:
        _read(tmp_path, target="label")
    assert "__line_number" not in str(err.value)


def test_missing_entity_key_named_with_a_hint(tmp_path: Path) -> None:
    _csv(tmp_path, "ID,x,y\n1,2,1\n")
    with pytest.raises(ValueError, match=r"has no column 'id', the id column \(entity_key\).*did you mean 'ID'"):
        _read(tmp_path)


def test_header_names_with_spaces_are_stripped(tmp_path: Path) -> None:
    res = _read(_csv(tmp_path, "id, x, c, y\n1,2,a,1\n2,3,b,0\n"))
    assert res.frame.columns == ["id", "x", "c", "y", "source_file"]
    assert res.numeric_columns == ["x"] and res.frame["y"].to_list() == [1, 0]


def test_trailing_separator_column_is_dropped_and_the_batch_still_matches(tmp_path: Path) -> None:
    body = "".join(f"{i},{i * 1.5},{i % 2},\n" for i in range(10))
    train = _read(_csv(tmp_path / "training", "id,x,y,\n" + body))
    assert train.frame.columns == ["id", "x", "y", "source_file"]
    assert train.extra_columns == {"a.csv": ["<empty> (column 4: empty header name)"]}
    kinds = {c: "numeric" if t.is_numeric() else "categorical" for c, t in train.frame.schema.items()}
    kinds = {c: k for c, k in kinds.items() if c not in ("y", "source_file")}
    batch = _read(_csv(tmp_path / "inference", "id,x,\n1,2.5,\n"), target_optional=True, expected_columns=kinds)
    assert batch.rows_accepted == 1 and batch.features == ["x"]


def test_empty_named_column_with_values_is_reported_with_its_count(tmp_path: Path) -> None:
    res = _read(_csv(tmp_path, "id,x,,y\n1,2,5,1\n2,3,,0\n3,4,6,1\n"))
    assert res.extra_columns == {"a.csv": ["<empty> (column 3: empty header name, 2 non-empty cell(s) left out)"]}
    assert res.features == ["x"]


def test_repeated_header_name_is_an_extra_column(tmp_path: Path) -> None:
    res = _read(_csv(tmp_path, "id,x,x,y\n1,2,3,1\n2,3,4,0\n"))
    assert res.features == ["x"] and res.frame["x"].to_list() == [2.0, 3.0]
    assert res.extra_columns == {"a.csv": ["x (column 3: repeated header name)"]}


def test_nested_parquet_extra_column_is_dropped_and_reported(tmp_path: Path) -> None:
    _csv(tmp_path, "id,x,y\n1,1.0,1\n2,2.0,0\n")
    pl.DataFrame({"id": ["4"], "x": [4.0], "y": [0], "tags": [["vip", "new"]]}).write_parquet(tmp_path / "b.parquet")
    res = _read(tmp_path)
    assert res.rows_accepted == 3 and res.features == ["x"]
    assert res.extra_columns == {"b.parquet": ["tags (column 4: nested List(String), not supported)"]}


def test_nested_needed_column_is_a_clear_error(tmp_path: Path) -> None:
    _csv(tmp_path, "id,x,y\n1,1.0,1\n")
    pl.DataFrame({"id": ["4"], "x": [[4.0]], "y": [0]}).write_parquet(tmp_path / "b.parquet")
    with pytest.raises(ValueError, match=r"b.parquet: column 'x' is a nested List\(Float64\) column"):
        _read(tmp_path)
    (tmp_path / "a.csv").unlink()
    pl.DataFrame({"id": ["4"], "x": [4.0], "y": [{"a": 1}]}).write_parquet(tmp_path / "b.parquet")
    with pytest.raises(ValueError, match=r"column 'y' is a nested Struct"):
        _read(tmp_path)


def test_missing_value_target_is_rejected_as_missing(tmp_path: Path) -> None:
    res = _read(_csv(tmp_path, "id,x,y\n1,2,1\n2,3,NA\n3,4,?\n4,5,0\n5,6,2\n"))
    assert res.rows_accepted == 2
    assert res.rejects["reason"].to_list() == [
        "target 'y' is missing",
        "target 'y' is missing",
        "target 'y' value '2' is not 1/0",
    ]


def test_decimal_parquet_target_is_accepted(tmp_path: Path) -> None:
    y = pl.Series([decimal.Decimal("1.00"), decimal.Decimal("0.00")] * 3, dtype=pl.Decimal(10, 2))
    pl.DataFrame({"x": [1.0] * 6, "y": y}).write_parquet(tmp_path / "a.parquet")
    res = _read(tmp_path, id_column=None)
    assert res.rows_accepted == 6 and res.frame["y"].to_list() == [1, 0] * 3


def test_duplicate_ids_do_not_count_missing_ids(tmp_path: Path) -> None:
    res = _read(_csv(tmp_path, "id,x,y\n,1,1\n,2,0\nNA,3,1\n5,4,0\n5,5,1\n"))
    assert res.duplicate_ids == 1


def test_id_column_equal_to_target_is_a_clear_error(tmp_path: Path) -> None:
    _csv(tmp_path, "id,x,y\n1,2,1\n2,3,0\n")
    with pytest.raises(ValueError, match=r"entity_key\) and the target \(label_column\) are both 'y'"):
        _read(tmp_path, id_column="y")


@pytest.mark.parametrize(
    ("values", "positive", "labels", "reasons"),
    [
        (["yes", "no", "NA", "?", ""], "yes", [1, 0], ["missing"] * 3),
        (["1.0", "0.0", "1", "null"], "1", [1, 0, 1], ["missing"]),
        (["1.00", "0.00", "2"], None, [1, 0], ["'2' is not 1/0"]),
        (["2", "1", "N/A"], 2, [1, 0], ["missing"]),
    ],
)
def test_label_target_keeps_missing_and_matches_numbers(
    values: list[str], positive: str | int | None, labels: list[int], reasons: list[str]
) -> None:
    frame, reason = label_target(pl.DataFrame({"t": values}), "t", positive)
    ok = reason.is_null()
    assert frame.filter(ok)["t"].to_list() == labels
    assert all(want in got for want, got in zip(reasons, reason.drop_nulls().to_list(), strict=True))


def test_credit_positive_keeps_missing_tokens_missing(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("x,Y\n" + "".join(f"{i},{['yes', 'no', 'NA', '?'][i % 4]}\n" for i in range(40)))
    table = load_credit_table(tmp_path / "t.csv", target="Y", positive="yes")
    assert int(table.frame["Y"].sum()) == 10 and table.frame.height == 20 and table.dropped_rows == 20
    assert table.dropped_target["missing"] == 20 and table.dropped_target["invalid"] == 0


def test_credit_numeric_positive_matches_float_labels(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("x,Y\n" + "".join(f"{i},{i % 2}.0\n" for i in range(40)))
    table = load_credit_table(tmp_path / "t.csv", target="Y", positive="1")
    assert int(table.frame["Y"].sum()) == 20 and table.dropped_rows == 0


def test_credit_repeated_and_empty_header_columns_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("x,x,Y,\n" + "".join(f"{i},{i},{i % 2},\n" for i in range(10)))
    table = load_credit_table(tmp_path / "t.csv")
    assert table.frame.columns == ["x", "Y"]
    assert table.dropped_columns == ["x (column 2: repeated header name)", "<empty> (column 4: empty header name)"]


def test_credit_single_class_after_drops_says_why(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("ID,x,Y\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(1, 50)))
    with pytest.raises(ValueError, match=r"48 of 49 rows were dropped: 48 with a value of 'ID' that is not 1/0"):
        load_credit_table(tmp_path / "t.csv", target="ID")


def test_extract_names_with_glob_characters_are_each_read_once(tmp_path: Path) -> None:
    """Polars reads a path as a glob pattern unless told not to: ``p[1].parquet`` would read ``p1.parquet``."""
    pl.DataFrame({"x": [1.0, 2.0], "y": [1, 0]}).write_parquet(tmp_path / "p[1].parquet")
    pl.DataFrame({"x": [3.0, 4.0, 5.0], "y": [0, 1, 0]}).write_parquet(tmp_path / "p1.parquet")
    res = _read(tmp_path, id_column=None)
    assert res.rows_read == 5 and sorted(res.frame["x"].to_list()) == [1.0, 2.0, 3.0, 4.0, 5.0]

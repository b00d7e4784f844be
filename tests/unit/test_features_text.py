"""String helpers: character entropy and shape, vectorised vs pure-Python reference."""

from __future__ import annotations

import math

import polars as pl
import pytest

from vigia.features.text import shannon_entropy, shannon_entropy_expr, string_shape, string_shape_expr

SAMPLES = ["aabb", "abcd", "", "a", "ShADadFf", "ShADadfF", "Dd", "aaab", "www.example.com", "héllo wörld"]


@pytest.mark.parametrize(("s", "expected"), [("aabb", 1.0), ("abcd", 2.0), ("", 0.0), ("aaaa", 0.0), ("ab", 1.0)])
def test_reference_entropy(s: str, expected: float) -> None:
    assert shannon_entropy(s) == pytest.approx(expected)


def test_reference_entropy_skewed() -> None:
    # "aaab": p = 3/4, 1/4 -> -(0.75*log2 0.75 + 0.25*log2 0.25) = 0.8113
    assert shannon_entropy("aaab") == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))


def test_entropy_expr_matches_reference() -> None:
    df = pl.DataFrame({"s": [*SAMPLES, None]}).with_columns(e=shannon_entropy_expr(pl.col("s")))
    got = df["e"].to_list()
    assert got[:-1] == pytest.approx([shannon_entropy(s) for s in SAMPLES])
    assert got[-1] is None
    assert df["e"].dtype == pl.Float64
    assert not any(math.copysign(1.0, v) < 0 for v in got[:-1])  # no -0.0


def test_entropy_expr_is_lazy_and_group_safe() -> None:
    lf = pl.LazyFrame({"g": [1, 1, 2], "s": ["aabb", "abcd", ""]})
    out = lf.group_by("g").agg(shannon_entropy_expr(pl.col("s")).mean().alias("m")).sort("g").collect()
    assert out["m"].to_list() == pytest.approx([1.5, 0.0])


def test_string_shape() -> None:
    values = ["Hello-World_42", "www.Example.com", "", "ÉtÉ 2024!", "ab12CD"]
    expected = ["Aaaaa-Aaaaa_99", "aaa.Aaaaaaa.aaa", "", "AaA 9999!", "aa99AA"]
    assert [string_shape(v) for v in values] == expected
    got = pl.DataFrame({"s": values}).select(string_shape_expr(pl.col("s")))["s"].to_list()
    assert got == expected

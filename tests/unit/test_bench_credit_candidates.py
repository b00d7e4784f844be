"""bench/credit_candidates.py: the ordinal codes of German credit's ordered attributes."""

from __future__ import annotations

from types import ModuleType

import polars as pl
import pytest

from tests.conftest import load_bench_script


@pytest.fixture(scope="module")
def candidates() -> ModuleType:
    return load_bench_script("credit_candidates.py")


def test_ordinal_codes_with_unknown_flags(candidates: ModuleType) -> None:
    frame = pl.DataFrame(
        {
            "checking_status": ["A11", "A13", "A14", None],
            "savings": ["A65", "A61", "A64", "A62"],
            "employment_since": ["A71", "A75", "A73", "A72"],
            "purpose": ["A40", "A41", "A42", "A43"],
            "class": [0, 1, 0, 1],
        }
    )
    out = candidates._ordinal(frame)
    assert set(out.columns) == {"purpose", "class", "checking_status_level", "savings_level",
                                "employment_since_level", "checking_status_unknown", "savings_unknown"}  # fmt: skip
    assert out["checking_status_level"].to_list() == [0.0, 2.0, None, None]
    assert out["checking_status_unknown"].to_list() == [0, 0, 1, None]  # a missing value stays missing
    assert out["savings_level"].to_list() == [None, 0.0, 3.0, 1.0]
    assert out["savings_unknown"].to_list() == [1, 0, 0, 0]
    assert out["employment_since_level"].to_list() == [0.0, 4.0, 2.0, 1.0]
    assert out["purpose"].to_list() == frame["purpose"].to_list()

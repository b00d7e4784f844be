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


def test_scorecard_and_spline_candidates_fit_and_bend(candidates: ModuleType) -> None:
    import numpy as np

    from vigia.tabular import model as m

    rng = np.random.default_rng(0)
    n = 400
    age = rng.uniform(18, 80, n)
    kind = rng.choice(["A", "B", "C"], n)
    risk = (np.abs(age - 50) > 20) | (kind == "C")  # risk high at both ends of age: not monotone
    frame = pl.DataFrame({"age": age, "kind": kind, "class": (risk & (rng.random(n) < 0.9)).astype(int)})
    spec = m.FeatureSpec(numeric=("age",), categorical=("kind",))
    X = frame.select("age", "kind").to_pandas()
    y = frame["class"].to_numpy()
    scorecard = candidates._base("scorecard", spec, n).fit(X, y)
    splines = candidates._base("splines", spec, n).fit(X, y)
    assert set(splines.named_steps["prep"].named_transformers_) == {"num", "cat"}
    assert "spline" in splines.named_steps["prep"].named_transformers_["num"].named_steps
    # an additive spline follows the U shape a straight line in age cannot
    probe = pl.DataFrame({"age": [20.0, 50.0, 78.0], "kind": ["A", "A", "A"]}).to_pandas()
    p = splines.predict_proba(probe)[:, 1]
    assert p[0] > p[1] < p[2]
    assert scorecard.predict_proba(probe).shape == (3, 2)

"""Drift definitions checked against hand-computed values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest

from vigia.monitoring.drift import dataset_drift, feature_drift, psi


def test_ks_on_tiny_example_matches_hand_ecdf_and_exact_permutation_p() -> None:
    # ECDFs, ref [1,2,3,4] vs cur [2.5,3.5,5,6]:
    #   x:      1    2    2.5  3    3.5  4    5    6
    #   F_ref: .25  .50  .50  .75  .75  1.0  1.0  1.0
    #   F_cur:  0    0   .25  .25  .50  .50  .75  1.0
    #   |diff|: .25 .50  .25  .50  .25  .50  .25   0   → D = max = 0.5
    ref, cur = [1.0, 2.0, 3.0, 4.0], [2.5, 3.5, 5.0, 6.0]
    fd = feature_drift("x", np.array(ref), np.array(cur))
    assert fd.method == "ks" and fd.kind == "numeric"
    assert fd.statistic == pytest.approx(0.5)
    # Exact two-sided p = P(D >= 0.5) over the C(8,4) = 70 equally likely splits of the pooled values.
    pooled = np.array(sorted(ref + cur))

    def d_stat(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.max(np.abs((a[:, None] <= pooled).mean(0) - (b[:, None] <= pooled).mean(0))))

    splits = [np.array(c) for c in itertools.combinations(range(8), 4)]
    extreme = sum(d_stat(pooled[s], np.delete(pooled, s)) >= 0.5 - 1e-12 for s in splits)
    assert extreme == 54
    assert fd.p_value == pytest.approx(54 / 70)
    assert not fd.drifted and fd.threshold == 0.05


def test_normed_wasserstein_of_a_shift_is_shift_over_reference_std() -> None:
    ref = np.linspace(0.0, 999.0, 1200)  # uniform-ish on 0..999, 1200 rows
    # Population std of an evenly spaced grid on [0, a] with n points: a * sqrt((n + 1) / (12 (n - 1))).
    std = 999.0 * math.sqrt(1201 / (12 * 1199))
    assert np.std(ref) == pytest.approx(std)
    # Shifting a distribution by c moves every quantile by c, so W = c.
    big = feature_drift("x", ref, ref + 50.0)
    assert big.method == "wasserstein_normed" and big.p_value is None and big.threshold == 0.1
    assert big.statistic == pytest.approx(50.0 / std)  # ≈ 0.173 > 0.1
    assert big.drifted
    small = feature_drift("x", ref, ref - 20.0)
    assert small.statistic == pytest.approx(20.0 / std) and not small.drifted  # ≈ 0.069


def test_numeric_psi_by_hand() -> None:
    ref = np.arange(1.0, 101.0)  # 1..100; deciles 10.9, 20.8, ..., 90.1 → 10 bins of 10% each
    # Current: 20% in bin 0, 10% in bins 1..8, nothing in bin 9 (floored at 1e-4).
    cur = np.concatenate([np.full(20, 5.0), np.repeat(np.arange(15.0, 86.0, 10.0), 10)])
    # bin 0: (0.2 - 0.1) · ln(0.2 / 0.1)      = 0.1 · 0.693147          = 0.0693147
    # bin 9: (1e-4 - 0.1) · ln(1e-4 / 0.1)    = -0.0999 · -6.907755     = 0.6900847
    # bins 1..8: (0.1 - 0.1) · ln(1) = 0                          PSI = 0.7593994
    expected = 0.1 * math.log(2) + (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert psi(ref, cur, "numeric") == pytest.approx(expected)
    assert psi(ref, cur, "numeric") == pytest.approx(0.7593994, abs=1e-6)
    assert psi(ref, ref, "numeric") == 0.0


def test_categorical_psi_by_hand() -> None:
    ref = np.array(["a"] * 50 + ["b"] * 50)
    cur = np.array(["a"] * 75 + ["b"] * 25)
    # (0.75 - 0.5)·ln(1.5) + (0.25 - 0.5)·ln(0.5) = 0.101366 + 0.173287 = 0.274653
    assert psi(ref, cur, "categorical") == pytest.approx(0.25 * math.log(1.5) + 0.25 * math.log(2))
    assert psi(ref, cur, "categorical") == pytest.approx(0.274653, abs=1e-6)


def test_chi2_on_small_categorical_example() -> None:
    ref = pl.Series(["a"] * 30 + ["b"] * 30 + ["c"] * 40)
    cur = pl.Series(["a"] * 20 + ["b"] * 40 + ["c"] * 40)
    # Table [[30,30,40],[20,40,40]]; expected [25,35,40] per row (column totals 50,70,80 / 2).
    # chi2 = 2 · (25/25 + 25/35 + 0) = 3.428571; dof 2 → p = exp(-chi2 / 2) = 0.180092.
    fd = feature_drift("c", ref, cur)
    assert fd.kind == "categorical" and fd.method == "chi2"
    assert fd.statistic == pytest.approx(2 + 50 / 35)
    assert fd.p_value == pytest.approx(math.exp(-(2 + 50 / 35) / 2))
    assert not fd.drifted
    # A category unseen in the current sample counts 0 there.
    shifted = feature_drift("c", ref, pl.Series(["a"] * 50 + ["b"] * 50))
    assert shifted.drifted and shifted.p_value is not None and shifted.p_value < 1e-6


def test_jensen_shannon_on_categorical_example() -> None:
    ref = pl.Series(["a"] * 600 + ["b"] * 600)  # [0.5, 0.5]
    cur = pl.Series(["a"] * 1200)  # [1, 0]; "b" unseen → 0
    # M = [0.75, 0.25]; KL(P||M) = 0.5·log2(2/3) + 0.5·log2(2) = 1 - 0.5·log2(3); KL(Q||M) = log2(4/3) = 2 - log2(3)
    # JSD = (KL(P||M) + KL(Q||M)) / 2 = 1.5 - 0.75·log2(3) = 0.311278; distance = sqrt = 0.557923
    fd = feature_drift("c", ref, cur)
    assert fd.method == "jensenshannon" and fd.p_value is None
    assert fd.statistic == pytest.approx(math.sqrt(1.5 - 0.75 * math.log2(3)))
    assert fd.statistic == pytest.approx(0.557923, abs=1e-6)
    assert fd.drifted
    same = feature_drift("c", ref, pl.Series(["b", "a"] * 700))
    assert same.statistic == pytest.approx(0.0, abs=1e-12) and not same.drifted


def test_kind_inference_and_declared_categorical() -> None:
    assert feature_drift("b", pl.Series([True, False] * 5), pl.Series([True] * 10)).kind == "categorical"
    assert feature_drift("s", np.array(["x", "y"]), np.array(["x"])).kind == "categorical"
    frame = pl.DataFrame({"port": [80, 443] * 10, "v": np.arange(20.0)})
    report = dataset_drift(frame, frame, categorical=["port"])
    assert report.feature("port").method == "chi2" and report.feature("v").method == "ks"


def _frames(n_features: int, n_drifted: int, rows: int = 200) -> tuple[pl.DataFrame, pl.DataFrame]:
    base = np.arange(rows, dtype=float)
    ref = pl.DataFrame({f"f{i:02d}": base for i in range(n_features)})
    cur = pl.DataFrame({f"f{i:02d}": base + (1000.0 if i < n_drifted else 0.0) for i in range(n_features)})
    return ref, cur


def test_dataset_score_is_share_of_drifted_features_strictly_above_threshold() -> None:
    three = dataset_drift(*_frames(20, 3))
    assert three.n_drifted == 3 and three.n_features == three.n_evaluated == 20
    assert three.score == pytest.approx(0.15) and not three.drifted  # 0.15 is not > 0.15
    four = dataset_drift(*_frames(20, 4))
    assert four.score == pytest.approx(0.2) and four.drifted
    assert sorted(four.drifted_features) == ["f00", "f01", "f02", "f03"]
    assert dataset_drift(*_frames(20, 4), threshold=0.25).drifted is False


def test_size_cutoff_switches_ks_to_wasserstein() -> None:
    rng = np.random.default_rng(0)
    assert feature_drift("x", rng.normal(size=1000), rng.normal(size=1000)).method == "ks"
    assert feature_drift("x", rng.normal(size=1001), rng.normal(size=1001)).method == "wasserstein_normed"
    assert feature_drift("x", rng.normal(size=5000), rng.normal(size=1000)).method == "ks"  # either sample ≤ cutoff
    assert feature_drift("x", rng.normal(size=50), rng.normal(size=50), size_cutoff=10).method == "wasserstein_normed"
    cat = pl.Series(["a", "b"] * 600)
    assert feature_drift("c", cat, cat.head(1000)).method == "chi2"
    assert feature_drift("c", cat, cat.head(1001)).method == "jensenshannon"


def test_constant_reference_feature() -> None:
    ref = np.full(2000, 3.0)
    same = feature_drift("k", ref, np.full(1500, 3.0))
    assert same.method == "wasserstein_normed" and same.statistic == 0.0 and not same.drifted
    moved = feature_drift("k", ref, np.r_[np.full(1400, 3.0), np.full(100, 4.0)])
    assert moved.statistic is None and moved.drifted and "constant" in moved.note
    assert math.isinf(moved.severity)
    small = feature_drift("k", ref[:100], np.full(100, 3.0))
    assert small.method == "ks" and small.statistic == 0.0 and not small.drifted


def test_nulls_and_nans_are_dropped_and_the_missing_share_tested_apart() -> None:
    ref = pl.Series("x", [1.0, 2.0, None, float("nan"), 3.0, 4.0])
    cur = pl.Series("x", [2.5, 3.5, 5.0, 6.0])
    fd = feature_drift("x", ref, cur)
    assert fd.n_reference == 4 and fd.n_current == 4
    assert fd.null_share_reference == pytest.approx(2 / 6) and fd.null_share_current == 0.0
    assert fd.statistic == pytest.approx(0.5)  # same as the tiny KS example
    assert not fd.missing_share_drifted  # 2 of 6 against 0 of 4: Fisher p = 0.47
    frame_ref = pl.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0], "c": ["x", None, "y"]})
    frame_cur = pl.DataFrame(
        {"a": [10.0, 11.0, 12.0], "b": [None, None, None], "c": [None, None, None]},
        schema={"a": pl.Float64, "b": pl.Float64, "c": pl.String},
    )
    report = dataset_drift(frame_ref, frame_cur)
    b = report.feature("b")  # all missing now: judged on the missing share alone, 3 rows too few (p = 0.1)
    assert b.evaluated and b.method == "missing_share" and b.p_value == pytest.approx(0.1) and not b.drifted
    assert b.statistic == 1.0 and "current sample is all missing" in b.note
    assert report.feature("c").null_share_reference == pytest.approx(1 / 3)
    assert report.n_evaluated == 3 and report.n_features == 3
    # 3 vs 3 rows is too few for KS p < 0.05 (p = 0.1) on "a".
    assert report.score == 0.0
    gone = pl.DataFrame({"b": [None, None]}, schema={"b": pl.Float64})
    none = dataset_drift(gone, gone)  # all missing in both samples: not evaluated
    assert not none.feature("b").evaluated and math.isnan(none.score) and not none.drifted
    assert none.to_dict()["score"] is None


@pytest.mark.parametrize(("rows", "ref_missing", "cur_missing", "drifted"), [
    (2000, 0.0, 1.0, True),  # a sensor went dead, a field is no longer sent
    (2000, 0.01, 0.30, True),  # same values, far more of them missing
    (2000, 0.05, 0.10, False),  # a change of 0.05 <= 0.1
    (500, 0.0, 0.10, True),  # small samples: Fisher's exact test
    (500, 0.05, 0.05, False),
])  # fmt: skip
def test_missing_share_drift(rows: int, ref_missing: float, cur_missing: float, drifted: bool) -> None:
    rng = np.random.default_rng(3)

    def sample(share: float) -> pl.Series:
        values = rng.normal(0, 1, rows)
        values[: round(share * rows)] = np.nan
        return pl.Series(values).fill_nan(None)

    fd = feature_drift("x", sample(ref_missing), sample(cur_missing))
    assert fd.evaluated and fd.drifted == drifted and fd.missing_share_drifted == drifted
    assert (fd.severity > 1) == drifted
    if drifted:
        assert f"missing share {ref_missing:.3f} -> {cur_missing:.3f}" in fd.note
    if cur_missing == 1.0:
        assert fd.method == "missing_share" and fd.n_current == 0


def test_missing_features_raise_with_their_names() -> None:
    ref, cur = _frames(3, 0)
    with pytest.raises(ValueError, match="f01"):
        dataset_drift(ref, cur.drop("f01"), features=["f00", "f01"])
    common = dataset_drift(ref, cur.drop("f01"))  # default: columns common to both
    assert [f.feature for f in common.features] == ["f00", "f02"]


def test_determinism() -> None:
    rng = np.random.default_rng(5)
    ref = pl.DataFrame({"x": rng.normal(size=3000), "y": rng.integers(0, 5, 3000).astype(str)})
    cur = pl.DataFrame({"x": rng.normal(0.2, 1, size=3000), "y": rng.integers(0, 6, 3000).astype(str)})
    a, b = dataset_drift(ref, cur).to_dict(), dataset_drift(ref, cur).to_dict()
    a.pop("created_at"), b.pop("created_at")
    assert a == b


def test_same_distribution_is_quiet_and_one_std_shift_is_flagged() -> None:
    def frame(seed: int, shift: float) -> pl.DataFrame:
        rng = np.random.default_rng(seed)
        return pl.DataFrame({f"f{i:02d}": rng.normal(shift if i < 5 else 0.0, 1.0, 5000) for i in range(20)})

    quiet = dataset_drift(frame(1, 0.0), frame(2, 0.0))
    assert quiet.score < 0.15 and not quiet.drifted
    assert all(f.method == "wasserstein_normed" for f in quiet.features)
    shifted = dataset_drift(frame(1, 0.0), frame(3, 1.0))
    assert sorted(shifted.drifted_features) == [f"f{i:02d}" for i in range(5)]
    assert shifted.score == pytest.approx(0.25) and shifted.drifted
    assert all(shifted.feature(f"f{i:02d}").statistic == pytest.approx(1.0, abs=0.1) for i in range(5))


def _regime_days(rng: np.random.Generator, levels: list[float], per_day: int = 288) -> tuple[pl.DataFrame, pl.Series]:
    """A slowly autocorrelated temperature-like series whose days sit at different levels (regimes)."""
    values, days = [], []
    for i, level in enumerate(levels):
        noise = np.cumsum(rng.normal(0, 0.05, per_day))  # autocorrelated within the day
        values.append(level + noise)
        days += [f"d{i:02d}"] * per_day
    return pl.DataFrame({"temp": np.concatenate(values)}), pl.Series("day", days)


def test_calibrated_thresholds_accept_training_regimes_and_flag_a_new_one() -> None:
    """A day of a regime-changing series is far from a multi-week reference even inside it: the fixed test
    flags every training day. Calibrated on the training days, only a day beyond them is drifted."""
    from vigia.monitoring.drift import calibrate_distance_thresholds

    rng = np.random.default_rng(4)
    levels = [70, 72, 75, 80, 78, 71, 85, 83, 74, 76] * 3
    reference, days = _regime_days(rng, levels)
    thresholds = calibrate_distance_thresholds(reference, days)
    assert thresholds["temp"] > 0.5  # the training days themselves lie this far from the whole reference
    inside, _ = _regime_days(rng, [79])
    outside, _ = _regime_days(rng, [110])
    assert dataset_drift(reference, inside).drifted  # the fixed test: drifted although seen in training
    assert not dataset_drift(reference, inside, calibrated=thresholds).drifted
    report = dataset_drift(reference, outside, calibrated=thresholds)
    assert report.drifted and report.feature("temp").threshold == thresholds["temp"]
    assert report.feature("temp").method == "wasserstein_normed"  # a distance, not KS, whatever the size


def test_calibration_floor_small_groups_and_categoricals() -> None:
    from vigia.monitoring.drift import calibrate_distance_thresholds

    frame = pl.DataFrame({"x": [1.0] * 40 + [1.0] * 3, "c": ["a", "b"] * 20 + ["z"] * 3})
    groups = pl.Series(["d1"] * 20 + ["d2"] * 20 + ["tiny"] * 3)
    thresholds = calibrate_distance_thresholds(frame, groups, min_rows=10)
    assert thresholds["x"] == 0.1  # a constant feature keeps the floor
    assert 0.1 <= thresholds["c"] < 0.2  # the 3-row group holding "z" is too small to count
    assert calibrate_distance_thresholds(frame, groups, min_rows=3)["c"] > thresholds["c"]


def test_calibrate_is_refused_for_the_tabular_kind() -> None:
    from vigia.config import DatasetConfig

    raw = {"name": "c", "kind": "tabular_supervised", "source": {"type": "synthetic_customers"},
           "label_column": "target", "drift": {"calibrate": True}}  # fmt: skip
    with pytest.raises(ValueError, match=r"drift\.calibrate needs daily partitions"):
        DatasetConfig.model_validate(raw)


def test_rare_reference_categories_are_merged_before_the_test() -> None:
    rng = np.random.default_rng(1)
    # 300 codes of 0.33 % each: each code's sampling noise alone gave a Jensen-Shannon distance of about 0.14.
    codes = lambda n: pl.Series([f"b{i}" for i in rng.integers(0, 300, n)])  # noqa: E731
    frequent = lambda n: pl.Series(rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]))  # noqa: E731
    ref = pl.DataFrame({"branch": codes(12_000), "kind": frequent(12_000)})
    cur = pl.DataFrame({"branch": codes(3000), "kind": frequent(3000)})
    report = dataset_drift(ref, cur)
    assert report.feature("branch").statistic == pytest.approx(0.0) and not report.drifted
    # Rare values, new values and the frequent ones still count: as the share of the rare bucket.
    new = pl.Series(["new"] * 900 + cur["branch"].to_list()[:2100])
    assert feature_drift("branch", ref["branch"], new).drifted
    mixed = pl.Series(["a"] * 11_000 + [f"r{i}" for i in range(1000)])  # 1,000 rare codes: 1/12 of the rows
    more_rare = feature_drift("c", mixed, pl.Series(["a"] * 2000 + [f"r{i}" for i in range(1000)]))
    assert more_rare.drifted and more_rare.statistic == pytest.approx(_js([11 / 12, 1 / 12], [2 / 3, 1 / 3]))
    unseen = feature_drift("c", mixed, pl.Series(["a"] * 2000 + [f"q{i}" for i in range(1000)]))
    assert unseen.statistic == pytest.approx(_js([11 / 12, 1 / 12, 0], [2 / 3, 0, 1 / 3]))  # new codes: own bucket
    # Small samples (chi-squared): the rare codes are one column of the contingency table.
    small = feature_drift("c", pl.Series(["a"] * 600 + [f"r{i}" for i in range(6)]), pl.Series(["a"] * 300 + ["s"]))
    assert small.method == "chi2" and not small.drifted


def test_a_numeric_feature_holding_text_in_the_current_sample_is_cast_leniently() -> None:
    ref = pl.Series(np.arange(3000, dtype=float))
    cur = pl.Series([str(v) if i % 3 else "-" for i, v in enumerate(range(3000))])
    fd = feature_drift("income", ref, cur)
    assert fd.kind == "numeric" and fd.missing_share_drifted and fd.drifted
    assert fd.null_share_current == pytest.approx(1 / 3) and "1000 values that are not numbers" in fd.note
    quiet = dataset_drift(pl.DataFrame({"income": ref}), pl.DataFrame({"income": ref.cast(pl.String)}))
    assert not quiet.drifted and quiet.feature("income").note == ""


def _js(p: list[float], q: list[float]) -> float:
    """Jensen-Shannon distance (base 2) by hand."""
    kl = lambda a, b: sum(x * math.log2(x / y) for x, y in zip(a, b, strict=True) if x)  # noqa: E731
    m = [(x + y) / 2 for x, y in zip(p, q, strict=True)]
    return math.sqrt((kl(p, m) + kl(q, m)) / 2)

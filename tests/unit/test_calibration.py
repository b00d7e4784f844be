import json

import numpy as np
import pytest

from vigia.config import CalibrationConfig
from vigia.models.calibration import (
    best_f1_threshold,
    calibrate,
    contamination_threshold,
    flag,
    iqr_threshold,
    mad_threshold,
    percentile_sweep,
)

SCORES = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], dtype=float)


def test_named_rules_hand_computed():
    # median 5.5; |s - 5.5| sorted: .5 .5 1.5 1.5 2.5 2.5 3.5 3.5 4.5 94.5 -> MAD 2.5
    assert mad_threshold(SCORES, k=3.5) == pytest.approx(5.5 + 3.5 * 1.4826 * 2.5)  # 18.47275
    # Q1 = 3 + .25 * (4 - 3) = 3.25, Q3 = 7 + .75 * (8 - 7) = 7.75, IQR 4.5 -> 7.75 + 1.5 * 4.5
    assert iqr_threshold(SCORES, k=1.5) == pytest.approx(14.5)
    # quantile .9: position 8.1 -> 9 + .1 * (100 - 9)
    assert contamination_threshold(SCORES, 0.1) == pytest.approx(18.1)
    with pytest.raises(ValueError):
        contamination_threshold(SCORES, 0.0)


def test_percentile_sweep_with_metrics():
    labels = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    rows = percentile_sweep(SCORES, labels, percentiles=[80, 90])
    # p80: position 7.2 -> 8 + .2 * (9 - 8) = 8.2 -> flags {9, 100}: tp 2, fp 0
    assert rows[0]["rule"] == "percentile" and rows[0]["param"] == 80
    assert rows[0]["threshold"] == pytest.approx(8.2)
    assert (rows[0]["n_flagged"], rows[0]["precision"], rows[0]["recall"], rows[0]["f1"]) == (2, 1.0, 1.0, 1.0)
    # p90 = 18.1 -> flags {100}: precision 1, recall .5, f1 2/3
    assert rows[1]["threshold"] == pytest.approx(18.1)
    assert rows[1]["recall"] == 0.5 and rows[1]["f1"] == pytest.approx(2 / 3)
    assert "f1" not in percentile_sweep(SCORES, None, [80])[0]


def test_best_f1_picks_expected_threshold():
    scores = np.arange(1, 11) / 10  # .1 .. 1.0
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 0, 1, 1])
    # top-k F1 = 2tp / (k + 3): k=1 .5, k=2 .8, k=3 .667, k=4 6/7 (best), k=5 .75 ...
    thr, f1 = best_f1_threshold(scores, labels)
    assert thr == pytest.approx(0.65) and f1 == pytest.approx(6 / 7)
    res = calibrate(scores, labels, CalibrationConfig(strategy="best_f1"))
    assert res.metrics["f1"] == pytest.approx(6 / 7) and res.metrics["n_flagged"] == 4
    assert flag(scores, res.threshold).sum() == 4


def test_best_f1_ties_go_to_higher_threshold():
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    labels = np.array([1, 0, 0, 1])
    # top-1 F1 = 2/3 (threshold 3.5) ties with flag-all F1 = 4/6 (threshold 1.0)
    assert best_f1_threshold(scores, labels) == (pytest.approx(3.5), pytest.approx(2 / 3))
    res = calibrate(scores, labels, CalibrationConfig(strategy="auto"))
    assert res.metrics["f1"] == pytest.approx(2 / 3) and res.metrics["n_flagged"] == 1
    assert res.threshold >= 3.5  # a named rule (p99 = 3.97) flagging the same row wins with a higher threshold


def test_auto_uses_best_f1_with_labels_and_contamination_without():
    scores = np.arange(1, 11) / 10
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 0, 1, 1])
    cfg = CalibrationConfig(strategy="auto", contamination=0.1)
    res = calibrate(scores, labels, cfg)
    assert res.rule == "best_f1" and res.threshold == pytest.approx(0.65)
    rules = {r["rule"] for r in res.sweep}
    assert rules == {"percentile", "mad", "iqr", "contamination", "best_f1"}
    assert all("f1" in r for r in res.sweep)

    unlabelled = calibrate(scores, None, cfg)
    assert unlabelled.rule == "contamination" and unlabelled.param == 0.1
    assert unlabelled.threshold == pytest.approx(np.quantile(scores, 0.9))
    assert unlabelled.metrics is None and not any(r["rule"] == "best_f1" for r in unlabelled.sweep)

    one_class = calibrate(scores, np.zeros(10), cfg)
    assert one_class.rule == "contamination" and one_class.metrics["f1"] == 0.0
    with pytest.raises(ValueError, match="best_f1"):
        calibrate(scores, None, CalibrationConfig(strategy="best_f1"))


def test_forced_rules_and_json():
    for strategy, expected in [("mad", 18.47275), ("iqr", 14.5), ("contamination", 18.1), ("percentile", 8.2)]:
        cfg = CalibrationConfig(strategy=strategy, contamination=0.1, percentile=80)
        res = calibrate(SCORES, None, cfg)
        assert res.rule == strategy and res.threshold == pytest.approx(expected)
    res = calibrate(SCORES, np.array([0, 0, 0, 0, 0, 0, 0, 0, np.nan, 1]), CalibrationConfig(percentile=97.5))
    assert any(r["rule"] == "percentile" and r["param"] == 97.5 for r in res.sweep)
    json.dumps(res.to_dict(), allow_nan=False)

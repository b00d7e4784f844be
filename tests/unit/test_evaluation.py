import json

import numpy as np
import pytest

from vigia.models.evaluation import (
    agreeing_detectors,
    binary_metrics,
    consensus_flags,
    consensus_score,
    top_feature_contributions,
    top_feature_json,
)


def test_binary_metrics_hand_computed():
    y_true = np.array([1, 1, 0, 0, 1, 0, np.nan])
    y_pred = np.array([1, 0, 1, 0, 1, 0, 1])
    y_score = np.array([0.9, 0.3, 0.6, 0.1, 0.8, 0.2, 0.5])
    m = binary_metrics(y_true, y_score, y_pred)
    # labelled rows: tp = rows 0, 4; fn = row 1; fp = row 2; tn = rows 3, 5
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (2, 1, 1, 2)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["support"] == 3 and m["n"] == 6
    # positives .9 .3 .8 vs negatives .6 .1 .2: 3 + 3 + 2 = 8 of 9 pairs ordered correctly
    assert m["roc_auc"] == pytest.approx(8 / 9)
    assert 0 < m["average_precision"] <= 1


def test_single_class_auc_is_none():
    m = binary_metrics(np.zeros(4), np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 0, 1, 1]))
    assert m["roc_auc"] is None and m["average_precision"] is None
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["fp"] == 2
    assert binary_metrics(np.array([0, 1]), None, np.array([0, 1]))["roc_auc"] is None


def test_consensus_truth_table():
    a = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    b = np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=bool)
    c = np.array([0, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
    flags = {"iforest": a, "lof": b, "ocsvm": c}
    assert consensus_flags(flags, 1).tolist() == [False] + [True] * 7
    assert consensus_flags(flags, 2).tolist() == [False, False, False, True, False, True, True, True]
    assert consensus_flags(flags, 3).tolist() == [False] * 7 + [True]
    with pytest.raises(ValueError):
        consensus_flags(flags, 4)
    assert agreeing_detectors(flags) == [
        "", "ocsvm", "lof", "lof,ocsvm", "iforest", "iforest,ocsvm", "iforest,lof", "iforest,lof,ocsvm"
    ]


def test_consensus_score_is_mean():
    s = consensus_score({"a": np.array([0.0, 1.0, 0.5]), "b": np.array([1.0, 1.0, 0.0])})
    np.testing.assert_allclose(s, [0.5, 1.0, 0.25])
    with pytest.raises(ValueError):
        consensus_score({"a": np.zeros(2), "b": np.zeros(3)})


def test_top_feature_contributions():
    Z = np.array([[0.1, -4.0, 2.0], [3.0, 0.0, -3.0]])
    raw = np.array([[10, 20, 30], [40, 50, 60]])
    out = top_feature_contributions(Z, ["bytes", "pkts", "dur"], k=2, raw_values=raw)
    assert [[d["feature"] for d in row] for row in out] == [["pkts", "dur"], ["bytes", "dur"]]
    assert out[0][0] == {"feature": "pkts", "z": -4.0, "value": 20}
    assert top_feature_contributions(Z[:1], ["a", "b", "c"], k=1)[0] == [{"feature": "b", "z": -4.0, "value": -4.0}]


@pytest.mark.parametrize("k", [0, 1, 3, 9])
def test_top_feature_json_is_json_dumps_of_the_contributions(k: int) -> None:
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(50, 4)) * 10.0 ** rng.integers(-8, 8, size=(50, 4))
    Z[0, 1], Z[1, 2], Z[2, 0], Z[3] = np.nan, np.inf, -np.inf, 0.0  # NaN / Infinity / ties keep feature order
    Z[4, 3] = -0.0
    raw = rng.integers(-5, 5, size=(50, 4)).astype(float) / 3.0
    raw[5, 0] = np.nan
    names = ["bytes", 'say "hi"', "päth", "x\\y"]  # names json must escape
    for values in (raw, None, raw.astype(np.float32)):
        want = [json.dumps(row) for row in top_feature_contributions(Z, names, k, raw_values=values)]
        got = top_feature_json(Z, names, k, raw_values=values)
        assert got.name == "top_features" and got.to_list() == want
    ints = np.arange(200).reshape(50, 4)  # integer values: json writes 3, not 3.0
    want = [json.dumps(row) for row in top_feature_contributions(Z, names, k, raw_values=ints)]
    assert top_feature_json(Z, names, k, raw_values=ints).to_list() == want
    assert top_feature_json(Z[:0], names, k).to_list() == []

"""SKAB metrics, the 400-row protocol split and the absence of test-label leakage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vigia.timeseries.skab import (
    FEATURE_COLUMNS,
    TRAIN_ROWS,
    confusion_counts,
    covering_min,
    discover_skab_files,
    protocol_split,
    read_skab_csv,
    skab_binary_metrics,
    skab_rates,
    skab_window_to_point_flags,
)


def test_hand_worked_pooled_metrics() -> None:
    # file A: y = 1 1 1 1 0 0 0 0 0 0, pred = 1 1 1 0 1 0 0 0 0 0 -> TP 3, FN 1, FP 1, TN 5
    # file B: y = 0 0 1 1 1 1,         pred = 0 1 1 1 0 0         -> TP 2, FN 2, FP 1, TN 1
    # pooled: TP 5, TN 6, FP 2, FN 3
    # F1 = 5 / (5 + (3 + 2) / 2) = 5 / 7.5 = 0.6667; FAR = 2 / (2 + 6) = 25 %; MAR = 3 / (3 + 5) = 37.5 %
    ya, pa = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]), np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
    yb, pb = np.array([0, 0, 1, 1, 1, 1]), np.array([0, 1, 1, 1, 0, 0])
    assert confusion_counts(ya, pa) == {"tp": 3, "tn": 5, "fp": 1, "fn": 1}
    assert confusion_counts(yb, pb) == {"tp": 2, "tn": 1, "fp": 1, "fn": 2}
    m = skab_binary_metrics([ya, yb], [pa, pb])
    assert (m["tp"], m["tn"], m["fp"], m["fn"]) == (5, 6, 2, 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["far"] == pytest.approx(25.0)
    assert m["mar"] == pytest.approx(37.5)
    assert (m["f1_rounded"], m["far_rounded"], m["mar_rounded"]) == (0.67, 25.0, 37.5)
    # pooled, not averaged per file: file A alone has F1 0.75, file B alone 0.5714 (mean 0.66 != 0.6667)
    assert skab_binary_metrics([ya], [pa])["f1"] == pytest.approx(0.75)
    assert skab_binary_metrics([yb], [pb])["f1"] == pytest.approx(4 / 7)


def test_rates_edge_cases_and_auc() -> None:
    assert skab_rates(0, 10, 0, 0) == {"f1": 0.0, "far": 0.0, "mar": 0.0}
    assert skab_rates(0, 0, 0, 5)["mar"] == 100.0  # null detector
    y = np.array([0, 0, 1, 1])
    m = skab_binary_metrics([y], [y], [np.array([0.1, 0.2, 0.8, 0.9])])
    assert m["roc_auc"] == 1.0 and m["f1"] == 1.0
    assert skab_binary_metrics([np.zeros(3)], [np.zeros(3)], [np.ones(3)])["roc_auc"] is None


def test_skab_window_rule_and_covering_min() -> None:
    n, size = 12, 3
    m = n - size + 1  # 10 windows
    flags = np.zeros(m, dtype=bool)
    flags[3:7] = True  # windows 3..6 above the limit
    # notebooks' rule: i in range(2, m - 2) = 2..7 flagged iff windows i-2, i-1 both are
    pred = skab_window_to_point_flags(flags, n, size)
    assert np.flatnonzero(pred).tolist() == [5, 6, 7]
    scores = np.arange(m, dtype=float)
    assert covering_min(scores, n, size).tolist() == [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    with pytest.raises(ValueError):
        skab_window_to_point_flags(flags, n + 1, size)


def _write_skab_csv(path: Path, n: int, anomaly: slice, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURE_COLUMNS)))
    y = np.zeros(n)
    y[anomaly] = 1
    x[anomaly, 7] += 6.0
    lines = ["datetime;" + ";".join(FEATURE_COLUMNS) + ";anomaly;changepoint"]
    for i in range(n):
        ts = f"2020-03-09 10:{i // 60 % 60:02d}:{i % 60:02d}"
        lines.append(ts + ";" + ";".join(f"{v:.6f}" for v in x[i]) + f";{y[i]:.1f};0.0")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def test_read_and_protocol_split(tmp_path: Path) -> None:
    _write_skab_csv(tmp_path / "valve1" / "0.csv", 700, slice(500, 600))
    _write_skab_csv(tmp_path / "valve1" / "10.csv", 650, slice(450, 500), seed=1)
    _write_skab_csv(tmp_path / "other" / "2.csv", 650, slice(450, 500), seed=2)
    files = discover_skab_files(tmp_path, ["valve1"])
    assert [p.name for p in files] == ["0.csv", "10.csv"]  # numeric order, subset filter
    f = read_skab_csv(files[0])
    assert f.name == "valve1/0.csv" and f.x.shape == (700, 8) and f.y is not None and f.y.sum() == 100
    x_train, x_test, y_test = protocol_split(f)
    assert TRAIN_ROWS == 400
    assert x_train.shape == (400, 8) and x_test.shape == (300, 8) and y_test.shape == (300,)
    np.testing.assert_array_equal(x_train, f.x[:400])
    np.testing.assert_array_equal(x_test, f.x[400:])
    assert y_test.sum() == 100


def test_no_test_label_leakage(tmp_path: Path) -> None:
    """Changing the test labels changes the metrics but never the predictions or the threshold."""
    from vigia.bench.skab import METHODS, detect_file

    _write_skab_csv(tmp_path / "valve1" / "0.csv", 640, slice(480, 560))
    f = read_skab_csv(tmp_path / "valve1" / "0.csv")
    x_train, x_test, _ = protocol_split(f)
    spec = METHODS["conv_ae"]
    a = detect_file(x_train, x_test, [spec], max_epochs=2)["conv_ae"]
    # the detector never receives labels; perturb the labels in the file and run again
    f.y[400:] = 1 - f.y[400:]
    x_train2, x_test2, y_flipped = protocol_split(f)
    b = detect_file(x_train2, x_test2, [spec], max_epochs=2)["conv_ae"]
    assert a["ucl"] == pytest.approx(b["ucl"], rel=1e-6)
    np.testing.assert_array_equal(a["pred"], b["pred"])
    # the threshold depends on the training rows only: changing test values leaves it unchanged
    c = detect_file(x_train, x_test * 3.0 + 1.0, [spec], max_epochs=2)["conv_ae"]
    assert c["ucl"] == pytest.approx(a["ucl"], rel=1e-6)
    assert y_flipped.sum() == len(y_flipped) - 80


def test_a_skab_file_name_with_glob_characters_is_read_as_that_one_file(tmp_path: Path) -> None:
    _write_skab_csv(tmp_path / "0[1].csv", 40, slice(10, 20))
    _write_skab_csv(tmp_path / "01.csv", 70, slice(10, 20))  # what the name would match as a pattern
    assert len(read_skab_csv(tmp_path / "0[1].csv").y) == 40

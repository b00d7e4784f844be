"""Drift on real IoT-23 window features from ../shared (skipped when absent).

Windows are built with the pipeline's own code: ``load_clean_conn`` (parse + ``stg_conn``) then
``build_conn_features`` with 5-minute windows, over ``CONN_FEATURE_COLUMNS``. The definition is fixed
(no tuning): two different captures must drift, the two time halves of a benign-only capture must not.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import shared_path
from vigia.bench.zeek import load_clean_conn
from vigia.features.conn_windows import CONN_FEATURE_COLUMNS, build_conn_features
from vigia.monitoring.drift import dataset_drift

pytestmark = pytest.mark.shared
FEATURES = list(CONN_FEATURE_COLUMNS)


def _windows(*parts: str) -> pl.DataFrame:
    frame, _ = load_clean_conn(shared_path("zeek", *parts))
    return build_conn_features(frame.lazy(), window_seconds=300).collect().sort("window_start", "orig_h")


def test_two_different_captures_drift() -> None:
    mirai = _windows("iot23_raw", "CTU-IoT-Malware-Capture-34-1")  # Mirai: DDoS + C&C, 289 windows
    torii = _windows("iot23_csv", "CTU-Malware-Capture-20-1-labeled.csv")  # Torii, almost all benign, 291 windows
    report = dataset_drift(mirai.select(FEATURES), torii.select(FEATURES))
    print(
        f"\ndrift capture 34-1 (ref) vs 20-1 (cur): score={report.score:.3f} "
        f"({report.n_drifted}/{report.n_evaluated}) drifted={report.drifted}"
    )
    assert report.n_evaluated == len(FEATURES)
    assert report.score > 0.15 and report.drifted


def test_time_halves_of_a_benign_capture_do_not_drift() -> None:
    hue = _windows("iot23_csv", "CTU-Honeypot-Capture-4-1-labeled.csv")  # 452 benign flows, 147 windows
    assert hue.height > 100 and hue["label"].fill_null(0).sum() == 0
    half = hue.height // 2
    report = dataset_drift(hue[:half].select(FEATURES), hue[half:].select(FEATURES))
    print(
        f"\ndrift honeypot 4-1 first half (ref) vs second half (cur): score={report.score:.3f} "
        f"({report.n_drifted}/{report.n_evaluated}) drifted={report.drifted} {report.drifted_features}"
    )
    assert all(f.method == "ks" for f in report.features)  # 73 vs 74 windows, below the size cutoff
    assert report.score <= 0.15 and not report.drifted

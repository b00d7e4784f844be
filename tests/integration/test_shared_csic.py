"""CSIC 2010 HTTP benchmark on a subsample (skipped when the shared dataset is absent)."""

from __future__ import annotations

from tests.conftest import shared_path
from vigia.bench.http import HEADLINE, run_http_benchmark


def test_bench_http_on_csic_subsample() -> None:
    csic = shared_path("http", "csic2010")
    result = run_http_benchmark(csic, max_train=8000, max_test=6000, seed=3)
    for key in ("precision", "recall", "f1", "roc_auc", "average_precision", "confusion", "n", "seconds"):
        assert key in result
    assert result["n"] == 6000 and 1500 < result["n_anomalous"] < 3500
    assert result["n_train_fit"] + result["n_validation"] == 8000
    assert set(result["per_detector"]) >= {"iforest", "lof", "ocsvm", "consensus_k2", "novelty", HEADLINE}
    c = result["confusion"]
    assert c["tp"] + c["fp"] + c["fn"] + c["tn"] == 6000
    # Regression guard, below the full-data figures in docs/benchmarks.md (smaller vocabulary here).
    assert result["roc_auc"] > 0.9 and result["f1"] > 0.8
    assert result["validation_flag_rate"][HEADLINE] <= 0.02

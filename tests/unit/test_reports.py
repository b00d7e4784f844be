import json
from pathlib import Path

import numpy as np

from vigia.config import CalibrationConfig
from vigia.models.calibration import calibrate
from vigia.models.evaluation import binary_metrics
from vigia.reporting.plots import pr_plot, roc_plot, score_distribution_plot
from vigia.reporting.reports import metrics_markdown_table, write_evaluation_report, write_json

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_write_json_converts_numpy_and_nan(tmp_path):
    obj = {"a": np.float32(1.5), "b": np.int64(3), "c": float("nan"), "d": np.array([1.0, np.inf]),
           "e": np.datetime64("2024-01-01T00:00:00"), "f": (np.bool_(True),)}
    path = write_json(obj, tmp_path / "x.json")
    text = Path(path).read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": 1.5, "b": 3, "c": None, "d": [1.0, None], "e": "2024-01-01T00:00:00",
                                "f": [True]}


def test_markdown_table():
    md = metrics_markdown_table([{"detector": "lof", "f1": 0.123456, "roc_auc": None, "n": 5}],
                                ["detector", "f1", "roc_auc", "n"])
    assert md.splitlines() == ["| detector | f1 | roc_auc | n |", "|---|---|---|---|", "| lof | 0.1235 | n/a | 5 |"]


def test_plots_and_report(tmp_path):
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(90), np.ones(10)]
    scores = {"iforest": rng.normal(size=100) + 3 * y, "lof": rng.normal(size=100) + 2 * y}
    single = np.zeros(100)
    roc = roc_plot({"iforest": (y, scores["iforest"]), "lof": (y, scores["lof"]), "flat": (single, scores["lof"])},
                   tmp_path / "roc.png")
    pr = pr_plot({"iforest": (y, scores["iforest"]), "flat": (single, scores["lof"])}, tmp_path / "pr.png")
    dist = score_distribution_plot(scores, y, {"iforest": 1.5, "lof": 1.0}, tmp_path / "dist.png")
    only_single = roc_plot({"flat": (single, scores["lof"])}, tmp_path / "roc_single.png")
    unlabelled = score_distribution_plot(scores, None, None, tmp_path / "dist_unlabelled.png")
    for p in (roc, pr, dist, only_single, unlabelled):
        with open(p, "rb") as fh:
            assert fh.read(8) == PNG_MAGIC

    thresholds = {n: calibrate(s, y, CalibrationConfig()) for n, s in scores.items()}
    metrics = {n: binary_metrics(y, s, s >= thresholds[n].threshold) for n, s in scores.items()}
    metrics["flat"] = binary_metrics(single, scores["lof"], scores["lof"] > 0)
    paths = write_evaluation_report("toy", metrics, thresholds, tmp_path / "report",
                                    extra={"split": {"cuts": [1, 2]}, "auc": float("nan")},
                                    plots={"ROC": roc, "PR": pr})
    report = json.loads(Path(paths["json"]).read_text())
    assert report["dataset"] == "toy" and report["detectors"] == ["iforest", "lof", "flat"]
    assert report["metrics"]["flat"]["roc_auc"] is None and report["extra"]["auc"] is None
    assert report["thresholds"]["iforest"]["rule"] == thresholds["iforest"].rule
    md = Path(paths["markdown"]).read_text()
    assert "| detector | precision | recall | f1 |" in md
    assert "| iforest |" in md and "actual malicious" in md and "](../roc.png)" in md


def test_report_links_existing_pngs_and_handles_unlabelled_metrics(tmp_path):
    score_distribution_plot({"a": np.arange(10.0)}, None, {"a": 5.0}, tmp_path / "score_distributions.png")
    paths = write_evaluation_report("toy", {"a": {"n": 10, "flagged": 2}}, {"a": {"rule": "mad", "threshold": 5.0}},
                                    tmp_path)
    md = Path(paths["markdown"]).read_text()
    assert "![score distributions](score_distributions.png)" in md and "| a | n/a |" in md

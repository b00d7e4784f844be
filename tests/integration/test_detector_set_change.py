"""A detector added to a dataset's YAML after days were scored: once retrained, every day (scored before or
not) scores and alerts again; the score tables gain the new detector's column, NULL for the days not rescored."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import build_definitions
from tests.conftest import SMALL_DATASET_YAML
from tests.staging import FEATURE_ASSETS, TRAIN_ASSETS, range_tags, run_job, use_folders

pytestmark = pytest.mark.slow

OCSVM = "  - {name: ocsvm, type: ocsvm, params: {nu: 0.02}}\n"
DAYS = ["2026-01-05", "2026-01-06", "2026-01-07"]
RANGE = range_tags(DAYS[0], DAYS[-1])


def test_scoring_after_a_detector_is_added(
    tmp_path: Path, small_dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yaml_path = small_dataset_dir / "nettest.yaml"
    full = SMALL_DATASET_YAML.format(rows=10_000)
    assert OCSVM in full
    yaml_path.write_text(full.replace(OCSVM, ""))
    use_folders(monkeypatch, small_dataset_dir, tmp_path / "data")

    with dg.instance_for_test() as instance:
        defs = build_definitions()
        assert run_job(instance, defs, "nettest", "daily", FEATURE_ASSETS, tags=RANGE).success
        assert run_job(instance, defs, "nettest", "train", TRAIN_ASSETS).success
        assert run_job(instance, defs, "nettest", "daily", ["window_scores", "alerts"], tags=RANGE).success

        yaml_path.write_text(full)  # a third detector, then retrain: the champion now has score_ocsvm
        defs = build_definitions()
        assert run_job(instance, defs, "nettest", "train", TRAIN_ASSETS).success
        assert run_job(instance, defs, "nettest", "daily", ["window_scores", "alerts"], partition_key=DAYS[-1]).success

    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    try:
        for table in ("window_scores", "alerts"):
            columns = [r[0] for r in con.execute(f"DESCRIBE nettest.{table}").fetchall()]
            assert {"score_iforest", "score_lof", "score_ocsvm"} <= set(columns), table
        by_day = dict(
            con.execute(
                "SELECT strftime(day, '%Y-%m-%d'), count(score_ocsvm) FROM nettest.window_scores GROUP BY ALL"
            ).fetchall()
        )
        assert by_day[DAYS[0]] == 0 and by_day[DAYS[-1]] > 0
    finally:
        con.close()


def test_retraining_after_one_detector_becomes_two_with_k_unset(
    tmp_path: Path, small_dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One detector (k defaults to 1), then a second with consensus.k still unset (the default becomes 2): the
    champion asset measures the one-detector champion at the file's k capped at its detectors (1), so retraining
    succeeds, and the old version still scores when chosen by run config."""
    from vigia.pipeline.model_store import CHAMPION, pointer

    yaml_path = small_dataset_dir / "nettest.yaml"
    full = SMALL_DATASET_YAML.format(rows=5_000).replace("consensus: {k: 2}\n", "")
    lof = "  - {name: lof, type: lof, params: {n_neighbors: 20}}\n"
    assert OCSVM in full and lof in full and "consensus" not in full
    yaml_path.write_text(full.replace(OCSVM, "").replace(lof, ""))
    use_folders(monkeypatch, small_dataset_dir, tmp_path / "data")

    with dg.instance_for_test() as instance:
        defs = build_definitions()
        assert run_job(instance, defs, "nettest", "daily", FEATURE_ASSETS, tags=RANGE).success
        assert run_job(instance, defs, "nettest", "train", TRAIN_ASSETS).success
        old = pointer(tmp_path / "data" / "models" / "nettest", CHAMPION)["version"]

        yaml_path.write_text(full.replace(OCSVM, ""))  # iforest + lof, consensus.k unset: 2
        defs = build_definitions()
        assert run_job(instance, defs, "nettest", "train", TRAIN_ASSETS).success
        assert run_job(instance, defs, "nettest", "daily", ["window_scores"], partition_key=DAYS[-1]).success
        config = {"ops": {"nettest__window_scores": {"config": {"model_version": old}}}}
        old_scores = run_job(instance, defs, "nettest", "daily", ["window_scores"], partition_key=DAYS[-1],
                             run_config=config)
        assert old_scores.success

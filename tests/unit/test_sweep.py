import json
from pathlib import Path

from vigia.config import DatasetConfig
from vigia.pipeline.sweep import SWEEP_FILE, apply_best, grid_trials, rank_trials


def _cfg(**over: object) -> DatasetConfig:
    raw = {
        "name": "p",
        "kind": "sensor_timeseries",
        "source": {"type": "synthetic_pump"},
        "sql_models": "sensors",
        "partitions": {"start": "2026-01-01", "end": "2026-01-03"},
        "series": {"window": 20, "step": 5},
        "detectors": [{"name": "ae", "type": "lstm_autoencoder", "params": {"epochs": 3}}],
        "consensus": {"k": 1},
        "sweep": {"grid": {"dropout": [0.0, 0.2], "window": [20, 30]}, "max_trials": 3},
    }
    raw.update(over)
    return DatasetConfig.model_validate(raw)


def test_grid_is_a_stable_cartesian_product_capped() -> None:
    trials = grid_trials({"b": [1, 2], "a": ["x", "y"]}, max_trials=3)
    assert trials == [{"a": "x", "b": 1}, {"a": "x", "b": 2}, {"a": "y", "b": 1}]


def test_apply_best_merges_architecture_but_not_other_windows(tmp_path: Path) -> None:
    cfg = _cfg()
    assert cfg.detectors[0].params["timesteps"] == 20
    assert apply_best(cfg, tmp_path) == (cfg, None)
    best = {"params": {"dropout": 0.2, "window": 30}, "f1": 0.7}
    record = {"detector": "ae", "grid": cfg.sweep.grid, "best": best, "trials": [best]}
    (tmp_path / SWEEP_FILE).write_text(json.dumps(record))
    new, applied = apply_best(cfg, tmp_path)
    assert new.detectors[0].params == {"timesteps": 20, "epochs": 3, "dropout": 0.2}
    assert "not applied" in applied["note"]
    off = _cfg(sweep={"grid": {"dropout": [0.1]}, "apply_best": False})
    assert apply_best(off, tmp_path) == (off, None)


def test_a_sweep_of_another_grid_or_none_configured_is_not_applied(tmp_path: Path) -> None:
    best = {"params": {"dropout": 0.2}, "f1": 0.7}
    (tmp_path / SWEEP_FILE).write_text(json.dumps({"detector": "ae", "grid": {"dropout": [0.2, 0.5]}, "best": best}))
    cfg = _cfg()  # its grid differs from the recorded one
    new, applied = apply_best(cfg, tmp_path)
    assert new == cfg and "another grid or detector" in applied["note"]
    no_grid = _cfg(sweep={})
    assert apply_best(no_grid, tmp_path) == (no_grid, None)  # the sweep was removed from the config


def test_trials_without_positives_are_not_ranked() -> None:
    trials = [{"params": {"a": 1}, "f1": 0.0, "rankable": False}, {"params": {"a": 2}, "f1": 0.0, "rankable": False}]
    result = rank_trials(trials)
    assert result["best"] is None and "cannot be ranked" in result["note"]
    scored = [{"params": {"a": 1}, "f1": 0.4, "rankable": True}, {"params": {"a": 2}, "f1": 0.6, "rankable": True}]
    assert rank_trials(scored)["best"]["params"] == {"a": 2}

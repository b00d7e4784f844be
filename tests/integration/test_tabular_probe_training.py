"""train_and_promote of the tabular kind (MLflow logging and registry promotion stubbed, logistic regression only):
the held-out rows stay held out across retrains, the id column is no feature, labelled batch rows already in
the training data are not added twice, and the rejected training rows are quoted when training is impossible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

import vigia.pipeline.tabular_training as tt
from vigia.config import DatasetConfig
from vigia.tabular.synth import generate_customers


def _cfg(tmp_path: Path, entity_key: str | None = "customer_id") -> DatasetConfig:
    return DatasetConfig.model_validate(
        {
            "name": "loans",
            "kind": "tabular_supervised",
            "source": {"type": "tabular_files", "path": str(tmp_path)},
            "label_column": "target",
            "entity_key": entity_key,
            "value_matrix": "fp=1,fn=5",
            "seed": 3,
        }
    )


def _extract(rows: int, seed: int, name: str, **kw: Any) -> pl.DataFrame:
    return generate_customers(rows, seed, **kw).with_columns(pl.lit(name).alias("source_file"))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Stub MLflow and the registry; record what fit_and_select trained on and what evaluate_model scored."""
    seen: dict[str, list] = {"fit": [], "evaluated": []}
    fit, evaluate = tt.fit_and_select, tt.evaluate_model

    def fit_logreg(train: pl.DataFrame, **kw: Any):
        best, models = fit(train, kinds=("logreg",), cv_repeats=1, **kw)
        seen["fit"].append((train, best))
        return best, models

    def evaluate_recorded(model, frame: pl.DataFrame, probability=None) -> dict:
        seen["evaluated"].append(frame)
        return evaluate(model, frame, probability)

    monkeypatch.setattr(tt, "fit_and_select", fit_logreg)
    monkeypatch.setattr(tt, "evaluate_model", evaluate_recorded)
    monkeypatch.setattr(tt, "_log_mlflow", lambda *a, **k: {"run_id": "r", "experiment_id": "e",
                                                              "registered_version": "1"})  # fmt: skip
    monkeypatch.setattr("vigia.tracking.registry.promote", lambda *a, **k: None)
    return seen


def _train(tmp_path: Path, training: pl.DataFrame, batch: pl.DataFrame, cfg: DatasetConfig, run: str, **kw: Any):
    (tmp_path / "reports").mkdir(parents=True, exist_ok=True)
    return tt.train_and_promote(training, batch, cfg, tmp_path / "models", tmp_path / "reports", {},
                                lambda e, r: f"{e}/{r}", run, **kw)  # fmt: skip


def test_the_id_column_is_no_model_feature(tmp_path: Path, calls: dict[str, list]) -> None:
    _train(tmp_path, _extract(400, 1, "p1.csv"), _extract(50, 2, "b.csv").head(0), _cfg(tmp_path), "run1")
    model = calls["fit"][0][1]
    assert "customer_id" not in model.spec.columns and "customer_id" not in model.known_categories
    assert "segment" in model.spec.categorical


def test_the_champion_is_scored_on_rows_it_never_trained_on(tmp_path: Path, calls: dict[str, list]) -> None:
    cfg = _cfg(tmp_path)
    training = pl.concat([_extract(300, 4 + i, f"p{i}.csv") for i in range(3)])
    _train(tmp_path, training, training.head(0), cfg, "run1")
    champion_train = calls["fit"][0][0]
    # The drifted batch comes back labelled: the retrain adds it, and the champion rule scores the champion
    # on the new held-out rows, none of which it was trained on.
    batch = _extract(300, 99, "batch_002.csv", drifted=True)
    outcome = _train(tmp_path, training, batch, cfg, "run2")
    assert outcome["added_batch_rows"] == 300 and outcome["decision"]["reason"].startswith(("champion", "candidate"))
    heldout = calls["evaluated"][-1]
    assert heldout.height > 150 and heldout.join(champion_train, on="customer_id", how="semi").height == 0


def test_labelled_batch_rows_already_in_the_training_data_are_not_added_again(
    tmp_path: Path, calls: dict[str, list]
) -> None:
    first, batch = _extract(400, 1, "p1.csv"), _extract(200, 2, "batch.csv")
    training = pl.concat([first, batch.with_columns(pl.lit("p2.csv").alias("source_file"))])  # copied in
    for key in ("customer_id", None):
        outcome = _train(tmp_path / str(key), training, batch, _cfg(tmp_path, key), f"run-{key}")
        assert outcome["added_batch_rows"] == 0 and outcome["skipped_batch_rows"] == 200
        assert calls["fit"][-1][0].height + calls["evaluated"][-1].height == 600


def test_the_rejected_training_rows_are_quoted_when_the_rest_cannot_be_trained_on(
    tmp_path: Path, calls: dict[str, list]
) -> None:
    training = _extract(200, 1, "p1.csv").filter(pl.col("target") == 0)
    rejects = pl.DataFrame({"source_file": ["p1.csv"] * 153, "line_number": list(range(2, 155)),
                            "reason": ["target 'target' value '-1' is not 1/0"] * 153})  # fmt: skip
    with pytest.raises(ValueError, match=r"single class; 153 training rows were rejected \(e\.g\. p1\.csv line 2: "
                       r"target 'target' value '-1' is not 1/0\)"):  # fmt: skip
        _train(tmp_path, training, training.head(0), _cfg(tmp_path), "run1", rejects=rejects)

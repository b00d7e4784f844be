"""Train, track, promote and apply the supervised model of a tabular dataset (runs inside asset bodies)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from vigia.config import DatasetConfig
from vigia.pipeline import model_store
from vigia.pipeline.tabular import (
    BATCH_TABLE,
    LOG_TABLE,
    PREDICTIONS_TABLE,
    TRAINING_TABLE,
    inference_log_row,
    value_matrix,
)
from vigia.reporting.reports import metrics_markdown_table, write_json
from vigia.tabular.model import (
    CreditModel,
    calibration_plot,
    check_trainable,
    evaluate_model,
    fit_and_select,
    heldout_mask,
    infer_features,
    kind_changes,
    load_model,
    non_numeric_values,
    predict_batch,
    save_model,
    unseen_categories,
)
from vigia.tabular.uncertainty import heldout_intervals
from vigia.tabular.value import batch_value, labelled_value
from vigia.warehouse.duck import append_frame, qualified, read_frame, replace_table_from_frame, table_exists

METRIC_NAME = "heldout_average_precision"
MODEL_FILE = "model.joblib"
SUMMARY_COLUMNS = ["model", "roc_auc", "average_precision", "f1", "precision", "recall", "brier", "threshold"]


def _champion(models_dir: Path) -> tuple[CreditModel | None, str | None]:
    if not model_store.has_pointer(models_dir, model_store.CHAMPION):
        return None, None
    ref = model_store.pointer(models_dir, model_store.CHAMPION)
    return load_model(model_store.version_dir(models_dir, ref["version"]) / MODEL_FILE, ref["sha256"]), ref["version"]


def _log_mlflow(
    model: CreditModel, metrics: dict[str, Any], plot: str, tags: dict[str, str], name: str, example: pl.DataFrame
) -> dict:
    """One MLflow run (scikit-learn flavour with signature) and a registered version of ``name``."""
    import mlflow
    from mlflow.models import infer_signature

    from vigia.tabular.model import to_model_input
    from vigia.tracking.mlflow_runs import clean_metrics, flatten_params
    from vigia.tracking.registry import register_version

    with mlflow.start_run(
        run_name=f"{model.kind}-classifier", nested=mlflow.active_run() is not None, tags=tags
    ) as run:
        mlflow.log_params(flatten_params({k: v for k, v in model.summary().items() if k != "validation"}))
        mlflow.log_metrics(clean_metrics({k: v for k, v in metrics.items() if not isinstance(v, dict | list)}))
        mlflow.log_artifact(plot, artifact_path="plots")
        x = to_model_input(example, model.spec)
        signature = infer_signature(x, model.pipeline.predict_proba(x))
        info = mlflow.sklearn.log_model(model.pipeline, name="model", signature=signature, input_example=x,
                                        serialization_format="cloudpickle")  # fmt: skip
        version = register_version(info.model_uri, name, tags)
        return {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id, "registered_version": version}


INTERVAL_COLUMNS = ["figure", "estimate", "low", "high", "standard_error"]


def _intervals_markdown(intervals: dict[str, dict[str, Any]]) -> str:
    """The chosen model's held-out figures with their bootstrap intervals, as a table ('' when there are none)."""
    if not intervals:
        return ""
    first = next(iter(intervals.values()))
    head = (f"Chosen model, {first['confidence']:.0%} bootstrap intervals over the held-out rows "
            f"({first['n_resamples']} resamples within each class; model and threshold fixed):")  # fmt: skip
    rows = [{"figure": k, **v} for k, v in intervals.items()]
    return f"{head}\n\n{metrics_markdown_table(rows, INTERVAL_COLUMNS)}\n"


def with_batch_labels(training: pl.DataFrame, batch: pl.DataFrame, cfg: DatasetConfig) -> tuple[pl.DataFrame, int, int]:
    """The training rows plus the batch's labelled rows that are not already training rows (same
    ``entity_key``, or without one the same values in every column but ``source_file``).

    Returns the data, the rows added and the labelled rows skipped as already there."""
    target = cfg.label_column or "target"
    if target not in batch.columns or batch[target].null_count() == batch.height:
        return training, 0, 0
    labelled = batch.filter(pl.col(target).is_not_null()).select(training.columns)
    if cfg.entity_key:
        known = training.get_column(cfg.entity_key).drop_nulls().implode()
        new = labelled.filter(pl.col(cfg.entity_key).is_null() | ~pl.col(cfg.entity_key).is_in(known))
    else:
        on = [c for c in training.columns if c != "source_file"]
        new = labelled.cast(dict(training.select(on).schema), strict=False).join(
            training.select(on).unique(), on=on, how="anti", nulls_equal=True
        )
    data = pl.concat([training, new], how="vertical_relaxed")
    return data, new.height, labelled.height - new.height


def rejects_note(rejects: pl.DataFrame | None) -> str:
    """E.g. ``153 training rows were rejected (e.g. p1.csv line 2: target 'target' value '-1' is not 1/0)``."""
    if rejects is None or rejects.height == 0:
        return ""
    first = rejects.row(0, named=True)
    return (f"{rejects.height} training rows were rejected (e.g. {first['source_file']} line {first['line_number']}: "
            f"{first['reason']})")  # fmt: skip


def train_and_promote(
    training: pl.DataFrame,
    batch: pl.DataFrame,
    cfg: DatasetConfig,
    models_dir: Path,
    reports_dir: Path,
    tags: dict[str, str],
    run_url: Callable[[str, str], str],
    run_id: str,
    rejects: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """Fit both model kinds, keep the better, evaluate on the fixed held-out split, log, apply the champion rule.

    The held-out rows are those of :func:`~vigia.tabular.model.heldout_mask` (by ``entity_key`` when set): a
    row stays on its side across retrains, so the champion is never scored on rows it was trained on.
    ``rejects`` (the training table's rejected rows) is quoted when the data cannot be trained on."""
    from vigia.tracking.registry import decide_promotion, promote

    target = cfg.label_column or "target"
    data, added, skipped = with_batch_labels(training, batch, cfg)
    try:
        check_trainable(data, target, cfg.split.test)
    except ValueError as exc:
        note = rejects_note(rejects)
        if note:
            raise ValueError(f"{exc}; {note}") from exc
        raise
    held = pl.Series(heldout_mask(data, target, test_size=cfg.split.test, seed=cfg.seed, key=cfg.entity_key))
    train, heldout = data.filter(~held), data.filter(held)
    if heldout[target].n_unique() < 2:
        raise ValueError(f"the held-out rows ({heldout.height}, split.test {cfg.split.test}) hold a single class of "
                         f"{target!r}: the champion rule needs both; add labelled rows")  # fmt: skip
    spec = infer_features(train, target, exclude=[cfg.entity_key] if cfg.entity_key else ())
    best, candidates = fit_and_select(train, target=target, spec=spec, value_matrix=value_matrix(cfg), seed=cfg.seed)
    probs = {kind: m.predict_proba(heldout) for kind, m in candidates.items()}  # best is candidates[best.kind]
    metrics = {kind: evaluate_model(m, heldout, probs[kind]) for kind, m in candidates.items()}
    metrics["chosen"] = metrics[best.kind]
    y = heldout[target].to_numpy()
    intervals = heldout_intervals(y, probs[best.kind], best.threshold, best.value_matrix, seed=cfg.seed)
    plot = calibration_plot({k: (y, p) for k, p in probs.items()}, reports_dir / "calibration.png")

    version = model_store.new_version_id(run_id)
    directory = model_store.version_dir(models_dir, version)
    digest = save_model(best, directory / MODEL_FILE)
    # The population this version learned from (training extracts + labelled batch rows): the drift reference.
    data.drop(target).write_parquet(directory / model_store.REFERENCE_FILE)
    write_json({"version": version, "sha256": digest, **best.summary()}, directory / model_store.MANIFEST_FILE)

    champion, champion_version = _champion(models_dir)
    champion_metric = evaluate_model(champion, heldout)["average_precision"] if champion is not None else None
    decision = decide_promotion(metrics["chosen"]["average_precision"], champion_metric, cfg.promotion.tolerance,
                                METRIC_NAME, champion_version=champion_version)  # fmt: skip
    name = f"vigia-{cfg.name}-classifier"
    bounds = {f"{k}_ci_{side}": v[side] for k, v in intervals.items() for side in ("low", "high")}
    logged = _log_mlflow(best, {**metrics["chosen"], **bounds}, plot, {**tags, "model_version": version}, name,
                         heldout.head(5))  # fmt: skip
    if decision.promote:
        promote(name, logged["registered_version"], METRIC_NAME, metrics["chosen"]["average_precision"])
        model_store.set_champion(models_dir, version, {"metric_name": METRIC_NAME, "reason": decision.reason})
        champion_version = version
    pruned = model_store.prune_versions(models_dir, cfg.promotion.keep_versions)
    rows = [{"model": k, **{c: m.get(c) for c in SUMMARY_COLUMNS[1:]}} for k, m in metrics.items()]
    summary = {
        "dataset": cfg.name,
        "version": version,
        "metrics": metrics,
        "threshold": best.threshold_choice,
        "test_intervals": intervals,
        "decision": decision.__dict__,
        "added_batch_rows": added,
        "skipped_batch_rows": skipped,
    }
    report = write_json(summary, reports_dir / "evaluation.json")
    (reports_dir / "evaluation.md").write_text(
        f"# Evaluation: {cfg.name}\n\nModel version {version} ({best.kind}, calibration {best.calibration}), "
        f"held-out {heldout.height} rows.\n\n{metrics_markdown_table(rows, SUMMARY_COLUMNS)}\n\n"
        f"{_intervals_markdown(intervals)}"
        f"Decision threshold: {best.threshold:.4f} ({best.threshold_choice.get('criterion', '')}).\n\n"
        f"Champion rule: {decision.reason}\n\n![calibration](calibration.png)\n"
    )
    return {
        "version": version,
        "champion_version": champion_version or "",
        "decision": {"promote": decision.promote, "reason": decision.reason},
        "metrics": {k: {m: v for m, v in d.items() if not isinstance(v, dict | list)} for k, d in metrics.items()},
        "threshold": best.threshold_choice,
        "test_intervals": intervals,
        "run_url": run_url(logged["experiment_id"], logged["run_id"]),
        "report": str(report),
        "plots": {"Calibration": Path(plot)},
        "added_batch_rows": added,
        "skipped_batch_rows": skipped,
        "pruned_versions": pruned,
    }


def drift_reference(con: duckdb.DuckDBPyConnection, cfg: DatasetConfig, models_dir: Path) -> tuple[pl.DataFrame, str]:
    """The champion's training population (its ``reference.parquet``), else the training table.

    Returns the frame and where it came from (``model <version>`` or ``training table``).
    """
    if model_store.has_pointer(models_dir, model_store.CHAMPION):
        version = model_store.pointer(models_dir, model_store.CHAMPION)["version"]
        path = model_store.version_dir(models_dir, version) / model_store.REFERENCE_FILE
        if path.exists():
            return pl.read_parquet(path, glob=False), f"model {version}"
    return read_frame(con, cfg.name, TRAINING_TABLE), "training table"


def score_batch(con: duckdb.DuckDBPyConnection, batch: pl.DataFrame, cfg: DatasetConfig, models_dir: Path) -> dict:
    """Score ``batch`` with the champion; write the predictions and append one inference-log row."""
    model, version = _champion(models_dir)
    if model is None:
        raise FileNotFoundError(f"no champion model in {models_dir}: materialize the model asset first")
    scored = predict_batch(model, batch)
    target = cfg.label_column
    value = {}
    if model.value_matrix is not None:
        p, d = scored["probability"].to_numpy(), scored["decision"].to_numpy()
        value = batch_value(model.value_matrix, p, d, None)
        if target and target in batch.columns and batch[target].null_count() < batch.height:
            # Outcomes that came with the batch: the value the decisions actually realised on those rows.
            y = batch[target].cast(pl.Float64).fill_null(float("nan")).to_numpy()
            value |= labelled_value(model.value_matrix, d, y)
    batch_file = Path(str(batch["source_file"][0]))
    labelled = batch.height - batch[target].null_count() if target and target in batch.columns else 0
    row = inference_log_row(batch_file, version or "", scored, value, labelled_rows=labelled,
                            rows_rejected=_batch_rejects(con, cfg.name, batch_file.name))  # fmt: skip

    def log_batch(c: duckdb.DuckDBPyConnection) -> None:
        append_frame(c, cfg.name, LOG_TABLE, row, evolve_columns=True)

    # The predictions and their log row land together, or neither does.
    replace_table_from_frame(con, cfg.name, PREDICTIONS_TABLE, scored, before_commit=log_batch)
    return {
        "rows": scored.height,
        "flagged": int(np.asarray(scored["decision"]).sum()),
        "model_version": version,
        "value": value,
        "unseen_categories": unseen_categories(model, batch),
        # Numeric inputs of the champion that the batch holds as text (the training table's kind changed
        # since): scored with their non-numbers as missing values.
        "kind_changes": kind_changes(model.spec, batch),
        "non_numeric_values": non_numeric_values(model.spec, batch),
    }


def _batch_rejects(con: duckdb.DuckDBPyConnection, schema: str, batch_file: str) -> int:
    """Records of ``batch_file`` that its latest read rejected (``inference_batch_rejects``)."""
    table = f"{BATCH_TABLE}_rejects"
    if not table_exists(con, schema, table):
        return 0
    sql = f"SELECT count(*) FROM {qualified(schema, table)} WHERE source_file = ?"
    return int(con.execute(sql, [batch_file]).fetchall()[0][0])

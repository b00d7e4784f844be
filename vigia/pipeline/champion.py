"""Track a candidate model version in MLflow, register it, and apply the champion rule.

Called inside an active MLflow parent run (the Dagster layer opens it through dagster-mlflow); every
detector gets a nested run with its parameters, validation and test metrics, plots and the model
(scikit-learn flavour with a signature), and a registered model version ``vigia-<dataset>-<detector>``.
The champion rule compares the candidate and the current champion on the same validation windows
(consensus F1 at each one's calibrated thresholds); the ``champion`` alias of every detector's
registered model and ``champion.json`` on disk move together, or not at all.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vigia.config import DatasetConfig
from vigia.pipeline import model_store
from vigia.pipeline.promotion import METRIC_NAME, validation_metric
from vigia.tracking.mlflow_runs import log_detector_run
from vigia.tracking.registry import (
    PromotionDecision,
    champion_version,
    decide_promotion,
    promote,
    register_version,
    restore_champion,
)

log = logging.getLogger(__name__)


@dataclass
class PromotionOutcome:
    decision: PromotionDecision
    candidate_version: str
    champion_version: str
    champion_record: dict[str, Any]
    runs: dict[str, dict[str, str]] = field(default_factory=dict)
    registered: dict[str, str] = field(default_factory=dict)
    parent_run_url: str = ""


def registered_name(dataset: str, detector: str) -> str:
    return f"vigia-{dataset}-{detector}"


def _detector_metrics(details: dict[str, Any], evaluation: dict[str, Any], name: str) -> dict[str, float | None]:
    metrics: dict[str, float | None] = {"threshold": details[name]["threshold"]}
    for key, value in (details[name].get("metrics") or {}).items():
        metrics[f"val_{key}"] = value if isinstance(value, int | float) else None
    for key, value in (evaluation.get(name) or {}).items():
        metrics[f"test_{key}"] = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    return metrics


def _evaluation_metrics(reports_dir: Path) -> dict[str, Any]:
    path = reports_dir / "evaluation.json"
    if not path.exists():
        return {}
    report = json.loads(path.read_text())
    return report.get("metrics") or report.get("metrics_by_detector") or {}


def _evaluation_plots(reports_dir: Path) -> dict[str, Path]:
    """The plots of the candidate's evaluation (``evaluation.json["plots"]``), not every PNG left in the folder;
    an ``evaluation.json`` without that key (older reports): every PNG of the folder, as before."""
    path = reports_dir / "evaluation.json"
    listed = json.loads(path.read_text()).get("plots") if path.exists() else None
    if listed is None:
        return {p.stem: p for p in sorted(reports_dir.glob("*.png"))}
    plots = {}
    for value in listed.values():
        p = Path(value)
        p = p if p.is_file() else reports_dir / p.name  # written relative to another working directory
        if p.is_file():
            plots[p.stem] = p
    return plots


def promote_candidate(
    features: pl.DataFrame,
    cfg: DatasetConfig,
    models_dir: Path,
    reports_dir: Path,
    tags: dict[str, str],
    run_url: Any,
    run_id: str | None = None,
) -> PromotionOutcome:
    """Log the candidate's detectors, register them, and promote the candidate if the rule allows; with
    ``run_id``, only a candidate that run trained (see ``model_store.load_model_set``)."""
    import mlflow

    candidate, cand_version = model_store.load_model_set(models_dir, model_store.CANDIDATE, run_id=run_id)
    details = model_store.load_threshold_details(models_dir, cand_version)
    cand_thresholds = {n: float(t["threshold"]) for n, t in details.items()}
    cand_metric = validation_metric(features, candidate, cand_thresholds, cfg)

    champ_metric, champ_version, lost = None, None, None
    if model_store.has_pointer(models_dir, model_store.CHAMPION):
        try:
            champ, champ_version = model_store.load_model_set(models_dir, model_store.CHAMPION)
        except FileNotFoundError as exc:  # its folder was deleted or not restored: nothing to compare against
            lost = str(exc)
        else:
            champ_metric = validation_metric(
                features, champ, model_store.load_thresholds(models_dir, champ_version), cfg
            )
    if lost is not None:
        decision = PromotionDecision(
            promote=True, reason=f"the candidate replaces a champion that cannot be loaded ({lost})",
            candidate=cand_metric, champion=None, tolerance=cfg.promotion.tolerance, metric_name=METRIC_NAME,
        )  # fmt: skip
    elif champ_version == cand_version:
        decision = PromotionDecision(
            promote=False, reason=f"candidate {cand_version} is already the champion", candidate=cand_metric,
            champion=champ_metric, tolerance=cfg.promotion.tolerance, metric_name=METRIC_NAME,
        )  # fmt: skip
    elif cand_metric is None and champ_metric is None and champ_version is not None:
        # Both are measured on the same validation windows: no labels, or labels of one class only (a labelled
        # dataset with no attack in that period). Nothing to compare on: the newest model is promoted, or the
        # first champion would be kept forever.
        why = "validation labels hold one class" if candidate.labelled else "unlabelled dataset"
        decision = PromotionDecision(
            promote=True, reason=f"{why}: no validation metric, the newest model is promoted",
            candidate=None, champion=None, tolerance=cfg.promotion.tolerance, metric_name=METRIC_NAME,
        )  # fmt: skip
    else:
        decision = decide_promotion(
            cand_metric, champ_metric, cfg.promotion.tolerance, METRIC_NAME, champion_version=champ_version
        )

    evaluation = _evaluation_metrics(reports_dir)
    plots = _evaluation_plots(reports_dir)
    x_example = model_store.load_reference(models_dir, cand_version).head(5).to_numpy().astype(np.float64)
    run_tags = {**tags, "model_version": cand_version, "training_window": candidate.split_bounds.get("train", "")}
    parent = mlflow.active_run()
    outcome = PromotionOutcome(
        decision=decision,
        candidate_version=cand_version,
        champion_version=champ_version or "",
        champion_record={},
        parent_run_url=run_url(parent.info.experiment_id, parent.info.run_id) if parent else "",
    )
    for name, fitted in candidate.detectors.items():
        info = log_detector_run(
            detector_name=name,
            detector_type=fitted.type,
            estimator=fitted.estimator,
            preprocessor=candidate.preprocessor,
            params={**fitted.params, "n_train": fitted.n_train, "calibration": details[name].get("rule")},
            metrics={**_detector_metrics(details, evaluation, name), METRIC_NAME: cand_metric},
            tags=run_tags,
            input_example=x_example,
            feature_names=candidate.feature_columns,
            plots=plots,
        )
        reg_name = registered_name(cfg.name, name)
        outcome.runs[name] = {"run_id": info.run_id, "url": run_url(info.experiment_id, info.run_id)}
        outcome.registered[reg_name] = register_version(info.model_uri, reg_name, run_tags)
    if decision.promote:
        outcome.champion_record = _promote_together(models_dir, cand_version, outcome.registered, {
            "metric_name": METRIC_NAME, "metric_value": cand_metric, "registered_versions": outcome.registered,
            "reason": decision.reason,
        })  # fmt: skip
        outcome.champion_version = cand_version
    else:
        outcome.champion_record = model_store.pointer(models_dir, model_store.CHAMPION)
    return outcome


def _promote_together(
    models_dir: Path, version: str, registered: dict[str, str], details: dict[str, Any]
) -> dict[str, Any]:
    """Move every registered model's ``champion`` alias, then ``champion.json``; on any failure the aliases go back
    to where they were (removed where there was none) and the error is raised."""
    before = {}
    for name in registered:
        info = champion_version(name)
        before[name] = info.version if info else None
    try:
        for name, reg_version in registered.items():
            promote(name, reg_version, METRIC_NAME, details["metric_value"])
        return model_store.set_champion(models_dir, version, details)
    except BaseException:
        for name, previous in before.items():
            try:
                restore_champion(name, previous)
            except Exception as exc:  # keep the original error; say which alias is left wrong
                log.error("could not restore the champion alias of %s to %s: %s", name, previous, exc)
        raise

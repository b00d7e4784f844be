"""Sensor-kind report plots: training curves, reconstruction vs actual, the test series with alarms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from vigia.config import DatasetConfig
from vigia.models.evaluation import consensus_flags
from vigia.pipeline.training import ModelSet, distinct_detector_scores, flags_for, split_frame
from vigia.reporting.series_plots import reconstruction_plot, series_alarm_plot, training_curves_plot


def sensor_names(feature_columns: list[str]) -> list[str]:
    return [c.rpartition("__t")[0] for c in feature_columns if c.endswith("__t00")]


def sensor_report_plots(
    features: pl.DataFrame, model_set: ModelSet, thresholds: dict[str, float], cfg: DatasetConfig, out_dir: Path
) -> dict[str, str]:
    """PNG plots of the test period; autoencoder plots only when the model set has an autoencoder."""
    test = split_frame(features, cfg)["test"]
    found = distinct_detector_scores(model_set, test)
    scores, x = found.expanded_scores(), found.expand(found.x)
    alarms = consensus_flags(flags_for(scores, thresholds), cfg.consensus.k)
    sensors = sensor_names(model_set.feature_columns)
    plots = {"Series with alarms": series_alarm_plot(test.with_columns(pl.Series("is_anomaly", alarms)),
                                                     sensors[0], out_dir / "series_alarms.png")}  # fmt: skip
    autoencoders = {n: d.estimator for n, d in model_set.detectors.items() if hasattr(d.estimator, "history_")}
    if autoencoders:
        plots["Training curves"] = training_curves_plot(
            {n: e.history_ for n, e in autoencoders.items()}, out_dir / "training_curves.png"
        )
        name, estimator = next(iter(autoencoders.items()))
        worst = int(np.argmax(scores[name]))
        actual = estimator._windows(x[worst : worst + 1])[0]
        rebuilt = estimator.reconstruct(x[worst : worst + 1])[0]
        plots["Reconstruction vs actual"] = reconstruction_plot(
            actual, rebuilt, sensors, out_dir / "reconstruction.png"
        )
    return plots

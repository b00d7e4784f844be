"""Plots of the sensor kind: autoencoder training curves, reconstruction vs actual, the series with alarms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from vigia.reporting.plots import _save, plt


def training_curves_plot(histories: dict[str, dict], path: str | Path) -> str:
    """Loss and validation loss per epoch of every autoencoder."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, history in histories.items():
        ax.plot(history.get("loss", []), label=f"{name} loss")
        if history.get("val_loss"):
            ax.plot(history["val_loss"], linestyle="--", label=f"{name} val_loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("reconstruction loss (MSE, scaled)")
    ax.set_title("Autoencoder training")
    ax.legend(fontsize=8)
    return _save(fig, path)


def reconstruction_plot(actual: np.ndarray, reconstructed: np.ndarray, sensors: list[str], path: str | Path) -> str:
    """One window ``(timesteps, sensors)``: scaled readings (solid) vs the autoencoder's reconstruction (dashed)."""
    n = len(sensors)
    fig, axes = plt.subplots(n, 1, figsize=(7, 1.4 * n), sharex=True, squeeze=False)
    for i, (ax, name) in enumerate(zip(axes[:, 0], sensors, strict=True)):
        ax.plot(actual[:, i], color="tab:blue", label="actual")
        ax.plot(reconstructed[:, i], color="tab:orange", linestyle="--", label="reconstructed")
        ax.set_ylabel(name, fontsize=7, rotation=0, ha="right")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[0, 0].set_title("Most anomalous test window: actual vs reconstruction (standardised)")
    axes[-1, 0].set_xlabel("time step")
    return _save(fig, path)


def series_alarm_plot(windows: pl.DataFrame, sensor: str, path: str | Path) -> str:
    """A sensor over the test period (first reading of each window) with labelled events and alarms."""
    frame = windows.sort("window_start")
    ts = frame["window_start"].to_numpy()
    fig, ax = plt.subplots(figsize=(10, 3.5))
    ax.plot(ts, frame[f"{sensor}__t00"].to_numpy(), lw=0.8, color="tab:blue", label=sensor)
    if "label" in frame.columns and frame["label"].null_count() < frame.height:
        ymin, ymax = ax.get_ylim()
        ax.fill_between(ts, ymin, ymax, where=frame["label"].fill_null(0).to_numpy() == 1, color="tab:red",
                        alpha=0.15, step="post", label="labelled event")  # fmt: skip
    alarms = frame.filter(pl.col("is_anomaly"))
    ax.scatter(alarms["window_start"].to_numpy(), alarms[f"{sensor}__t00"].to_numpy(), s=10, color="black",
               zorder=3, label="alarm")  # fmt: skip
    ax.set_title(f"{sensor}: test period with alarms")
    ax.legend(fontsize=8, loc="upper right")
    return _save(fig, path)

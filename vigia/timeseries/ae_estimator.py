"""A window autoencoder behind the scikit-learn estimator interface the detector registry expects.

Rows are flattened windows (time-major: ``<sensor>__t<i>``); ``fit`` reshapes them to
``(rows, timesteps, sensors)`` and trains the LSTM or convolutional autoencoder on them (normal windows
only: the caller passes normal training rows), ``score_samples`` returns the negated reconstruction
error (scikit-learn's "higher = more normal"). TensorFlow is imported only when fitting, scoring or
unpickling. Pickling stores the model as ``.keras`` bytes, so a model set stays one hashed file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import fields
from typing import Any

import numpy as np

from vigia.timeseries.autoencoders import ERROR_METRICS, AutoencoderConfig

_CONFIG_FIELDS = {f.name for f in fields(AutoencoderConfig)} - {"kind", "window", "seed"}


class WindowAutoencoder:
    """``fit(X)`` / ``score_samples(X)`` over flattened windows of ``timesteps`` samples."""

    def __init__(self, kind: str = "lstm", timesteps: int = 30, seed: int = 0, error: str = "mse", **params: Any):
        unknown = set(params) - _CONFIG_FIELDS
        if unknown:
            raise ValueError(f"unknown autoencoder params {sorted(unknown)}; known: {sorted(_CONFIG_FIELDS)}")
        if error not in ERROR_METRICS:  # checked here, not after training when scoring
            raise ValueError(f"error must be one of {list(ERROR_METRICS)}, got {error!r}")
        self.kind, self.timesteps, self.seed, self.error, self.params = kind, int(timesteps), seed, error, params
        self.model_: Any = None
        self.history_: dict[str, Any] = {}

    def config(self) -> AutoencoderConfig:
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in self.params.items()}
        return AutoencoderConfig(kind=self.kind, window=self.timesteps, seed=self.seed, **params)

    def _windows(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.shape[1] % self.timesteps:
            raise ValueError(f"{X.shape[1]} columns are not a whole number of {self.timesteps}-step windows")
        return X.reshape(len(X), self.timesteps, X.shape[1] // self.timesteps)

    def fit(self, X: np.ndarray, y: Any = None) -> WindowAutoencoder:
        from vigia.timeseries.autoencoders import train_autoencoder

        self.model_, self.history_ = train_autoencoder(self.config(), self._windows(X))
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        from vigia.timeseries.autoencoders import reconstruction_errors

        return -reconstruction_errors(self.model_, self._windows(X), self.error)

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        """Reconstructed windows ``(rows, timesteps, sensors)`` of flattened rows (for plots)."""
        return self.reconstruct_windows(self._windows(X))

    def reconstruct_windows(self, windows: np.ndarray) -> np.ndarray:
        from vigia.timeseries.autoencoders import reconstruct

        return reconstruct(self.model_, windows)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.model_ is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "model.keras")
                self.model_.save(path)
                with open(path, "rb") as fh:
                    state["model_"] = fh.read()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        blob = state.get("model_")
        if isinstance(blob, bytes):
            import keras

            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "model.keras")
                with open(path, "wb") as fh:
                    fh.write(blob)
                state["model_"] = keras.models.load_model(path, compile=False)
        self.__dict__.update(state)

"""Small reconstruction autoencoders (LSTM and 1-D convolutional) for multivariate sensor windows.

TensorFlow / Keras are imported inside the functions only: importing this module must stay cheap
(the Dagster code location imports it at load time).

Windows are ``(m, window, n_features)`` float32 arrays (see :func:`vigia.timeseries.windows.sliding_windows`).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SCALER_SUFFIX = ".scaler.joblib"
ERROR_METRICS = ("mse", "mae", "skab")  # window_errors_from_residuals
# Names Keras 3 resolves (keras.activations.get / keras.losses.get), listed so the check needs no Keras import.
ACTIVATIONS = frozenset({
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu", "sigmoid",
    "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax",
    "squareplus", "swish", "tanh", "tanh_shrink", "threshold"
})  # fmt: skip
LOSSES = frozenset({
    "BCE", "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalHinge", "Circle", "CosineSimilarity", "Dice", "Hinge", "Huber",
    "KLD", "KLDivergence", "LogCosh", "MAE", "MAPE", "MSE", "MSLE", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredError", "MeanSquaredLogarithmicError", "Poisson", "SquaredHinge",
    "Tversky", "bce", "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "circle", "cosine_similarity", "dice", "hinge", "huber",
    "kl_divergence", "kld", "log_cosh", "mae", "mape", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_error", "mean_squared_logarithmic_error", "mse", "msle", "poisson", "squared_hinge", "tversky"
})  # fmt: skip


@dataclass(frozen=True)
class AutoencoderConfig:
    """Architecture and training settings.

    ``kind="lstm"``: LSTM encoder (``encoder_units`` per layer, the last one is the code of size
    ``latent`` when given) -> RepeatVector -> LSTM decoder (``decoder_units``) -> per-step Dense.
    ``kind="conv"``: strided Conv1D encoder (``filters``, stride 2 each) -> Conv1DTranspose decoder
    (the filters reversed) -> Conv1DTranspose to ``n_features``; ``window`` must be divisible by
    ``2 ** len(filters)``.
    """

    kind: str = "lstm"
    window: int = 60
    encoder_units: tuple[int, ...] = (32,)
    decoder_units: tuple[int, ...] = (32,)
    latent: int | None = None
    filters: tuple[int, ...] = (32, 16)
    kernel_size: int = 7
    dropout: float = 0.2
    activation: str = "tanh"
    loss: str = "mse"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 50
    patience: int = 5
    validation_split: float = 0.1
    shuffle: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("lstm", "conv"):
            raise ValueError(f"kind must be 'lstm' or 'conv', got {self.kind!r}")
        _positive_ints(window=[self.window], encoder_units=self.encoder_units, decoder_units=self.decoder_units,
                       filters=self.filters, kernel_size=[self.kernel_size], batch_size=[self.batch_size],
                       epochs=[self.epochs], latent=[] if self.latent is None else [self.latent])  # fmt: skip
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 0:
            raise ValueError(f"patience must be an integer >= 0, got {self.patience!r}")
        for name, value in (("dropout", self.dropout), ("validation_split", self.validation_split)):
            if not (_is_number(value) and 0 <= value < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        if not (_is_number(self.learning_rate) and 0 < self.learning_rate < math.inf):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        for name, value, known, e_g in (
            ("activation", self.activation, ACTIVATIONS, "tanh, relu, sigmoid"),
            ("loss", self.loss, LOSSES, "mse, mae, huber"),
        ):
            if value not in known:
                raise ValueError(f"{name} {value!r} is not a Keras {name} name (e.g. {e_g})")
        if self.kind == "conv" and self.window % (2 ** len(self.filters)):
            raise ValueError(f"conv window {self.window} must be divisible by 2**{len(self.filters)}")

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_ints(**values: Any) -> None:
    for name, items in values.items():
        for v in items:
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must hold integers >= 1, got {v!r}")


@dataclass
class TrainHistory:
    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epochs_run: int = 0
    best_epoch: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _seed_everything(seed: int, deterministic: bool = True) -> None:
    import keras
    import tensorflow as tf

    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    keras.utils.set_random_seed(seed)
    if deterministic:
        # cheap on CPU; only fails on TF builds without the switch
        with contextlib.suppress(Exception):
            tf.config.experimental.enable_op_determinism()


def build_autoencoder(cfg: AutoencoderConfig, n_features: int) -> Any:
    """An uncompiled-then-compiled ``keras.Model`` mapping ``(window, n_features)`` to itself."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(cfg.window, n_features))
    if cfg.kind == "lstm":
        x = inputs
        enc = list(cfg.encoder_units) + ([cfg.latent] if cfg.latent else [])
        for i, units in enumerate(enc):
            last = i == len(enc) - 1
            x = layers.LSTM(units, activation=cfg.activation, return_sequences=not last)(x)
            if cfg.dropout and not last:
                x = layers.Dropout(cfg.dropout)(x)
        x = layers.RepeatVector(cfg.window)(x)
        for units in cfg.decoder_units:
            x = layers.LSTM(units, activation=cfg.activation, return_sequences=True)(x)
            if cfg.dropout:
                x = layers.Dropout(cfg.dropout)(x)
        outputs = layers.TimeDistributed(layers.Dense(n_features))(x)
    else:
        x = inputs
        for i, f in enumerate(cfg.filters):
            x = layers.Conv1D(f, cfg.kernel_size, strides=2, padding="same", activation="relu")(x)
            if cfg.dropout and i == 0:
                x = layers.Dropout(cfg.dropout)(x)
        for i, f in enumerate(reversed(cfg.filters)):
            x = layers.Conv1DTranspose(f, cfg.kernel_size, strides=2, padding="same", activation="relu")(x)
            if cfg.dropout and i == 0:
                x = layers.Dropout(cfg.dropout)(x)
        outputs = layers.Conv1DTranspose(n_features, cfg.kernel_size, padding="same")(x)
    model = keras.Model(inputs, outputs, name=f"{cfg.kind}_autoencoder")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate), loss=cfg.loss)
    return model


def train_autoencoder(
    cfg: AutoencoderConfig, windows_normal: np.ndarray, deterministic: bool = True
) -> tuple[Any, dict[str, Any]]:
    """Fit on normal windows (input = target); early stopping on ``val_loss`` with the best weights restored.

    Seeded with ``keras.utils.set_random_seed(cfg.seed)`` so that the same data and config give the
    same model. Returns ``(model, history dict)``.
    """
    import keras

    w = np.ascontiguousarray(windows_normal, dtype=np.float32)
    if w.ndim != 3 or w.shape[1] != cfg.window:
        raise ValueError(f"expected windows of shape (m, {cfg.window}, f), got {w.shape}")
    if len(w) < 2:
        raise ValueError("need at least 2 training windows")
    _seed_everything(cfg.seed, deterministic)
    model = build_autoencoder(cfg, w.shape[2])
    val_split = cfg.validation_split if len(w) * cfg.validation_split >= 1 else 0.0
    monitor = "val_loss" if val_split else "loss"
    stop = keras.callbacks.EarlyStopping(
        monitor=monitor, patience=cfg.patience, restore_best_weights=True, mode="min", verbose=0
    )
    hist = model.fit(
        w,
        w,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        validation_split=val_split,
        shuffle=cfg.shuffle,
        callbacks=[stop],
        verbose=0,
    )
    h = hist.history
    tracked = h.get(monitor, h["loss"])
    history = TrainHistory(
        loss=[float(v) for v in h["loss"]],
        val_loss=[float(v) for v in h.get("val_loss", [])],
        epochs_run=len(h["loss"]),
        best_epoch=int(np.argmin(tracked)) + 1,
    )
    return model, history.to_dict()


def reconstruct(model: Any, windows: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's reconstruction of ``windows`` (same shape)."""
    w = np.ascontiguousarray(windows, dtype=np.float32)
    if len(w) == 0:
        return w.copy()
    # model(x) in batches is faster than model.predict for small arrays and has no progress bar
    out = [np.asarray(model(w[i : i + batch_size], training=False)) for i in range(0, len(w), batch_size)]
    return np.concatenate(out).reshape(w.shape)


def sample_residuals(model: Any, windows: np.ndarray) -> np.ndarray:
    """Absolute residuals ``|x - x_hat|`` per window, step and feature: ``(m, window, f)``."""
    w = np.asarray(windows, dtype=np.float32)
    return np.abs(w - reconstruct(model, w))


def window_errors_from_residuals(residuals: np.ndarray, metric: str = "mse") -> np.ndarray:
    """Per-window error from absolute residuals ``(m, window, f)``.

    ``mse``: mean of squared residuals; ``mae``: mean absolute residual; ``skab``: SKAB's notebooks'
    score, the sum over features of the mean absolute residual over time.
    """
    r = np.asarray(residuals, dtype=np.float64)
    if metric == "mse":
        return (r**2).mean(axis=(1, 2))
    if metric == "mae":
        return r.mean(axis=(1, 2))
    if metric == "skab":
        return r.mean(axis=1).sum(axis=1)
    raise ValueError(f"unknown error metric {metric!r}: use one of {list(ERROR_METRICS)}")


def reconstruction_errors(model: Any, windows: np.ndarray, metric: str = "mse") -> np.ndarray:
    """Per-window reconstruction error (MSE by default; see :func:`window_errors_from_residuals`)."""
    return window_errors_from_residuals(sample_residuals(model, windows), metric)


def step_residuals(residuals: np.ndarray, n: int, step: int = 1) -> np.ndarray:
    """Per-sample error: the mean over features and over every window covering the sample of ``|x - x_hat|``.

    ``residuals`` is ``(m, window, f)`` for windows starting at ``0, step, 2*step, ...``; returns ``(n,)``
    (NaN where no window covers the sample).
    """
    r = np.asarray(residuals, dtype=np.float64).mean(axis=2)  # (m, window)
    m, size = r.shape
    total, count = np.zeros(n), np.zeros(n)
    starts = np.arange(m) * step
    for off in range(size):
        np.add.at(total, starts + off, r[:, off])
        np.add.at(count, starts + off, 1)
    return np.divide(total, count, out=np.full(n, np.nan), where=count > 0)


def _scaler_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".keras") + SCALER_SUFFIX)


def _artifact_sha256(model_path: Path, scaler_path: Path) -> str:
    h = hashlib.sha256()
    for p in (model_path, scaler_path):
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def save_autoencoder(model: Any, scaler: Any, path: str | Path) -> str:
    """Write ``path`` (``.keras``) and the scaler next to it (``<stem>.scaler.joblib``).

    Returns the artefact's sha256 (over both files' digests) for :func:`load_autoencoder`.
    """
    import joblib

    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model path must end with .keras, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    joblib.dump(scaler, _scaler_path(path))
    return _artifact_sha256(path, _scaler_path(path))


def load_autoencoder(path: str | Path, expected_sha256: str) -> tuple[Any, Any]:
    """``(model, scaler)`` after checking the files against ``expected_sha256`` (before unpickling anything)."""
    import joblib
    import keras

    path = Path(path)
    scaler_path = _scaler_path(path)
    actual = _artifact_sha256(path, scaler_path)
    if actual != expected_sha256:
        raise ValueError(f"autoencoder artefact {path} failed its hash check: {actual} != {expected_sha256}")
    model = keras.models.load_model(path, compile=False)
    return model, joblib.load(scaler_path)

"""Tiny LSTM / conv autoencoders: training, anomaly sensitivity, determinism and the saved artefact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from vigia.timeseries.autoencoders import (
    AutoencoderConfig,
    build_autoencoder,
    load_autoencoder,
    reconstruction_errors,
    sample_residuals,
    save_autoencoder,
    step_residuals,
    train_autoencoder,
    window_errors_from_residuals,
)
from vigia.timeseries.windows import sliding_windows

CFG = AutoencoderConfig(
    kind="lstm", window=16, encoder_units=(8,), decoder_units=(8,), dropout=0.0, epochs=8, patience=3, seed=7
)


def _sine(n: int = 400) -> np.ndarray:
    t = np.arange(n)
    return np.column_stack([np.sin(2 * np.pi * t / 25), np.cos(2 * np.pi * t / 25)]).astype(np.float32)


@pytest.fixture(scope="module")
def trained() -> tuple:
    x = _sine()
    w = sliding_windows(x, CFG.window, 2)
    model, hist = train_autoencoder(CFG, w)
    return x, w, model, hist


def test_trains_and_flags_injected_anomaly(trained: tuple) -> None:
    _, w, model, hist = trained
    assert 1 <= hist["epochs_run"] <= CFG.epochs and len(hist["val_loss"]) == hist["epochs_run"]
    assert hist["loss"][-1] < hist["loss"][0]
    normal = w[:10]
    bad = normal.copy()
    bad[:, 5:9, 0] += 3.0  # a burst on channel 0
    e_normal, e_bad = reconstruction_errors(model, normal), reconstruction_errors(model, bad)
    assert e_normal.shape == (10,)
    assert (e_bad > e_normal).all()
    assert e_bad.mean() > 3 * e_normal.mean()


def test_error_helpers() -> None:
    r = np.ones((2, 4, 3))
    r[1] *= 2
    assert window_errors_from_residuals(r, "mse").tolist() == [1.0, 4.0]
    assert window_errors_from_residuals(r, "mae").tolist() == [1.0, 2.0]
    assert window_errors_from_residuals(r, "skab").tolist() == [3.0, 6.0]  # sum over 3 features of the mean
    per_step = step_residuals(r, n=6, step=2)  # windows [0,4) and [2,6)
    assert per_step.tolist() == [1.0, 1.0, 1.5, 1.5, 2.0, 2.0]
    with pytest.raises(ValueError):
        window_errors_from_residuals(r, "nope")


def test_same_seed_same_errors(trained: tuple) -> None:
    _, w, model, _ = trained
    model2, _ = train_autoencoder(CFG, w)
    np.testing.assert_allclose(reconstruction_errors(model, w), reconstruction_errors(model2, w), atol=1e-5)


def test_conv_builds_and_rejects_bad_window() -> None:
    m = build_autoencoder(AutoencoderConfig(kind="conv", window=16, filters=(4, 2)), n_features=3)
    assert m.output_shape == (None, 16, 3)
    with pytest.raises(ValueError):
        AutoencoderConfig(kind="conv", window=30, filters=(4, 2))
    with pytest.raises(ValueError):
        AutoencoderConfig(kind="gru")


def test_save_load_roundtrip_and_tamper(trained: tuple, tmp_path: Path) -> None:
    x, w, model, _ = trained
    scaler = StandardScaler().fit(x)
    path = tmp_path / "ae" / "model.keras"
    digest = save_autoencoder(model, scaler, path)
    assert len(digest) == 64 and (tmp_path / "ae" / "model.scaler.joblib").exists()
    loaded, scaler2 = load_autoencoder(path, digest)
    np.testing.assert_allclose(sample_residuals(loaded, w[:5]), sample_residuals(model, w[:5]), atol=1e-6)
    np.testing.assert_allclose(scaler2.mean_, scaler.mean_)
    with pytest.raises(ValueError, match="hash"):
        load_autoencoder(path, "0" * 64)
    scaler_file = tmp_path / "ae" / "model.scaler.joblib"
    scaler_file.write_bytes(scaler_file.read_bytes() + b"tampered")
    with pytest.raises(ValueError, match="hash"):
        load_autoencoder(path, digest)
    with pytest.raises(ValueError):
        save_autoencoder(model, scaler, tmp_path / "model.h5")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("epochs", 0, "epochs must hold integers >= 1"),
    ("batch_size", "32", "batch_size must hold integers >= 1"),
    ("encoder_units", (32, -1), "encoder_units must hold integers >= 1"),
    ("patience", -1, "patience must be an integer >= 0"),
    ("dropout", 1.0, r"dropout must be a number in \[0, 1\)"),
    ("validation_split", "0.1", r"validation_split must be a number in \[0, 1\)"),
    ("learning_rate", 0, "learning_rate must be a positive number"),
    ("activation", "relu6x", "activation 'relu6x' is not a Keras activation name"),
    ("loss", "msee", "loss 'msee' is not a Keras loss name"),
])  # fmt: skip
def test_config_refuses_values_keras_would_fail_on_later(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AutoencoderConfig(**{field: value})


def test_the_listed_activation_and_loss_names_are_keras_names() -> None:
    """The config checks names against lists (no Keras import at load): each must resolve in the Keras in use."""
    import keras

    from vigia.timeseries.autoencoders import ACTIVATIONS, LOSSES

    assert all(keras.activations.get(name) is not None for name in ACTIVATIONS)
    assert all(keras.losses.get(name) is not None for name in LOSSES)

"""Sensor kind: unknown labels stay unknown, the sweep labels and trains like the pipeline, float64 window
features, and config / detector checks that refuse at load what would fail (or drift) later."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest

from tests.staging import dataset_config
from vigia.config import DatasetConfig, DetectorConfig
from vigia.models.detectors import check_detector
from vigia.pipeline import sweep as sweep_mod
from vigia.pipeline.sensor_features import sensor_windows
from vigia.timeseries.regularize import regularize
from vigia.timeseries.windows import known_window_labels, sliding_windows

T0 = datetime(2026, 1, 5, 10)
SERIES = {"freq": "1s", "window": 10, "step": 5, "max_gap": 2}


def _clean(values: np.ndarray, labels: list[int | None]) -> pl.DataFrame:
    n = len(values)
    return pl.DataFrame({
        "ts": [T0 + timedelta(seconds=i) for i in range(n)], "station": ["m"] * n,
        "label": pl.Series(labels, dtype=pl.Int8), "temp": values,
    })  # fmt: skip


def test_windows_with_unlabelled_samples_are_unknown_not_normal() -> None:
    """Only the first 30 of 120 samples labelled 0, one labelled 1 at 100: before the fix every null became 0."""
    labels: list[int | None] = [0] * 30 + [None] * 90
    labels[100] = 1
    table = sensor_windows(_clean(np.arange(120) % 7 + 0.5, labels), dataset_config("m", "sensor_timeseries",
                                                                                   series=SERIES)).table  # fmt: skip
    by_start = dict(zip(((t - T0).seconds for t in table["window_start"]), table["label"], strict=True))
    assert by_start[0] == 0 and by_start[20] == 0  # every sample a known 0
    assert by_start[25] is None and by_start[50] is None  # some / all samples unknown
    assert by_start[95] == 1 and by_start[100] == 1  # any positive sample wins over unknown ones
    assert known_window_labels(np.array([0, np.nan, 1, 0]), np.array([0, 1, 2]), 2).tolist()[2] == 1.0


def test_window_features_keep_float64_readings() -> None:
    energy = 123456789.0 + 0.1 * np.arange(20)  # float32 stored 123456792.0 in every cell
    table = sensor_windows(_clean(energy, [0] * 20), dataset_config("m", "sensor_timeseries", series=SERIES)).table
    assert [table[f"temp__t{i:02d}"][0] for i in range(10)] == energy[:10].tolist()
    assert sliding_windows(energy, 10, 5).dtype == np.float32  # the autoencoders' input stays float32


class _FakeAutoencoder:
    """Stands in for the Keras model: records what it is fit on, scores by the largest absolute value."""

    fitted: ClassVar[list[int]] = []

    def __init__(self, **_: Any) -> None:
        self.history_ = {"epochs_run": 1}

    def fit(self, x: np.ndarray) -> _FakeAutoencoder:
        _FakeAutoencoder.fitted.append(len(x))
        return self

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        return -np.abs(x).max(axis=1)


def _sweep_cfg(**over: Any) -> DatasetConfig:
    ae = {"name": "ae", "type": "lstm_autoencoder", "params": {"epochs": 1}}
    fields = {"series": SERIES, "detectors": [ae], "sweep": {"grid": {"encoder_units": [[2]]}}, **over}
    return dataset_config("m", "sensor_timeseries", **fields)


@pytest.fixture
def fake_ae(monkeypatch: pytest.MonkeyPatch) -> type[_FakeAutoencoder]:
    import vigia.timeseries.ae_estimator as ae_estimator

    monkeypatch.setattr(ae_estimator, "WindowAutoencoder", _FakeAutoencoder)
    _FakeAutoencoder.fitted = []
    return _FakeAutoencoder


def _anomalous_series(n: int = 600) -> np.ndarray:
    x = np.sin(np.arange(n) / 10) + np.random.default_rng(0).normal(0, 0.05, n)
    for a in (150, 420, 520):  # train, validation, test
        x[a : a + 20] += 3
    return x


def test_the_sweep_applies_the_label_file(tmp_path: Path, fake_ae: type[_FakeAutoencoder]) -> None:
    """NAB setup (no label column + label_windows): the sweep ignored the file and could rank nothing."""
    lines = "".join(f"{T0 + timedelta(seconds=a)},{T0 + timedelta(seconds=a + 19)}\n" for a in (150, 420, 520))
    (tmp_path / "labels.csv").write_text("start,end\n" + lines)
    cfg = _sweep_cfg(label_column=None, label_windows=str(tmp_path / "labels.csv"))
    result = sweep_mod.run_sweep(_clean(_anomalous_series(), [None] * 600), cfg)
    assert result["best"] is not None and result["best"]["f1"] == 1.0
    assert fake_ae.fitted == [result["best"]["n_train_windows"]] == [66]  # the 5 anomalous training windows out


def test_the_sweep_trains_on_known_normal_windows_only(fake_ae: type[_FakeAutoencoder]) -> None:
    labels: list[int | None] = [0] * 600
    labels[150:170] = [1] * 20
    labels[200:300] = [None] * 100  # unlabelled: 21 training windows touch it
    labels[420:440] = [1] * 20
    result = sweep_mod.run_sweep(_clean(_anomalous_series(), labels), _sweep_cfg())
    assert fake_ae.fitted == [71 - 5 - 21] and result["best"]["n_train_windows"] == 45


@pytest.mark.parametrize(
    ("sweep", "detectors", "message"),
    [
        ({}, [{"name": "iforest", "type": "isolation_forest"}], "no autoencoder detector is configured"),
        ({"detector": "lstm_ae"}, [{"name": "ae", "type": "lstm_autoencoder"}], "sweep.detector is 'lstm_ae'"),
        ({"detector": "iforest"}, [{"name": "iforest", "type": "isolation_forest"}], "sweep.detector is 'iforest'"),
    ],
)
def test_a_sweep_must_tune_an_autoencoder(
    sweep: dict, detectors: list, message: str, fake_ae: type[_FakeAutoencoder]
) -> None:
    """Accepted at load before: the sweep then failed with a bare StopIteration, or tuned LSTMs for an iforest."""
    with pytest.raises(ValueError, match=message):
        _sweep_cfg(sweep={**sweep, "grid": {"epochs": [1]}}, detectors=detectors)
    no_grid = _sweep_cfg(sweep=sweep, detectors=detectors)  # no grid: no sweep, nothing to check
    valid = _sweep_cfg()
    bypassed = valid.model_copy(update={"detectors": no_grid.detectors, "sweep": no_grid.sweep.model_copy(
        update={"grid": valid.sweep.grid})})  # fmt: skip  # built without validation
    with pytest.raises(ValueError, match="is not an autoencoder detector of the config"):
        sweep_mod.run_sweep(_clean(_anomalous_series(), [0] * 600), bypassed)
    assert fake_ae.fitted == []


@pytest.mark.parametrize(
    ("params", "message"),
    [({"error": "rmse"}, "error must be one of"), ({"loss": "msee"}, "loss 'msee' is not a Keras loss"),
     ({"activation": "relu6x"}, "activation 'relu6x' is not a Keras activation")],
)  # fmt: skip
def test_check_detector_refuses_bad_autoencoder_names(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_detector(DetectorConfig(name="ae", type="lstm_autoencoder", params={"timesteps": 5, **params}))
    ok = {"error": "skab", "loss": "huber", "activation": "relu"}
    check_detector(DetectorConfig(name="ae", type="lstm_autoencoder", params={"timesteps": 5, **ok}))


def test_regularize_keeps_unknown_labels_of_observed_bins() -> None:
    """Raw [0, None, None, None, 1] used to become [0, 1, 1, 1, 1]; inserted rows take their neighbours'."""
    minutes = [0, 1, 2, 3, 4, 6, 7, 9, 11]  # rows 5, 8 and 10 inserted
    frame = pl.DataFrame({
        "ts": [T0 + timedelta(minutes=m) for m in minutes], "a": [float(m) for m in minutes],
        "label": pl.Series([0, None, None, None, 1, 0, None, 0, 0], dtype=pl.Int8),
    })  # fmt: skip
    out = regularize(frame, freq_seconds=60, max_gap=5, value_columns=["a"]).frame
    assert out["label"].to_list() == [0, None, None, None, 1, 1, 0, None, None, 0, 0, 0]


def test_synthetic_pump_needs_a_partition_end() -> None:
    with pytest.raises(ValueError, match=r"synthetic_pump needs partitions\.end: .* would change as the end moves"):
        dataset_config("p", "sensor_timeseries", partitions={"start": "2026-01-05"})
    files = {"type": "sensor_files", "path": "x"}
    assert dataset_config("p", "sensor_timeseries", source=files, partitions={"start": "2026-01-05"}).partitions

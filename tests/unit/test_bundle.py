import numpy as np
import pytest

from vigia.config import DetectorConfig
from vigia.models.bundle import TamperedModelError, load_bundle, save_bundle, sha256_file
from vigia.models.detectors import fit_detector, raw_scores


def test_roundtrip(tmp_path):
    X = np.random.default_rng(0).normal(size=(100, 2))
    fitted = fit_detector(DetectorConfig(name="if", type="isolation_forest", params={"n_estimators": 20}), X, seed=0)
    path = tmp_path / "models" / "bundle.joblib"
    digest = save_bundle({"detector": fitted, "features": ["a", "b"]}, path)
    assert digest == sha256_file(path) and len(digest) == 64
    assert [p.name for p in path.parent.iterdir()] == ["bundle.joblib"]  # no temp files left
    loaded = load_bundle(path, digest.upper())
    assert loaded["features"] == ["a", "b"]
    np.testing.assert_array_equal(raw_scores(loaded["detector"], X), raw_scores(fitted, X))


def test_tampered_file_is_refused(tmp_path):
    path = tmp_path / "b.joblib"
    digest = save_bundle({"x": list(range(100))}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(TamperedModelError) as info:
        load_bundle(path, digest)
    msg = str(info.value)
    assert digest in msg and sha256_file(path) in msg and str(path) in msg


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.joblib"):
        load_bundle(tmp_path / "nope.joblib", "0" * 64)

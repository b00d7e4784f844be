"""Model bundles on disk: joblib, atomic writes and SHA-256 integrity checks.

``save_bundle`` returns the file's SHA-256; store it (e.g. in the run metadata) and pass it to
``load_bundle``, which refuses to unpickle a file whose hash differs. Unpickling runs code, so
never load a bundle whose hash you did not record yourself.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import joblib

from vigia.atomic_files import atomic_path


class TamperedModelError(RuntimeError):
    """The bundle on disk does not match the recorded SHA-256."""

    def __init__(self, path: str | Path, expected: str, actual: str) -> None:
        self.path, self.expected, self.actual = str(path), expected, actual
        super().__init__(
            f"model bundle {self.path} failed its integrity check: expected sha256 {expected}, "
            f"file has sha256 {actual}; refusing to load it (retrain or restore the bundle)"
        )


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def save_bundle(obj: Any, path: str | Path, compress: int = 3) -> str:
    """Dump ``obj`` with joblib to a temp file beside ``path``, fsync, rename atomically; return its SHA-256."""
    with atomic_path(path, mode=0o600, durable=True) as tmp:  # owner-only, as before
        joblib.dump(obj, tmp, compress=compress)
        return sha256_file(tmp)


def load_bundle(path: str | Path, expected_sha256: str) -> Any:
    """Load a bundle after checking its SHA-256 (``TamperedModelError`` on mismatch)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model bundle not found: {path}")
    if not expected_sha256:
        raise ValueError(f"expected_sha256 is required to load {path}")
    data = path.read_bytes()  # hash and load the same bytes (no swap between check and use)
    actual = hashlib.sha256(data).hexdigest()
    if actual.lower() != expected_sha256.strip().lower():
        raise TamperedModelError(path, expected_sha256, actual)
    return joblib.load(io.BytesIO(data))

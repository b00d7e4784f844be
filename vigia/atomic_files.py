"""Write a file whole or not at all: into a temporary file beside it, renamed over it once complete."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path, *, mode: int = 0o666, durable: bool = False) -> Iterator[Path]:
    """A new, empty temporary path in ``path``'s folder to write to; it replaces ``path`` when the block succeeds and
    is removed when it fails (the previous file stays whole, e.g. on a full disk). The file is created with ``mode``
    less the process umask, as ``open`` does; ``durable``: fsync it before the rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
    try:
        yield tmp
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str, *, mode: int = 0o666, durable: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path`."""
    with atomic_path(path, mode=mode, durable=durable) as tmp:
        tmp.write_text(text, encoding="utf-8")

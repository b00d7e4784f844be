"""Reading gzip files that may be cut short (a copy still in progress, a full disk, an interrupted rotation).

Python's ``gzip`` module raises ``EOFError`` at the cut and loses the lines before it. These helpers
return everything that decompresses, say whether the stream ended early, and raise ``SourceError``
naming the file when the data is not gzip at all. Concatenated gzip members (``cat a.gz b.gz``) are read
one after the other, as ``gzip`` does.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

from vigia.sources.errors import SourceError

_CHUNK = 1 << 20


def iter_gzip_chunks(path: Path, truncated: list[bool]) -> Iterator[bytes]:
    """Decompressed chunks of ``path``; appends ``True`` to ``truncated`` when the stream ends early."""
    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            try:
                data = decomp.decompress(chunk)
                while decomp.eof and decomp.unused_data:  # the next member of a concatenated file
                    rest = decomp.unused_data
                    decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
                    data += decomp.decompress(rest)
            except zlib.error as exc:
                raise SourceError(f"{path}: not a readable gzip file ({exc})") from exc
            if data:
                yield data
    if not decomp.eof:
        truncated.append(True)


def iter_gzip_lines(path: Path, truncated: list[bool]) -> Iterator[bytes]:
    """Physical lines of ``path`` (with their ``\\n``; the last one maybe without)."""
    tail = b""
    for data in iter_gzip_chunks(path, truncated):
        lines = (tail + data).split(b"\n")
        tail = lines.pop()
        for line in lines:
            yield line + b"\n"
    if tail:
        yield tail


def read_gzip(path: Path) -> tuple[bytes, bool]:
    """The whole decompressed content and whether the stream ended early."""
    truncated: list[bool] = []
    data = b"".join(iter_gzip_chunks(path, truncated))
    return data, bool(truncated)

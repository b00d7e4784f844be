"""Reading gzip files that may be cut short (a copy still in progress, a full disk, an interrupted rotation).

Python's ``gzip`` module raises ``EOFError`` at the cut and loses the lines before it. ``GzipStream``
returns everything that decompresses and says whether the stream ended early; data that is not gzip at
all raises ``SourceError`` naming the file. Concatenated gzip members (``cat a.gz b.gz``) are read one
after the other, as ``gzip`` does.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

from vigia.sources.errors import SourceError

_CHUNK = 1 << 20
_GZIP = zlib.MAX_WBITS | 16


class GzipStream:
    """One gzip file, read to its end or to where it was cut short (then ``truncated`` is true)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.truncated = False

    def chunks(self) -> Iterator[bytes]:
        """Decompressed chunks, in order."""
        decomp = zlib.decompressobj(_GZIP)
        with self.path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                try:
                    data = decomp.decompress(chunk)
                    while decomp.eof and decomp.unused_data:  # the next member of a concatenated file
                        rest, decomp = decomp.unused_data, zlib.decompressobj(_GZIP)
                        data += decomp.decompress(rest)
                except zlib.error as exc:
                    raise SourceError(f"{self.path}: not a readable gzip file ({exc})") from exc
                if data:
                    yield data
        self.truncated = not decomp.eof

    def lines(self) -> Iterator[bytes]:
        """Physical lines with their ``\\n`` (the last one maybe without)."""
        tail = b""
        for data in self.chunks():
            lines = (tail + data).split(b"\n")
            tail = lines.pop()
            for line in lines:
                yield line + b"\n"
        if tail:
            yield tail


def read_gzip(path: Path) -> tuple[bytes, bool]:
    """The whole decompressed content and whether the stream ended early."""
    stream = GzipStream(path)
    data = b"".join(stream.chunks())
    return data, stream.truncated

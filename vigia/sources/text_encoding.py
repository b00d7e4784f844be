"""Text files that announce their encoding with a byte-order mark: UTF-8, UTF-16 or UTF-32.

Windows tools write them (Excel's "Unicode text", PowerShell redirection, historian exports): read as
UTF-8 they become NUL-riddled text in which no header or record is found. Without a mark, text is UTF-8.
"""

from __future__ import annotations

import codecs
from pathlib import Path

_MARKS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF8, "utf-8-sig"),
)


def marked_encoding(head: bytes) -> str | None:
    """The codec named by the byte-order mark at the start of ``head`` (which it then strips), or None."""
    return next((name for mark, name in _MARKS if head.startswith(mark)), None)


def file_encoding(path: Path) -> str:
    """The codec to open ``path`` with: the one its byte-order mark names, else UTF-8 (a mark is skipped)."""
    with path.open("rb") as fh:
        return marked_encoding(fh.read(4)) or "utf-8-sig"


def decode_text(data: bytes) -> str:
    """A file's text: decoded as its byte-order mark says (mark removed), else as UTF-8; bad bytes replaced."""
    return data.decode(marked_encoding(data[:4]) or "utf-8", errors="replace")


def as_utf8(data: bytes) -> bytes:
    """A file's bytes as UTF-8 without a byte-order mark (UTF-16/32 re-encoded; unmarked bytes untouched)."""
    name = marked_encoding(data[:4])
    if name is None:
        return data
    if name == "utf-8-sig":
        return data[len(codecs.BOM_UTF8):]
    return data.decode(name, errors="replace").encode("utf-8")

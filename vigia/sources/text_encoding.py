"""Text files that announce their encoding with a byte-order mark: UTF-8, UTF-16 or UTF-32.

Windows tools write them (Excel's "Unicode text", PowerShell redirection, historian exports): read as
UTF-8 they become NUL-riddled text in which no header or record is found. Without a mark, text is UTF-8.

Also: JSON text may escape a lone UTF-16 surrogate (``"\\ud800"``), which ``json.loads`` accepts but which no
UTF-8 text can hold; polars and DuckDB refuse such a string, so readers find and replace or reject it.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

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


def may_hold_lone_surrogate(json_text: str) -> bool:
    """Cheap pre-check of a JSON text (run on every event): it escapes a surrogate (paired or not) or holds
    one. ``in`` and ``isascii`` (constant time in CPython) spare the regular expressions on ordinary lines."""
    if "\\u" in json_text and _SURROGATE_ESCAPE.search(json_text):
        return True
    return not json_text.isascii() and _LONE_SURROGATE.search(json_text) is not None


def without_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def replace_lone_surrogates(value: Any) -> tuple[Any, int]:
    """A decoded JSON value with every lone surrogate in its strings (keys included) replaced by U+FFFD, and
    how many strings changed. ``json.loads`` joins an escaped pair into one character, so what is left is
    unpaired."""
    if isinstance(value, str):
        fixed, n = _LONE_SURROGATE.subn("\ufffd", value)
        return fixed, int(n > 0)
    if isinstance(value, dict):
        out, changed = {}, 0
        for k, v in value.items():
            k2, nk = replace_lone_surrogates(k)
            v2, nv = replace_lone_surrogates(v)
            out[k2], changed = v2, changed + nk + nv
        return out, changed
    if isinstance(value, list):
        items = [replace_lone_surrogates(v) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0

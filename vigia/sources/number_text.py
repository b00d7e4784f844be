"""Number text in the file's decimal convention, as the float parser reads it (sensor files, customer extracts)."""

from __future__ import annotations

import polars as pl

DECIMAL_MARKS = (".", ",")


def with_decimal_point(text: pl.Expr, decimal: str) -> pl.Expr:
    """``text`` with ``.`` as the decimal mark: with ``decimal=","`` (European exports) ``21,5`` -> ``21.5``,
    and a text holding both marks (``1.234,5``: a thousands separator) -> null, so it does not parse."""
    if decimal not in DECIMAL_MARKS:
        raise ValueError(f"decimal must be one of {DECIMAL_MARKS}, got {decimal!r}")
    if decimal == ".":
        return text
    return pl.when(text.str.contains(".", literal=True)).then(None).otherwise(text.str.replace(",", ".", literal=True))

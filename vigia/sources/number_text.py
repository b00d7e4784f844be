"""Number text: the file's decimal convention as the float parser reads it (sensor files, customer extracts), and
epoch times written as text (label_windows CSV cells, event exports)."""

from __future__ import annotations

import re

import polars as pl

# Epoch seconds (or ms, ...) written as text, e.g. a CSV cell "1541117137.5".
EPOCH_TEXT = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?")

DECIMAL_MARKS = (".", ",")


def with_decimal_point(text: pl.Expr, decimal: str) -> pl.Expr:
    """``text`` with ``.`` as the decimal mark: with ``decimal=","`` (European exports) ``21,5`` -> ``21.5``,
    and a text holding both marks (``1.234,5``: a thousands separator) -> null, so it does not parse."""
    if decimal not in DECIMAL_MARKS:
        raise ValueError(f"decimal must be one of {DECIMAL_MARKS}, got {decimal!r}")
    if decimal == ".":
        return text
    return pl.when(text.str.contains(".", literal=True)).then(None).otherwise(text.str.replace(",", ".", literal=True))

"""Generic string features: character entropy and character-class shape.

Vectorised polars expressions (no per-row Python) plus pure-Python references for tests.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter

import polars as pl


def shannon_entropy(s: str) -> float:
    """Shannon entropy in bits of the characters of ``s`` (0.0 for the empty string)."""
    if not s:
        return 0.0
    n = len(s)
    return 0.0 - sum(c / n * math.log2(c / n) for c in Counter(s).values())


def shannon_entropy_expr(col: pl.Expr) -> pl.Expr:
    """Per-string character entropy in bits (Float64); ``""`` -> 0.0, null -> null.

    Splits each string into characters and takes the entropy of the character counts
    inside a list aggregation, so it runs entirely in polars.
    """
    counts_entropy = pl.element().unique_counts().entropy(base=2, normalize=True)
    # abs() turns the -0.0 of single-symbol / empty strings into 0.0 (entropy is never negative).
    return col.str.split("").list.agg(counts_entropy).cast(pl.Float64).fill_nan(0.0).abs()


def string_shape(s: str) -> str:
    """Reference for :func:`string_shape_expr`: upper-case letters -> 'A', other letters -> 'a', digits -> '9'."""
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat in ("Lu", "Lt"):
            out.append("A")
        elif cat.startswith("L"):
            out.append("a")
        elif cat == "Nd":
            out.append("9")
        else:
            out.append(ch)
    return "".join(out)


def string_shape_expr(col: pl.Expr) -> pl.Expr:
    """Map upper/title-case letters to 'A', other letters to 'a', decimal digits to '9'; keep the rest."""
    return (
        col.str.replace_all(r"[\p{Lu}\p{Lt}]", "A")
        .str.replace_all(r"[\p{Ll}\p{Lm}\p{Lo}]", "a")
        .str.replace_all(r"\p{Nd}", "9")
    )

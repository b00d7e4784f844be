"""Loading labelled credit tables (generic CSV, Statlog German, Taiwan default) and drift demo batches.

Formats (``load_credit_table(path, fmt=...)``):

* ``"csv"``: a delimited file with a header (``separator``, default ``,``); ``target`` names the label
  column; ``positive`` is the label value of the positive class (default: ``1``, with ``0`` negative;
  ``1.0`` / ``true`` accepted; text labels match case-insensitively, and a ``positive`` that matches no row
  is an error listing the values seen). A column named ``ID`` / ``id`` with one distinct value per row is
  dropped (a row identifier, not a feature).
* ``"german"``: Statlog German credit ``german.data``: space-separated, no header, 20 attributes +
  class. Column names assigned here (codebook order): :data:`GERMAN_COLUMNS`; target ``class``;
  ``2`` = bad = **positive**, ``1`` = good. The 13 ``Axx``-coded attributes are categorical.
* ``"taiwan"``: UCI default of credit card clients (``ID, X1..X23, Y``): ``X1..X23`` are renamed to
  the codebook names (:data:`TAIWAN_NAMES`: ``LIMIT_BAL``, ``SEX``, ..., ``PAY_AMT6``), ``ID`` is
  dropped, target ``Y`` (1 = default = positive). ``SEX``, ``EDUCATION``, ``MARRIAGE`` are categorical.
  Three derived features are added (:func:`taiwan_features`): ``UTIL1`` = ``BILL_AMT1 / LIMIT_BAL``,
  ``PAY_RATIO`` = Σ ``PAY_AMT1..6`` / (|Σ ``BILL_AMT1..6``| + 1), ``MAX_DELAY`` = max of ``PAY_0..PAY_6``
  (they lifted the validation ROC-AUC, measured inside the train part, by about 0.004).

Every cell is read as text then typed by :func:`vigia.tabular.extracts.coerce_columns` (so Excel-style
``2.00E+05`` parses); rows whose target is missing (empty, ``NA``, ``?``, ...) or not one of the two labels
are dropped and counted (``dropped_rows``, split in ``dropped_target``); labels given as numbers match
numerically (``--positive 1`` matches ``1.0``). Columns with an empty or repeated header name are dropped
and listed in ``dropped_columns``. A table whose kept rows hold a single class fails, saying how many rows
were dropped and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from vigia.tabular.extracts import DroppedColumn, clean_text, coerce_columns, label_target, read_text_table

Format = Literal["csv", "german", "taiwan"]

GERMAN_COLUMNS = (
    "checking_status",
    "duration_months",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "employment_since",
    "installment_rate",
    "personal_status_sex",
    "other_debtors",
    "residence_since",
    "property",
    "age",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "people_liable",
    "telephone",
    "foreign_worker",
    "class",
)
GERMAN_NUMERIC = (
    "duration_months",
    "credit_amount",
    "installment_rate",
    "residence_since",
    "age",
    "existing_credits",
    "people_liable",
)
GERMAN_TARGET, GERMAN_POSITIVE = "class", "2"

TAIWAN_NAMES = {
    "X1": "LIMIT_BAL",
    "X2": "SEX",
    "X3": "EDUCATION",
    "X4": "MARRIAGE",
    "X5": "AGE",
    **{f"X{6 + i}": f"PAY_{m}" for i, m in enumerate((0, 2, 3, 4, 5, 6))},
    **{f"X{12 + i}": f"BILL_AMT{i + 1}" for i in range(6)},
    **{f"X{18 + i}": f"PAY_AMT{i + 1}" for i in range(6)},
}
TAIWAN_CATEGORICAL = ("SEX", "EDUCATION", "MARRIAGE")
TAIWAN_TARGET = "Y"


@dataclass
class CreditTable:
    """A labelled table: ``frame`` holds the features and the 0/1 Int8 ``target`` column."""

    frame: pl.DataFrame
    target: str
    numeric: list[str]
    categorical: list[str]
    positive: str
    dropped_rows: int = 0
    type_errors: dict[str, Any] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)
    dropped_target: dict[str, Any] = field(default_factory=dict)  # {missing, invalid, invalid_examples, expected}

    def drop_note(self) -> str:
        """Why rows were dropped, for error messages ('' when none was)."""
        return _drop_note(self.target, self.dropped_target, self.frame.height + self.dropped_rows)


def load_credit_table(
    path: str | Path,
    *,
    fmt: Format = "csv",
    target: str | None = None,
    separator: str | None = None,
    positive: str | int | None = None,
) -> CreditTable:
    """Read a labelled credit file (formats in the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"credit table not found: {path}")
    kinds: dict[str, str] = {}
    unusable: list[DroppedColumn] = []
    if fmt == "german":
        raw = read_text_table(path, separator=separator or " ", has_header=False, new_columns=GERMAN_COLUMNS)
        target = target or GERMAN_TARGET
        positive = GERMAN_POSITIVE if positive is None else positive
        kinds = {c: ("numeric" if c in GERMAN_NUMERIC else "categorical") for c in GERMAN_COLUMNS if c != target}
    elif fmt in ("csv", "taiwan"):
        raw = read_text_table(path, separator=separator, dropped_columns=unusable)
        raw = raw.drop([d.kept_as for d in unusable if d.kept_as])
        if fmt == "taiwan":
            raw = raw.rename({k: v for k, v in TAIWAN_NAMES.items() if k in raw.columns})
            if missing := [f"{x} ({name})" for x, name in TAIWAN_NAMES.items() if name not in raw.columns]:
                raise ValueError(
                    f"{path} is not in the Taiwan layout (ID, X1..X23, Y or the codebook names): missing "
                    f"{len(missing)} column(s): {', '.join(missing[:6])}{', ...' if len(missing) > 6 else ''}"
                )
            target = target or TAIWAN_TARGET
            kinds = {c: "categorical" if c in TAIWAN_CATEGORICAL else "numeric" for c in TAIWAN_NAMES.values()}
    else:
        raise ValueError(f"format must be 'csv', 'german' or 'taiwan', got {fmt!r}")
    target = target or "Y"
    if target not in raw.columns:
        columns = [c for c in raw.columns if c[:2] != "__"]
        hint = next((f"; is the separator {sep!r}? (--sep)" for sep in (";", "\t", "|") if len(columns) == 1
                     and sep in columns[0]), "")  # fmt: skip
        raise ValueError(f"target column {target!r} not in {path} (columns: {columns}){hint}")
    dropped_cols = [
        c for c in raw.columns if c.lower() == "id" and c != target and raw.get_column(c).n_unique() == raw.height
    ]
    features = [c for c in raw.columns if c not in (target, "__line_number", *dropped_cols)]
    typed, numeric, categorical, errors = coerce_columns(raw, features, kinds)
    typed, reason = label_target(typed, target, positive)
    bad = reason.is_not_null()
    text = raw.select(clean_text(target)).to_series()
    invalid = text.filter(bad & text.is_not_null())
    dropped_target = {
        "missing": int((bad & text.is_null()).sum()),
        "invalid": invalid.len(),
        "invalid_examples": invalid.unique(maintain_order=True).head(5).to_list(),
        "expected": "1/0" if positive is None else f"{positive}/other",
    }
    if positive is not None and text.is_not_null().any() and typed.filter(~bad).get_column(target).sum() == 0:
        seen = text.drop_nulls().unique(maintain_order=True)
        shown = ", ".join(repr(v) for v in seen.head(10).to_list()) + (", ..." if seen.len() > 10 else "")
        raise ValueError(f"positive label {str(positive)!r} matches no value of {target!r} (values seen: {shown})")
    typed = typed.filter(~bad).select(*features, target)
    if fmt == "taiwan":
        typed = taiwan_features(typed)
        numeric = [*numeric, "UTIL1", "PAY_RATIO", "MAX_DELAY"]
    if typed.get_column(target).n_unique() < 2:
        held = "no row" if typed.height == 0 else f"the {typed.height} row(s) left hold a single class"
        note = _drop_note(target, dropped_target, raw.height)
        raise ValueError(f"target {target!r}: {held}{'; ' + note if note else ''}")
    return CreditTable(
        frame=typed,
        target=target,
        numeric=numeric,
        categorical=categorical,
        positive=str(positive if positive is not None else 1),
        dropped_rows=int(bad.sum()),
        type_errors=errors,
        dropped_columns=dropped_cols + [d.label for d in unusable],
        dropped_target=dropped_target,
    )


def _drop_note(target: str, dropped: dict[str, Any], rows: int) -> str:
    """E.g. ``1199 of 1200 rows were dropped: 1199 with a value of 'ID' that is not 1/0 (e.g. '2'), 0 with it
    missing; check --target and --positive`` ('' when no row was dropped)."""
    missing, invalid = dropped.get("missing", 0), dropped.get("invalid", 0)
    if not missing + invalid:
        return ""
    examples = ", ".join(repr(v) for v in dropped.get("invalid_examples", []))
    return (
        f"{missing + invalid} of {rows} rows were dropped: {invalid} with a value of {target!r} that is not "
        f"{dropped.get('expected', '1/0')}{f' (e.g. {examples})' if examples else ''}, {missing} with it missing;"
        " check --target and --positive"
    )


def taiwan_features(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``UTIL1``, ``PAY_RATIO`` and ``MAX_DELAY`` to a Taiwan table with codebook names."""
    pays = ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]
    bills = [f"BILL_AMT{i}" for i in range(1, 7)]
    amounts = [f"PAY_AMT{i}" for i in range(1, 7)]
    return frame.with_columns(
        (pl.col("BILL_AMT1") / pl.col("LIMIT_BAL")).alias("UTIL1"),
        (pl.sum_horizontal(amounts) / (pl.sum_horizontal(bills).abs() + 1)).alias("PAY_RATIO"),
        pl.max_horizontal(pays).alias("MAX_DELAY"),
    )


def taiwan_batches(
    frame: pl.DataFrame,
    kind: Literal["age_under_30", "top_limit_quartile", "random"] = "random",
    seed: int = 0,
    *,
    size: int = 2000,
) -> pl.DataFrame:
    """A batch of at most ``size`` rows of a Taiwan table (named ``AGE``/``LIMIT_BAL`` or raw ``X5``/``X1``).

    ``age_under_30``: customers younger than 30; ``top_limit_quartile``: ``LIMIT_BAL`` at or above its
    75th percentile (of ``frame``); ``random``: a uniform sample. Rows are sampled without replacement
    with ``seed``. Compare the batch with the training table using ``vigia.monitoring.dataset_drift``
    over the model's input features.
    """
    age = "AGE" if "AGE" in frame.columns else "X5"
    limit = "LIMIT_BAL" if "LIMIT_BAL" in frame.columns else "X1"
    if kind == "age_under_30":
        pool = frame.filter(pl.col(age) < 30)
    elif kind == "top_limit_quartile":
        q3 = float(np.quantile(frame.get_column(limit).cast(pl.Float64).drop_nulls().to_numpy(), 0.75))
        pool = frame.filter(pl.col(limit) >= q3)
    elif kind == "random":
        pool = frame
    else:
        raise ValueError(f"kind must be 'age_under_30', 'top_limit_quartile' or 'random', got {kind!r}")
    if pool.height == 0:
        raise ValueError(f"no row of the frame qualifies for a {kind!r} batch")
    return pool.sample(n=min(size, pool.height), seed=seed, shuffle=True)

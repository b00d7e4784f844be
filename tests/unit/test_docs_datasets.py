"""docs/datasets.md documents every field of the dataset models and every value of their enumerations.

Every field must head a row of a reference table (``| `field` | type | default | meaning |``): a top-level
field of ``DatasetConfig`` as `field`, a field of a sub-model as `section.field` (or `section[].field` for a
list such as ``detectors``), ``section`` being the path of the ``DatasetConfig`` field holding it. A field
added to the models without its row fails here, and so does a row naming a field the models lost.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from vigia.config import CalibrationConfig, DatasetConfig, DetectorConfig, SourceConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "datasets.md"
LITERALS = [
    (DatasetConfig, "kind"),
    (SourceConfig, "type"),
    (DetectorConfig, "type"),
    (CalibrationConfig, "strategy"),
]


def _models_in(annotation: object) -> Iterator[tuple[type[BaseModel], bool]]:
    """Pydantic models inside an annotation, with whether they sit in a list (``list[M]``, ``M | None``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, False
        return
    origin = typing.get_origin(annotation)
    in_list = origin in (list, tuple, set, frozenset)
    if origin is typing.Union or origin is types.UnionType or in_list:
        for arg in typing.get_args(annotation):
            for model, nested_list in _models_in(arg):
                yield model, in_list or nested_list


def _documented_names(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, tuple[str, ...]]]:
    """(qualified field, accepted spellings) of every field of ``model`` and of the models it uses."""
    for name, info in model.model_fields.items():
        qualified = f"{prefix}{name}"
        spellings = (qualified, qualified.replace("[].", ".")) if prefix else (qualified,)
        yield qualified, spellings
        for sub, in_list in _models_in(info.annotation):
            yield from _documented_names(sub, f"{qualified}{'[]' if in_list else ''}.")


def _code_spans() -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", DOC.read_text(encoding="utf-8")))


def _row_heads() -> list[str]:
    """The backticked first cell of every table row."""
    return re.findall(r"^\| `([^`\n]+)` \|", DOC.read_text(encoding="utf-8"), flags=re.M)


def _literal_values(model: type[BaseModel], field: str) -> tuple[str, ...]:
    annotation = model.model_fields[field].annotation
    assert typing.get_origin(annotation) is typing.Literal, f"{model.__name__}.{field} is no longer a Literal"
    return typing.get_args(annotation)


def test_doc_exists() -> None:
    assert DOC.is_file(), "docs/datasets.md is missing (the README's layout table promises it)"


def test_walk_covers_every_sub_model() -> None:
    names = {q for q, _ in _documented_names(DatasetConfig)}
    for expected in ("source.params", "partitions.end", "window.engine", "series.separator", "sweep.apply_best",
                     "split.test", "detectors[].params", "consensus.k", "calibration.iqr_k", "alerts.top_features",
                     "drift.threshold", "promotion.tolerance", "value_matrix", "seed"):  # fmt: skip
        assert expected in names


def test_every_field_has_a_reference_row() -> None:
    heads = set(_row_heads())
    missing = [q for q, spellings in _documented_names(DatasetConfig) if not heads.intersection(spellings)]
    assert not missing, f"fields of vigia.config models without a reference-table row in {DOC.name}: {missing}"


@pytest.mark.parametrize(("model", "field"), LITERALS, ids=[f"{m.__name__}.{f}" for m, f in LITERALS])
def test_every_literal_value_is_documented(model: type[BaseModel], field: str) -> None:
    spans = _code_spans()
    missing = [v for v in _literal_values(model, field) if v not in spans]
    assert not missing, f"{model.__name__}.{field} values not documented in {DOC.name}: {missing}"


def test_reference_tables_name_real_fields() -> None:
    """A reference-table row headed `section.field` must name a field the models have (renames, removals)."""
    fields = {q.replace("[]", "") for q, _ in _documented_names(DatasetConfig)}
    dotted = [h for h in _row_heads() if re.fullmatch(r"[a-z_]+(\[\])?\.[a-z_]+", h)]
    assert dotted, "no reference-table rows found"
    stale = sorted({h for h in dotted if h.replace("[]", "") not in fields})
    assert not stale, f"{DOC.name} documents fields the models do not have: {stale}"
